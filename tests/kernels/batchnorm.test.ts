import { describe, expect, it } from 'vitest';
import { BATCH_NORM_EPSILON, batchNormForwardEval, batchNormForwardTrain } from '../../src/kernels/batchnorm.js';
import { dropoutBackward, dropoutForward, dropoutSeed } from '../../src/kernels/dropout.js';
import { hiddenLayer, mlp } from '../../src/nn/layers.js';
import { Model } from '../../src/nn/model.js';
import { view } from '../../src/nn/params.js';
import { sgd } from '../../src/nn/optimizers.js';
import { fit } from '../../src/pipeline/train.js';
import { syntheticDataset } from '../helpers/synthetic.js';

describe('batch norm kernels', () => {
  it("normalize a hand-checked (2, 2) batch as BatchNorm1d does: biased variance, eps 1e-5", () => {
    const z = Float64Array.of(1, 2, 3, 6); // columns: [1, 3] (mean 2, var 1) and [2, 6] (mean 4, var 4)
    const gamma = Float64Array.of(2, 0.5);
    const beta = Float64Array.of(0.1, -1);
    const y = new Float64Array(4);
    const mean = new Float64Array(2);
    const variance = new Float64Array(2);
    batchNormForwardTrain(y, mean, variance, z, gamma, beta, 2, 2);
    expect(Array.from(mean)).toEqual([2, 4]);
    expect(Array.from(variance)).toEqual([1, 4]);
    const s0 = 1 / Math.sqrt(1 + 1e-5);
    const s1 = 1 / Math.sqrt(4 + 1e-5);
    const want = [2 * -1 * s0 + 0.1, 0.5 * -2 * s1 - 1, 2 * 1 * s0 + 0.1, 0.5 * 2 * s1 - 1];
    y.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
  });

  it('normalize with the running statistics at evaluation', () => {
    const y = new Float64Array(2);
    batchNormForwardEval(y, Float64Array.of(3, 3), Float64Array.of(2, 1), Float64Array.of(1, 0), Float64Array.of(1, 5), Float64Array.of(4, 1), 1, 2);
    expect(y[0]).toBeCloseTo(2 * (3 - 1) / Math.sqrt(4 + BATCH_NORM_EPSILON) + 1, 12);
    expect(y[1]).toBeCloseTo((3 - 5) / Math.sqrt(1 + BATCH_NORM_EPSILON), 12);
  });
});

describe('dropout', () => {
  it('zeroes about p of the outputs, scales the rest by 1/(1 − p), and backward applies the same mask', () => {
    const n = 20000;
    const a = new Float64Array(n).fill(1);
    const out = new Float64Array(n);
    const seed = dropoutSeed(42, 3, 1);
    dropoutForward(out, a, 0.3, seed, 0, 100, 200);
    const kept = out.filter((v) => v !== 0);
    expect(kept.length / n).toBeGreaterThan(0.68);
    expect(kept.length / n).toBeLessThan(0.72);
    expect(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-12)).toBe(true);
    const back = new Float64Array(n);
    dropoutBackward(back, a, 0.3, seed, 0, 100, 200);
    expect(Array.from(back)).toEqual(Array.from(out));
    // Rows 50… of the batch get the mask a second shard starting at row 50 gets.
    const part = new Float64Array(50 * 200);
    dropoutForward(part, a, 0.3, seed, 50, 50, 200);
    expect(Array.from(part)).toEqual(Array.from(out.subarray(50 * 200)));
    // Another step draws another mask.
    const other = new Float64Array(n);
    dropoutForward(other, a, 0.3, dropoutSeed(42, 4, 1), 0, 100, 200);
    expect(Array.from(other)).not.toEqual(Array.from(out));
  });
});

describe('batch norm in training', () => {
  const data = syntheticDataset({ rows: 96, features: 6, informative: 4, classes: 2, seed: 5 });
  const spec = mlp({ inputs: 6, layers: [hiddenLayer({ units: 5, activation: 'relu', batchNorm: true })] });

  /** z = x·Wᵀ + b of the first layer, at the model's parameters, over every row. */
  function preNorm(model: Model): Float64Array[] {
    const l = model.layout.layers[0]!;
    const w = view(model.params, l.weight);
    const b = view(model.params, l.bias!);
    return Array.from({ length: 5 }, (_, j) => Float64Array.from({ length: data.rows }, (_, r) => {
      let s = b[j]!;
      for (let p = 0; p < 6; p++) s += data.features[r * 6 + p]! * w[j * 6 + p]!;
      return s;
    }));
  }
  const meanVar = (v: Float64Array): [number, number] => {
    const mu = v.reduce((a, b) => a + b, 0) / v.length;
    return [mu, v.reduce((a, b) => a + (b - mu) ** 2, 0) / (v.length - 1)];
  };

  it('updates the running statistics once per step with momentum 0.1 and the unbiased variance', async () => {
    const model = Model.init(spec, 3);
    const z = preNorm(model);
    await fit(model, data, { epochs: 1, batchSize: 'full', microBatch: 96, optimizer: sgd({ learningRate: 1e-9 }), workers: 'inline' });
    const bn = model.layout.layers[0]!.bn!;
    const rm = view(model.params, bn.runningMean);
    const rv = view(model.params, bn.runningVar);
    z.forEach((col, j) => {
      const [mu, v] = meanVar(col);
      expect(rm[j]).toBeCloseTo(0.1 * mu, 5);
      expect(rv[j]).toBeCloseTo(0.9 + 0.1 * v, 5);
    });
  });

  it('with micro-shards, folds in the rows-weighted mean of their statistics (ghost batch norm), the same for 1 and 2 workers', async () => {
    const runs = await Promise.all([1, 2, 'inline' as const].map(async (workers) => {
      const model = Model.init(spec, 3);
      await fit(model, data, { epochs: 3, batchSize: 48, microBatch: 16, optimizer: sgd({ learningRate: 0.05 }), workers, seed: 9 });
      return model;
    }));
    const bytes = runs.map((m) => Buffer.from(m.params.buffer).toString('hex'));
    expect(bytes[1]).toBe(bytes[0]);
    expect(bytes[2]).toBe(bytes[0]);
    const model = Model.init(spec, 3);
    const z = preNorm(model);
    await fit(model, data, { epochs: 1, batchSize: 'full', microBatch: 32, optimizer: sgd({ learningRate: 1e-9 }), workers: 'inline' });
    const rm = view(model.params, model.layout.layers[0]!.bn!.runningMean);
    z.forEach((col, j) => expect(rm[j]).toBeCloseTo(0.1 * meanVar(col)[0], 5)); // the mean of equal shards' means is the mean
  });

  it('predicts with the running statistics, not the batch\'s', async () => {
    const model = Model.init(spec, 3);
    await fit(model, data, { epochs: 5, batchSize: 32, optimizer: sgd({ learningRate: 0.1 }), workers: 'inline' });
    const l = model.layout.layers[0]!;
    const z = preNorm(model);
    const p = (t: Parameters<typeof view>[1]): Float32Array => view(model.params, t);
    const out = model.layout.layers[1]!;
    const logits = model.predictLogits(data.features.subarray(0, 4 * 6), 4);
    for (let r = 0; r < 4; r++) {
      let s = p(out.bias!)[0]!;
      for (let j = 0; j < 5; j++) {
        const y = p(l.bn!.gamma)[j]! * (z[j]![r]! - p(l.bn!.runningMean)[j]!) / Math.sqrt(p(l.bn!.runningVar)[j]! + 1e-5) + p(l.bn!.beta)[j]!;
        s += Math.max(0, y) * p(out.weight)[j]!;
      }
      expect(logits[r]).toBeCloseTo(s, 4);
    }
  });
});
