import { describe, expect, it } from 'vitest';
import {
  binaryCrossentropyBackward, binaryCrossentropyForward,
  sparseCategoricalCrossentropyBackward, sparseCategoricalCrossentropyForward,
} from '../../src/kernels/loss.js';

const H = 1e-6;

describe('binary cross-entropy from logits', () => {
  const logits = Float64Array.from([-30, -4, -1e-3, 0, 1e-3, 0.7, 4, 30]);
  const labels = Float64Array.from([0, 1, 0, 1, 1, 0, 1, 0]);

  it('equals −y·log σ(z) − (1−y)·log(1−σ(z)) where that is computable', () => {
    for (let i = 1; i < 7; i++) {
      const z = logits[i]!, y = labels[i]!;
      const p = 1 / (1 + Math.exp(-z));
      const naive = -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
      expect(binaryCrossentropyForward(logits.subarray(i, i + 1), labels.subarray(i, i + 1), 1)).toBeCloseTo(naive, 10);
    }
  });

  it('stays finite for large logits (≈ |z| when wrong, ≈ 0 when right)', () => {
    expect(binaryCrossentropyForward(Float64Array.of(1000), Float64Array.of(0), 1)).toBeCloseTo(1000, 8);
    expect(binaryCrossentropyForward(Float64Array.of(1000), Float64Array.of(1), 1)).toBe(0);
    expect(binaryCrossentropyForward(Float64Array.of(-1000), Float64Array.of(1), 1)).toBeCloseTo(1000, 8);
  });

  it('has the derivative of finite differences, at and near 0, times the scale', () => {
    const d = new Float64Array(logits.length);
    binaryCrossentropyBackward(d, logits, labels, logits.length, 0.5);
    logits.forEach((z, i) => {
      const at = (v: number): number => binaryCrossentropyForward(Float64Array.of(v), labels.subarray(i, i + 1), 1);
      expect(d[i]).toBeCloseTo(0.5 * (at(z + H) - at(z - H)) / (2 * H), 7);
    });
  });
});

describe('sparse categorical cross-entropy from logits', () => {
  const k = 4;
  const logits = Float64Array.from([0.1, -2, 3, 0, 500, 0, -500, 1, 0, 0, 0, 0]);
  const labels = Float64Array.from([2, 1, 3]);

  it('equals −log softmax(z)_label and survives logits of ±500', () => {
    const sum = sparseCategoricalCrossentropyForward(logits, labels, 3, k);
    const row0 = [0.1, -2, 3, 0];
    const lse = Math.log(row0.reduce((s, v) => s + Math.exp(v), 0));
    const expected = (lse - 3) + 500 /* row 1: label 1 has logit 0, max 500 */ + Math.log(4);
    expect(sum).toBeCloseTo(expected, 8);
  });

  it('has the derivative of finite differences', () => {
    const d = new Float64Array(logits.length);
    sparseCategoricalCrossentropyBackward(d, logits, labels, 3, k, 1);
    for (let i = 0; i < logits.length; i++) {
      const up = logits.slice(); up[i] = up[i]! + H;
      const dn = logits.slice(); dn[i] = dn[i]! - H;
      const fd = (sparseCategoricalCrossentropyForward(up, labels, 3, k) - sparseCategoricalCrossentropyForward(dn, labels, 3, k)) / (2 * H);
      expect(d[i]).toBeCloseTo(fd, 6);
    }
  });
});
