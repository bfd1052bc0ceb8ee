import { Utf8, vectorFromArray, type RecordBatch } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { QuiverError } from '../../src/errors.js';
import { hiddenLayer, mlp } from '../../src/nn/layers.js';
import { Model } from '../../src/nn/model.js';
import { sgd } from '../../src/nn/optimizers.js';
import { Prng } from '../../src/nn/prng.js';
import { loadDataset } from '../../src/pipeline/dataset.js';
import { trainingRows } from '../../src/pipeline/open.js';
import type { TrainingRows } from '../../src/pipeline/rows.js';
import { sourceFromBatches, sourceFromTable } from '../../src/pipeline/source.js';
import { sourceRows } from '../../src/pipeline/streamRows.js';
import { fit } from '../../src/pipeline/train.js';
import { batches, removeDir, simpleColumns, table, tempDir, writeArrow, type Column } from '../helpers/arrow.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

/** Every row of one unshuffled epoch: features as "a,b" and the class index. */
async function readAll(rows: TrainingRows): Promise<{ features: string[]; labels: number[] }> {
  const n = rows.featureNames.length;
  const f = new Float32Array(7 * n);
  const l = new Float32Array(7);
  const out = { features: [] as string[], labels: [] as number[] };
  const reader = rows.epoch(0, new Prng(1), false);
  for (let m = await reader.fill(f, l, 7); m > 0; m = await reader.fill(f, l, 7)) {
    for (let r = 0; r < m; r++) {
      out.features.push(Array.from(f.subarray(r * n, (r + 1) * n)).join(','));
      out.labels.push(l[r]!);
    }
  }
  await reader.close();
  return out;
}

/** Streamed (cacheBytes 0) and in memory, from the same file. */
async function both(file: string, o: Parameters<typeof trainingRows>[1] = {}): Promise<TrainingRows[]> {
  return Promise.all([trainingRows(file, { ...o, cacheBytes: 0 }), trainingRows(file, o)]);
}

async function rejection(p: Promise<unknown>): Promise<QuiverError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(QuiverError);
  return e as QuiverError;
}

function withLabels(name: string, labels: string[]): string {
  const cols: Record<string, Column> = { f0: labels.map((_, i) => i), label: vectorFromArray(labels, new Utf8()) };
  // Two record batches, so the streamed path meets a label in the second one first.
  const half = labels.length >> 1;
  const part = (a: number, b: number): Record<string, Column> => ({
    f0: (cols.f0 as number[]).slice(a, b), label: vectorFromArray(labels.slice(a, b), new Utf8()),
  });
  return writeArrow(dir, name, batches(table(part(0, half)), table(part(half, labels.length))));
}

describe('string labels through trainingRows', () => {
  const trainFile = withLabels('train.arrow', ['dog', 'cat', 'dog', 'bird', 'cat', 'dog', 'fish', 'bird']);

  it('give the same classes in memory and streamed from disk, in order of first appearance or sorted', async () => {
    for (const rows of await both(trainFile)) {
      expect(rows.classLabels).toEqual(['dog', 'cat', 'bird', 'fish']);
      expect(rows.classes).toBe(4);
      expect((await readAll(rows)).labels).toEqual([0, 1, 0, 2, 1, 0, 3, 2]);
    }
    for (const rows of await both(trainFile, { labelOrder: 'sorted' })) {
      expect(rows.classLabels).toEqual(['bird', 'cat', 'dog', 'fish']);
      expect((await readAll(rows)).labels).toEqual([2, 1, 2, 0, 1, 2, 3, 0]);
    }
  });

  it('map a test set\'s labels as the training set did, whatever their order there', async () => {
    const [train] = await both(trainFile);
    const testFile = withLabels('test.arrow', ['fish', 'bird', 'cat', 'dog']);
    for (const test of await both(testFile, { like: train!, classes: train!.classes })) {
      expect(test.classLabels).toEqual(['dog', 'cat', 'bird', 'fish']);
      expect((await readAll(test)).labels).toEqual([3, 2, 1, 0]);
    }
  });

  it('refuse a test label the training set lacks with E_LABEL_RANGE naming the row', async () => {
    const [train] = await both(trainFile);
    const testFile = withLabels('test-cow.arrow', ['cat', 'dog', 'cow', 'dog']);
    for (const cacheBytes of [0, undefined]) {
      const e = await rejection(trainingRows(testFile, { like: train!, classes: train!.classes, ...(cacheBytes !== undefined && { cacheBytes }) }));
      expect(e.code).toBe('E_LABEL_RANGE');
      expect(e.message).toMatch(/test-cow\.arrow, column "label", row 2: label "cow" is not one of the classes "dog", "cat", "bird", "fish"/);
    }
  });
});

describe('dropInvalid through trainingRows', () => {
  const cols = simpleColumns(12, 2);
  (cols.f0 as (number | null)[])[3] = NaN;
  (cols.f1 as (number | null)[])[7] = null;
  (cols.f0 as (number | null)[])[10] = -Infinity;
  (cols.label as (number | null)[])[11] = null;
  const file = writeArrow(dir, 'invalid.arrow', batches(table(Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, (v as unknown[]).slice(0, 6) as Column]))),
    table(Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, (v as unknown[]).slice(6) as Column])))));

  it('leaves out and counts the rows with a null, NaN or infinite feature or a null label, in memory and streamed alike', async () => {
    const [streamed, held] = await both(file, { dropInvalid: true });
    const a = await readAll(streamed!);
    expect(a).toEqual(await readAll(held!));
    expect(a.features).toHaveLength(8);
    expect(a.features[0]).toBe('0.25,0.5');
    expect(a.features).not.toContain(expect.stringMatching(/NaN|Infinity/));
    for (const rows of [streamed!, held!]) {
      expect((rows as TrainingRows & { droppedRows: number }).droppedRows).toBe(4);
      expect(rows.rows).toBe(8);
    }
  });

  it('fails on the first of them without it, naming the row, streamed or not', async () => {
    for (const cacheBytes of [0, undefined]) {
      const e = await rejection(trainingRows(file, cacheBytes === undefined ? {} : { cacheBytes }));
      expect(e.code).toBe('E_NOT_FINITE');
      expect(e.message).toMatch(/invalid\.arrow, column "f0", row 3: feature value NaN/);
    }
  });

  it('says so when every row is invalid (E_NO_ROWS)', async () => {
    const all = writeArrow(dir, 'all-invalid.arrow', { f0: [NaN, 1], f1: [1, null], label: [0, 1] });
    for (const cacheBytes of [0, undefined]) {
      const e = await rejection(trainingRows(all, { dropInvalid: true, ...(cacheBytes !== undefined && { cacheBytes }) }));
      expect(e.code).toBe('E_NO_ROWS');
      expect(e.message).toMatch(/all-invalid\.arrow: has no rows left: all 2 have an invalid value/);
    }
  });
});

describe('sourceRows: a Table or an AsyncIterable streamed into training', () => {
  const t = batches(table(simpleColumns(40, 3, (r) => (r % 3 === 0 ? 1 : 0))), table(simpleColumns(25, 3, (r) => (r % 4 === 0 ? 1 : 0))));
  const spec = mlp({ inputs: 3, layers: [hiddenLayer({ units: 4 })] });

  it('trains to the weights of the same rows in memory, from a Table and from a fresh AsyncIterable per pass', async () => {
    async function* read(): AsyncGenerator<RecordBatch> { yield* t.batches; }
    const options = { epochs: 3, optimizer: sgd({ learningRate: 0.05 }), workers: 'inline' as const };
    const ref = Model.init(spec, 2);
    await fit(ref, await loadDataset(sourceFromTable(t)), options);
    for (const rows of [await sourceRows(() => sourceFromTable(t)), await sourceRows(() => sourceFromBatches(read(), 'gen'))]) {
      expect(rows.rows).toBe(65);
      const m = Model.init(spec, 2);
      await fit(m, rows, options);
      expect(m.params).toEqual(ref.params);
    }
  });

  it('refuses a one-pass source, which cannot be scanned and then read again (E_ONE_PASS)', async () => {
    const once = await sourceFromBatches(t.batches, 'pipe');
    const rows = await sourceRows(() => once);
    const e = await rejection(fit(Model.init(spec, 1), rows, { epochs: 1, workers: 'inline' }));
    expect(e.code).toBe('E_ONE_PASS');
    expect(e.message).toMatch(/pipe: can be read only once/);
  });
});
