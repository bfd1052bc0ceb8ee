import { Bool, Dictionary, Int32, Utf8, vectorFromArray, type RecordBatch } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { QuiverError } from '../../src/errors.js';
import { evaluateSource, Metrics, rocAuc } from '../../src/io/metrics.js';
import { hiddenLayer, mlp } from '../../src/nn/layers.js';
import { Model, type ModelInfo } from '../../src/nn/model.js';
import { Prng } from '../../src/nn/prng.js';
import { table, type Column } from '../helpers/arrow.js';

const f32 = (...v: number[]): Float32Array => Float32Array.from(v);
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** P(a random positive outscores a random negative), ties one half, over all n₁·n₀ pairs. */
function bruteAuc(positives: ArrayLike<number>, negatives: ArrayLike<number>): number {
  let wins = 0;
  for (let i = 0; i < positives.length; i++) {
    for (let j = 0; j < negatives.length; j++) {
      if (positives[i]! > negatives[j]!) wins += 1;
      else if (positives[i] === negatives[j]) wins += 0.5;
    }
  }
  return wins / (positives.length * negatives.length);
}

describe('Metrics on hand-computed cases', () => {
  it('two classes: confusion [[3,1],[0,2]], accuracy 5/6, precision (1, 2/3), recall (3/4, 1), macro averages, loss', () => {
    const z = [2, -1, 0.5, -3, 1, 0];
    const y = [1, 0, 0, 0, 1, 0];
    const m = new Metrics(2);
    m.add(f32(...z), f32(...y), 6);
    const r = m.result();
    expect(r.confusion).toEqual([[3, 1], [0, 2]]);
    expect(r.rows).toBe(6);
    expect(r.accuracy).toBe(5 / 6);
    expect(r.perClass.precision).toEqual([1, 2 / 3]);
    expect(r.perClass.recall).toEqual([3 / 4, 1]);
    expect(r.perClass.f1[0]).toBeCloseTo(6 / 7, 15);
    expect(r.perClass.f1[1]).toBeCloseTo(4 / 5, 15);
    expect(r.perClass.support).toEqual([4, 2]);
    expect(r.precision).toBeCloseTo(5 / 6, 15);
    expect(r.recall).toBeCloseTo(7 / 8, 15);
    expect(r.f1).toBeCloseTo(29 / 35, 15);
    const loss = z.reduce((s, v, i) => s - (y[i] === 1 ? Math.log(sigmoid(v)) : Math.log(1 - sigmoid(v))), 0) / 6;
    expect(r.loss).toBeCloseTo(loss, 12);
    expect(r.auc).toBe(1); // every positive (2, 1) above every negative (0.5, 0, -1, -3)
  });

  it('three classes: argmax with ties to the first, confusion rows true / columns predicted, 0 for 0/0, no auc', () => {
    const z = [[2, 0, 0], [0, 1, 0], [0, 0, 3], [1, 1, 0], [0, 2, 1]];
    const y = [0, 1, 1, 2, 2];
    const m = new Metrics(3);
    m.add(f32(...z.flat()), f32(...y), 5);
    const r = m.result();
    expect(r.confusion).toEqual([[1, 0, 0], [0, 1, 1], [1, 1, 0]]);
    expect(r.accuracy).toBe(2 / 5);
    expect(r.perClass.precision).toEqual([1 / 2, 1 / 2, 0]);
    expect(r.perClass.recall).toEqual([1, 1 / 2, 0]);
    expect(r.perClass.f1[0]).toBeCloseTo(2 / 3, 15);
    expect(r.perClass.f1.slice(1)).toEqual([1 / 2, 0]);
    expect(r.precision).toBeCloseTo(1 / 3, 15);
    expect(r.recall).toBeCloseTo(1 / 2, 15);
    expect(r.f1).toBeCloseTo(7 / 18, 15);
    const loss = z.reduce((s, row, i) => s + Math.log(row.reduce((a, v) => a + Math.exp(v), 0)) - row[y[i]!]!, 0) / 5;
    expect(r.loss).toBeCloseTo(loss, 12);
    expect(r).not.toHaveProperty('auc');
  });

  it('gives precision, recall and F1 of 0 to a class neither present nor predicted', () => {
    const m = new Metrics(3);
    m.add(f32(5, 0, 0, 0, 5, 0), f32(0, 1), 2);
    const r = m.result();
    expect(r.perClass.precision).toEqual([1, 1, 0]);
    expect(r.perClass.recall).toEqual([1, 1, 0]);
    expect(r.perClass.f1).toEqual([1, 1, 0]);
    expect(r.f1).toBeCloseTo(2 / 3, 15);
  });

  it('accumulates batch by batch to the same figures as all rows at once', () => {
    const rng = new Prng(3);
    const z = Float32Array.from({ length: 300 }, () => rng.uniform(-3, 3));
    const y = Float32Array.from({ length: 100 }, () => rng.int(3));
    const whole = new Metrics(3);
    whole.add(z, y, 100);
    const parts = new Metrics(3);
    for (const [a, b] of [[0, 13], [13, 64], [64, 100]] as const) parts.add(z.subarray(a * 3, b * 3), y.subarray(a, b), b - a);
    const [w, p] = [whole.result(), parts.result()];
    expect(p.confusion).toEqual(w.confusion);
    expect(p.accuracy).toBe(w.accuracy);
    expect(p.f1).toBe(w.f1);
    expect(p.loss).toBeCloseTo(w.loss, 12);
  });

  it('reads a two-way softmax (two logits) as two classes, ranking by z1 - z0', () => {
    const m = new Metrics(2, 2);
    m.add(f32(0, 1, 1, 0, 0, 3, 2, 0), f32(1, 0, 1, 1), 4);
    const r = m.result();
    expect(r.confusion).toEqual([[1, 0], [1, 2]]);
    expect(r.auc).toBe(bruteAuc([1, 3, -2], [-1]));
  });
});

describe('rocAuc', () => {
  it('counts ties as one half: positives (0.5, 0.2, 0.2) against negatives (0.2, 0.1) give 5/6', () => {
    expect(rocAuc(f32(0.5, 0.2, 0.2), f32(0.2, 0.1))).toBe(5 / 6);
  });

  it('is 1 for a perfect ranking, 0 for a reversed one, 1/2 when all scores tie, NaN with one side empty', () => {
    expect(rocAuc(f32(3, 4), f32(1, 2))).toBe(1);
    expect(rocAuc(f32(1, 2), f32(3, 4))).toBe(0);
    expect(rocAuc(f32(1, 1, 1), f32(1, 1))).toBe(0.5);
    expect(rocAuc(f32(), f32(1))).toBeNaN();
  });

  it('equals the brute-force pairwise count on random scores with many ties', () => {
    const rng = new Prng(11);
    for (const [n1, n0, levels] of [[1, 1, 3], [37, 53, 5], [200, 150, 20], [500, 700, 1000]] as const) {
      const draw = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.round(rng.uniform(0, levels)) / levels);
      const pos = draw(n1);
      const neg = draw(n0);
      const brute = bruteAuc(pos, neg);
      const auc = rocAuc(pos.slice(), neg.slice());
      console.log(`rocAuc n1=${n1} n0=${n0}: ${auc} vs brute force ${brute}, |diff| ${Math.abs(auc - brute)}`);
      expect(auc).toBe(brute);
    }
  });

  it('is what Metrics reports for two classes, and null when the labels hold one class only', () => {
    const rng = new Prng(5);
    const z = Float32Array.from({ length: 400 }, () => Math.round(rng.uniform(-4, 4) * 4) / 4);
    const y = Float32Array.from({ length: 400 }, () => rng.int(2));
    const m = new Metrics(2);
    m.add(z, y, 400);
    expect(m.result().auc).toBe(bruteAuc(z.filter((_, i) => y[i] === 1), z.filter((_, i) => y[i] === 0)));
    const one = new Metrics(2);
    one.add(f32(1, 2), f32(1, 1), 2);
    expect(one.result().auc).toBeNull();
  });
});

describe('evaluateSource', () => {
  function model(classes: number, info: ModelInfo = {}): Model {
    return Model.init(mlp({ inputs: 2, classes, layers: [hiddenLayer({ units: 3, activation: 'relu' })] }), 1,
      { features: ['f0', 'f1'], label: 'label', ...info });
  }
  const f0 = [0.5, -1, 2, 0.25, -0.75, 1.5];
  const f1 = [1, 0.5, -2, 0, 1.25, -0.5];
  const x = Float32Array.from(f0.flatMap((v, i) => [v, f1[i]!]));

  async function* batchesOf(...columns: Record<string, Column>[]): AsyncGenerator<RecordBatch> {
    for (const c of columns) yield* table(c).batches;
  }
  /** The rows in two record batches, 4 then 2. */
  function split(label: Column): Record<string, Column>[] {
    const cut = (c: Column, a: number, b: number): Column => (Array.isArray(c) ? c.slice(a, b) : (c as { slice(a: number, b: number): Column }).slice(a, b));
    return [{ f0: f0.slice(0, 4), f1: f1.slice(0, 4), label: cut(label, 0, 4) }, { f0: f0.slice(4), f1: f1.slice(4), label: cut(label, 4, 6) }];
  }

  async function failure(p: Promise<unknown>): Promise<QuiverError> {
    const e = await p.then(() => undefined, (e: unknown) => e);
    expect(e).toBeInstanceOf(QuiverError);
    return e as QuiverError;
  }

  it('gives Model.evaluate\'s loss and accuracy over the batches', async () => {
    const m = model(2, { classLabels: [0, 1] });
    const y = [1, 0, 0, 1, 1, 0];
    const r = await evaluateSource(m, { file: 'mem', batches: batchesOf(...split(y)) });
    const want = m.evaluate(x, Float32Array.from(y), 6);
    expect(r.rows).toBe(6);
    expect(r.accuracy).toBe(want.accuracy);
    expect(r.loss).toBeCloseTo(want.loss, 6);
    expect(r.confusion.flat().reduce((a, b) => a + b)).toBe(6);
  });

  it('matches labels to the model\'s classes by value: strings, dictionary strings, bools for 0/1', async () => {
    const m = model(3, { classLabels: ['cat', 'dog', 'eel'] });
    const names = ['dog', 'cat', 'eel', 'eel', 'dog', 'cat'];
    const want = m.evaluate(x, Float32Array.from(names, (n) => ['cat', 'dog', 'eel'].indexOf(n)), 6);
    const plain = await evaluateSource(m, { batches: batchesOf(...split(vectorFromArray(names, new Utf8()))) });
    expect(plain.accuracy).toBe(want.accuracy);
    expect(plain.perClass.support).toEqual([2, 2, 2]);
    const dict = await evaluateSource(m, { batches: batchesOf(...split(vectorFromArray(names, new Dictionary(new Utf8(), new Int32())))) });
    expect(dict.confusion).toEqual(plain.confusion);
    const bools = [true, false, false, true, true, false];
    const b = await evaluateSource(model(2, { classLabels: [0, 1] }), { batches: batchesOf(...split(vectorFromArray(bools, new Bool()))) });
    expect(b.perClass.support).toEqual([3, 3]);
  });

  it('refuses a label outside the model\'s classes with E_LABEL_RANGE naming file, column and row', async () => {
    const e = await failure(evaluateSource(model(2, { classLabels: [0, 1] }), { file: 'test.arrow', batches: batchesOf(...split([0, 1, 0, 1, 2, 0])) }));
    expect(e.code).toBe('E_LABEL_RANGE');
    expect(e.message).toMatch(/^file test\.arrow, column "label", row 4: label 2 is not one of the model's classes 0, 1$/);
  });

  it('refuses a null label, a missing label column and a source with no rows', async () => {
    const m = model(2);
    const nul = await failure(evaluateSource(m, { file: 'n.arrow', batches: batchesOf(...split([0, 1, 0, 1, null, 0])) }));
    expect(nul.code).toBe('E_NULL_LABEL');
    expect(nul.message).toMatch(/row 4: null label/);
    const none = await failure(evaluateSource(m, { file: 'n.arrow', batches: batchesOf({ f0, f1 }) }));
    expect(none.code).toBe('E_NO_LABEL');
    const other = await failure(evaluateSource(m, { file: 'n.arrow', batches: batchesOf(...split([0, 1, 0, 1, 1, 0])) }, { label: 'y' }));
    expect(other.message).toMatch(/no label column "y"/);
    const empty = await failure(evaluateSource(m, { file: 'e.arrow', batches: batchesOf({ f0: [], f1: [], label: [] }) }));
    expect(empty.code).toBe('E_NO_ROWS');
  });
});
