import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeClassificationArrow } from '../../src/io/generate.js';
import { hiddenLayer, mlp } from '../../src/nn/layers.js';
import { Model } from '../../src/nn/model.js';
import { sgd } from '../../src/nn/optimizers.js';
import { Prng } from '../../src/nn/prng.js';
import { loadDataset } from '../../src/pipeline/dataset.js';
import { trainingRows } from '../../src/pipeline/open.js';
import type { TrainingRows } from '../../src/pipeline/rows.js';
import { ShuffleBuffer } from '../../src/pipeline/shuffle.js';
import { fit } from '../../src/pipeline/train.js';
import { DATA, seedModel } from '../helpers/seed.js';

const dir = mkdtempSync(join(tmpdir(), 'quiver-stream-'));
const file = join(dir, 'gen.arrow');
const ROWS = 5000;
const FEATURES = 6;

/** Reads one whole epoch of `rows` (feature rows as strings, to compare as multisets). */
async function readEpoch(rows: TrainingRows, epoch: number, rng: Prng, shuffle: boolean, chunk = 333): Promise<string[]> {
  const n = rows.featureNames.length;
  const f = new Float32Array(chunk * n);
  const l = new Float32Array(chunk);
  const out: string[] = [];
  const reader = rows.epoch(epoch, rng, shuffle);
  for (let m = await reader.fill(f, l, chunk); m > 0; m = await reader.fill(f, l, chunk)) {
    for (let r = 0; r < m; r++) out.push(`${Array.from(f.subarray(r * n, (r + 1) * n)).join(',')}|${l[r]}`);
  }
  await reader.close();
  return out;
}

beforeAll(async () => {
  await writeClassificationArrow(file, { rows: ROWS, features: FEATURES, informative: 4, classes: 2, seed: 9, batchRows: 700 });
});

describe('streaming rows from an Arrow file', () => {
  it('gives every row exactly once per epoch, shuffled differently each epoch, in file order unshuffled', async () => {
    const streamed = await trainingRows(file, { cacheBytes: 0, shuffleBuffer: 1000 });
    const memory = await trainingRows(file);
    expect(streamed.rows).toBe(ROWS);
    const inOrder = await readEpoch(streamed, 0, new Prng(1), false);
    expect(inOrder).toEqual(await readEpoch(memory, 0, new Prng(1), false));
    const rng = new Prng(2);
    const e0 = await readEpoch(streamed, 0, rng, true);
    const e1 = await readEpoch(streamed, 1, rng, true);
    expect([...e0].sort()).toEqual([...inOrder].sort());
    expect([...e1].sort()).toEqual([...inOrder].sort());
    expect(e0).not.toEqual(inOrder);
    expect(e1).not.toEqual(e0);
    // the same seed gives the same order
    expect(await readEpoch(streamed, 0, new Prng(2), true)).toEqual(e0);
  });

  it("mixes rows across record batches: a row's position moves far from its place in the file", async () => {
    const streamed = await trainingRows(file, { cacheBytes: 0, shuffleBuffer: 2000 });
    const inOrder = await readEpoch(streamed, 0, new Prng(1), false);
    const at = new Map(inOrder.map((r, i) => [r, i]));
    const shuffled = await readEpoch(streamed, 0, new Prng(3), true);
    const moved = shuffled.filter((r, i) => Math.abs(at.get(r)! - i) > 700).length;
    expect(moved / ROWS).toBeGreaterThan(0.5);
  });

  it('full-batch training streamed from disk gives the weights training in memory gives, bit for bit', async () => {
    const spec = mlp({ inputs: FEATURES, layers: [hiddenLayer({ units: 8 })] });
    const a = Model.init(spec, 1);
    const b = Model.init(spec, 1);
    await fit(a, await trainingRows(file, { cacheBytes: 0 }), { epochs: 3, optimizer: sgd({ learningRate: 0.1 }) });
    await fit(b, await loadDataset(file), { epochs: 3, optimizer: sgd({ learningRate: 0.1 }) });
    expect(Buffer.from(a.params.buffer).equals(Buffer.from(b.params.buffer))).toBe(true);
  });

  it('mini-batch training from a stream is reproducible, the same for 1 and 2 workers, and learns', async () => {
    const spec = mlp({ inputs: FEATURES, layers: [hiddenLayer({ units: 16 })] });
    const runs = [];
    for (const workers of ['inline', 1, 2] as const) {
      const m = Model.init(spec, 4);
      const h = await fit(m, await trainingRows(file, { cacheBytes: 0, shuffleBuffer: 500 }),
        { epochs: 3, batchSize: 128, workers, optimizer: sgd({ learningRate: 0.1, momentum: 0.9 }) });
      runs.push({ params: Buffer.from(m.params.buffer), h });
    }
    expect(runs[1]!.params.equals(runs[0]!.params)).toBe(true);
    expect(runs[2]!.params.equals(runs[0]!.params)).toBe(true);
    expect(runs[0]!.h.end.trainAccuracy).toBeGreaterThan(0.8);
    expect(runs[0]!.h.epochs[2]!.loss).toBeLessThan(runs[0]!.h.epochs[0]!.loss);
  });
});

describe('the shuffle buffer', () => {
  it('gives out a permutation of what went in, holding at most its capacity', () => {
    const n = 2;
    const rows = 50;
    const f = Float32Array.from({ length: rows * n }, (_, i) => i);
    const l = Float32Array.from({ length: rows }, (_, i) => i);
    const b = new ShuffleBuffer(8, n, new Prng(5));
    const out: number[] = [];
    const of = new Float32Array(n);
    const ol = new Float32Array(1);
    let next = 0;
    while (next < rows || b.count > 0) {
      while (!b.full && next < rows) b.push(f, l, next++);
      expect(b.count).toBeLessThanOrEqual(8);
      b.pop(of, ol, 0);
      expect(of[0]).toBe(ol[0]! * n); // features and label travel together
      out.push(ol[0]!);
    }
    expect([...out].sort((a, c) => a - c)).toEqual(Array.from({ length: rows }, (_, i) => i));
    expect(out).not.toEqual(Array.from({ length: rows }, (_, i) => i));
  });
});

describe('standardization and validation split', () => {
  it('standardizes with the training rows\' mean and std, in memory and streamed alike, and the model applies it', async () => {
    const data = await loadDataset(file);
    for (const cacheBytes of [0, undefined]) {
      const rows = await trainingRows(file, { standardize: true, ...(cacheBytes !== undefined && { cacheBytes }) });
      const s = rows.standardize!;
      for (let j = 0; j < FEATURES; j++) {
        let mean = 0;
        for (let r = 0; r < data.rows; r++) mean += data.features[r * FEATURES + j]!;
        mean /= data.rows;
        let v = 0;
        for (let r = 0; r < data.rows; r++) v += (data.features[r * FEATURES + j]! - mean) ** 2;
        expect(s.mean[j]).toBeCloseTo(mean, 9);
        expect(s.std[j]).toBeCloseTo(Math.sqrt(v / data.rows), 9);
      }
      const epoch = await readEpoch(rows, 0, new Prng(1), false);
      const first = epoch[0]!.split('|')[0]!.split(',').map(Number);
      first.forEach((x, j) => expect(x).toBeCloseTo(Math.fround((data.features[j]! - s.mean[j]!) / s.std[j]!), 5));
    }
    // Trained on standardized rows, the model standardizes raw inputs itself.
    const rows = await trainingRows(file, { standardize: true });
    const model = Model.init(mlp({ inputs: FEATURES, layers: [hiddenLayer({ units: 8 })] }), 2);
    const h = await fit(model, rows, { epochs: 20, batchSize: 256, optimizer: sgd({ learningRate: 0.1 }) });
    expect(model.info.standardize).toEqual(rows.standardize);
    expect(model.evaluate(data.features, data.labels, data.rows).accuracy).toBeCloseTo(h.end.trainAccuracy, 10);
  });

  it('holds out the same rows in memory and streamed, never trains on them, and reports them', async () => {
    const holdout = { fraction: 0.2, seed: 3 };
    const mem = await trainingRows(file, { holdout });
    const str = await trainingRows(file, { holdout, cacheBytes: 0 });
    const trainRows = await readEpoch(mem, 0, new Prng(1), false);
    const heldRows = await readEpoch(mem.holdout!, 0, new Prng(1), false);
    expect(await readEpoch(str, 0, new Prng(1), false)).toEqual(trainRows);
    expect(await readEpoch(str.holdout!, 0, new Prng(1), false)).toEqual(heldRows);
    expect(trainRows.length + heldRows.length).toBe(ROWS);
    expect(heldRows.length / ROWS).toBeGreaterThan(0.17);
    expect(heldRows.length / ROWS).toBeLessThan(0.23);
    const train = new Set(trainRows);
    expect(heldRows.some((r) => train.has(r))).toBe(false);
    const model = Model.init(mlp({ inputs: FEATURES, layers: [hiddenLayer({ units: 8 })] }), 2);
    const h = await fit(model, str, { epochs: 2, batchSize: 256 });
    expect(h.end.validationAccuracy).toBeGreaterThan(0);
    expect(h.end.validationLoss).toBeGreaterThan(0);
  });
});

describe('the seed data', () => {
  it('trains the same from a stream as from memory with a full batch (the reference numbers)', async () => {
    const model = await seedModel('relu');
    const h = await fit(model, await trainingRows(join(DATA, 'seed-train.arrow'), { cacheBytes: 0 }), { epochs: 100 });
    expect(h.epochs[0]!.loss).toBeCloseTo(0.708440542, 5);
    expect(h.end.loss).toBeCloseTo(0.4191724359989166, 5);
    expect(readFileSync(join(DATA, 'seed-train.arrow')).length).toBeGreaterThan(0);
  });
});
