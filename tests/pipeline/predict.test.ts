import { Bool, Float64, Int32, Utf8, util, type RecordBatch, type Table } from 'apache-arrow';
import { lastValueFrom, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { QuiverError } from '../../src/errors.js';
import { hiddenLayer, mlp } from '../../src/nn/layers.js';
import { Model, type ModelInfo } from '../../src/nn/model.js';
import { predictBatches, predictSource } from '../../src/pipeline/predict.js';
import { table } from '../helpers/arrow.js';

/** A 2 → 4 → outputs network with fixed weights, reading features f0, f1. */
function model(classes: number, info: ModelInfo = {}): Model {
  return Model.init(mlp({ inputs: 2, classes, layers: [hiddenLayer({ units: 4, activation: 'tanh' })] }), 7,
    { features: ['f0', 'f1'], label: 'label', ...info });
}

/** Rows `from`…`from + rows - 1` of columns f0, f1 (some rows on either side of the boundary) and label. */
function data(from: number, rows: number, order: 'f0f1' | 'f1f0' = 'f0f1'): Table {
  const r = Array.from({ length: rows }, (_, i) => from + i);
  const f0 = r.map((i) => Math.sin(i) * 2);
  const f1 = r.map((i) => Math.cos(i * 0.7) - 0.3);
  const label = r.map((i) => i % 2);
  return order === 'f0f1' ? table({ f0, f1, label }) : table({ f1, label, f0 });
}

function batch(from: number, rows: number, order?: 'f0f1' | 'f1f0'): RecordBatch {
  return data(from, rows, order).batches[0]!;
}

/** Row-major (rows, 2) features of the batches, in order. */
function features(...batches: RecordBatch[]): Float32Array {
  const out: number[] = [];
  for (const b of batches) for (let r = 0; r < b.numRows; r++) out.push(b.getChild('f0')!.get(r) as number, b.getChild('f1')!.get(r) as number);
  return Float32Array.from(out);
}

async function run(m: Model, batches: RecordBatch[], options?: Parameters<typeof predictBatches>[1]): Promise<RecordBatch[]> {
  return lastValueFrom(of(...batches).pipe(predictBatches(m, options), toArray()));
}

function column(batches: RecordBatch[], name: string): unknown[] {
  return batches.flatMap((b) => [...b.getChild(name)!]);
}

async function failure(p: Promise<unknown>): Promise<QuiverError> {
  const e = await p.then(() => undefined, (e: unknown) => e);
  expect(e).toBeInstanceOf(QuiverError);
  return e as QuiverError;
}

describe('predictBatches over of(batch1, batch2)', () => {
  const b1 = batch(0, 5);
  const b2 = batch(5, 7);

  it('emits one batch per input batch: the input columns, then prediction and probability', async () => {
    const m = model(2, { classLabels: [0, 1] });
    const out = await run(m, [b1, b2]);
    expect(out.map((b) => b.numRows)).toEqual([5, 7]);
    expect(out[0]!.schema.fields.map((f) => f.name)).toEqual(['f0', 'f1', 'label', 'prediction', 'probability']);
    expect(out[0]!.schema.fields.map((f) => String(f.type))).toEqual(['Float32', 'Float32', 'Int32', 'Int32', 'Float32']);
    // Every batch has the same schema, as an Arrow writer needs.
    expect(util.compareSchemas(out[1]!.schema, out[0]!.schema)).toBe(true);
    for (const name of ['f0', 'f1', 'label']) expect(column(out, name)).toEqual([...column([b1, b2], name)]);
    const x = features(b1, b2);
    expect(column(out, 'probability')).toEqual([...m.predictProba(x, 12)]);
    expect(column(out, 'prediction')).toEqual([...m.predictClasses(x, 12)]);
  });

  it('finds the features by name wherever they sit in the batch', async () => {
    const m = model(2);
    const a = await run(m, [b1, b2]);
    const b = await run(m, [batch(0, 5, 'f1f0'), batch(5, 7, 'f1f0')]);
    expect(column(b, 'probability')).toEqual(column(a, 'probability'));
    expect(b[0]!.schema.fields.map((f) => f.name)).toEqual(['f1', 'label', 'f0', 'prediction', 'probability']);
  });

  it('keeps only the columns named in keep, in that order', async () => {
    const out = await run(model(2), [b1, b2], { keep: ['label', 'f0'] });
    expect(out[0]!.schema.fields.map((f) => f.name)).toEqual(['label', 'f0', 'prediction', 'probability']);
    expect(column(out, 'f0')).toEqual(column([b1, b2], 'f0'));
  });

  it('gives K >= 3 classes one probability column per class, summing to 1, and predicts the argmax', async () => {
    const m = model(3, { classLabels: ['cat', 'dog', 'eel'] });
    const out = await run(m, [b1, b2], { keep: [] });
    expect(out[0]!.schema.fields.map((f) => `${f.name}:${String(f.type)}`))
      .toEqual(['prediction:Utf8', 'probability_cat:Float32', 'probability_dog:Float32', 'probability_eel:Float32']);
    const p = m.predictProba(features(b1, b2), 12);
    const classes = m.predictClasses(features(b1, b2), 12);
    const names = ['cat', 'dog', 'eel'];
    names.forEach((n, j) => expect(column(out, `probability_${n}`)).toEqual(Array.from({ length: 12 }, (_, r) => p[r * 3 + j])));
    for (let r = 0; r < 12; r++) expect(p[r * 3]! + p[r * 3 + 1]! + p[r * 3 + 2]!).toBeCloseTo(1, 6);
    expect(column(out, 'prediction')).toEqual(Array.from(classes, (c) => names[c]));
  });

  it('writes the original label values: Int32 for whole numbers, Float64, Bool, or the class index', async () => {
    const cases: [ModelInfo['classLabels'], string, unknown[]][] = [
      [[3, 7], String(new Int32()), [3, 7]],
      [[0.5, 1.5], String(new Float64()), [0.5, 1.5]],
      [[false, true], String(new Bool()), [false, true]],
      [['no', 'yes'], String(new Utf8()), ['no', 'yes']],
      [undefined, String(new Int32()), [0, 1]],
    ];
    const classes = [...model(2).predictClasses(features(b1, b2), 12)];
    for (const [labels, type, values] of cases) {
      const out = await run(model(2, labels === undefined ? {} : { classLabels: labels }), [b1, b2]);
      expect(String(out[0]!.schema.fields.find((f) => f.name === 'prediction')!.type)).toBe(type);
      expect(column(out, 'prediction')).toEqual(classes.map((c) => values[c]));
    }
  });

  it('standardizes with the model\'s saved mean and std, once', async () => {
    const standardize = { mean: [0.25, -0.5], std: [2, 0.5] };
    const plain = model(2);
    const scaled = new Model(plain.spec, plain.params, { ...plain.info, standardize });
    const x = features(b1, b2);
    const z = x.map((v, i) => (v - standardize.mean[i % 2]!) / standardize.std[i % 2]!);
    const out = await run(scaled, [b1, b2]);
    expect(column(out, 'probability')).toEqual([...plain.predictProba(z, 12)]);
  });

  it('names the row counted over all batches for a NaN in the second batch, each subscription afresh', async () => {
    const bad = table({ f0: [1, 2, 3], f1: [0, NaN, 1], label: [0, 1, 0] }).batches[0]!;
    const op = predictBatches(model(2), { file: 'mem.arrow' });
    for (let i = 0; i < 2; i++) {
      const e = await failure(lastValueFrom(of(b1, bad).pipe(op)));
      expect(e.code).toBe('E_NOT_FINITE');
      expect(e.message).toMatch(/file mem\.arrow, column "f1", row 6: feature value NaN/);
    }
  });

  it('refuses a batch without a feature column with E_NO_COLUMN naming the file', async () => {
    const e = await failure(run(model(2), [table({ f0: [1], label: [0] }).batches[0]!], { file: 'x.arrow' }));
    expect(e.code).toBe('E_NO_COLUMN');
    expect(e.message).toMatch(/file x\.arrow: no feature column "f1"/);
  });

  it('refuses a kept column that is missing or would clash with the predictions', async () => {
    const missing = await failure(run(model(2), [b1], { keep: ['f9'] }));
    expect(missing.code).toBe('E_NO_COLUMN');
    expect(missing.message).toMatch(/no column "f9" to keep/);
    const clash = table({ f0: [1], f1: [2], prediction: [1] }).batches[0]!;
    const e = await failure(run(model(2), [clash]));
    expect(e.code).toBe('E_CONFIG');
    expect(e.message).toMatch(/column "prediction": the input already has a column of that name/);
  });

  it('refuses a model whose class labels do not fit its outputs when the operator is made', () => {
    expect(() => predictBatches(model(3, { classLabels: [0, 1] }))).toThrow(/classLabels has 2 labels, the network has 3 classes/);
    expect(() => predictBatches(model(2, { features: ['f0'] }))).toThrow(/1 feature names for 2 inputs/);
  });
});

describe('predictSource', () => {
  it('pulls batches one by one, waiting for onBatch, and counts rows and batches', async () => {
    const m = model(2);
    const log: string[] = [];
    async function* batches(): AsyncGenerator<RecordBatch> {
      for (const [from, rows] of [[0, 3], [3, 4]] as const) {
        log.push(`read ${from}`);
        yield batch(from, rows);
      }
    }
    const got: RecordBatch[] = [];
    const r = await predictSource(m, { file: 'gen', batches: batches() }, async (out) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      log.push(`wrote ${out.numRows}`);
      got.push(out);
    });
    expect(r).toEqual({ rows: 7, batches: 2 });
    expect(log).toEqual(['read 0', 'wrote 3', 'read 3', 'wrote 4']);
    expect(column(got, 'probability')).toEqual([...m.predictProba(features(batch(0, 3), batch(3, 4)), 7)]);
  });
});
