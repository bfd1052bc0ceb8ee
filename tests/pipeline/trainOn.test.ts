import { Utf8, vectorFromArray, type RecordBatch, type Table } from 'apache-arrow';
import { Observable, Subject, firstValueFrom, from, lastValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { QuiverError } from '../../src/errors.js';
import { hiddenLayer, mlp } from '../../src/nn/layers.js';
import { Model } from '../../src/nn/model.js';
import { sgd } from '../../src/nn/optimizers.js';
import { loadDataset } from '../../src/pipeline/dataset.js';
import type { EndEvent, EpochEvent, TrainEvent } from '../../src/pipeline/events.js';
import { memoryRows } from '../../src/pipeline/memoryRows.js';
import { predictBatches } from '../../src/pipeline/predict.js';
import type { TrainingRows } from '../../src/pipeline/rows.js';
import { sourceFromTable } from '../../src/pipeline/source.js';
import { fit } from '../../src/pipeline/train.js';
import { trainOn } from '../../src/pipeline/trainOn.js';
import { batches, table, type Column } from '../helpers/arrow.js';

const ROWS = 600;
const FEATURES = 5;

/** Columns f0..f4 and a 0/1 label that depends on them, rows [from, from + rows). */
function columns(from: number, rows: number, label?: (r: number) => string): Record<string, Column> {
  const cols: Record<string, Column> = {};
  for (let j = 0; j < FEATURES; j++) cols[`f${j}`] = Array.from({ length: rows }, (_, i) => Math.sin((from + i) * (j + 1) * 0.37));
  cols.label = label !== undefined
    ? vectorFromArray(Array.from({ length: rows }, (_, i) => label(from + i)), new Utf8())
    : Array.from({ length: rows }, (_, i) => (Math.sin((from + i) * 0.37) + Math.sin((from + i) * 0.74) > 0 ? 1 : 0));
  return cols;
}

/** The rows in record batches of uneven sizes (100, 250, 250), as a data job might emit them. */
function unevenTable(label?: (r: number) => string): Table {
  return batches(table(columns(0, 100, label)), table(columns(100, 250, label)), table(columns(350, 250, label)));
}

const spec = mlp({ inputs: FEATURES, layers: [hiddenLayer({ units: 8, activation: 'relu' })] });
const optimizer = sgd({ learningRate: 0.1 });

/** Rows read in the source's order every epoch, however small the batch: what trainOn reads with shuffleBuffer 0. */
function inOrder(rows: TrainingRows): TrainingRows {
  return { ...rows, epoch: (epoch, rng) => rows.epoch(epoch, rng, false) };
}

/** A cold observable of the table's batches that counts its subscriptions and the ones ended. */
function counted(t: Table, async = false): { source: Observable<RecordBatch>; subscribed: () => number; active: () => number } {
  let subscribed = 0;
  let active = 0;
  const source = new Observable<RecordBatch>((subscriber) => {
    subscribed++;
    active++;
    let stop = false;
    void (async () => {
      for (const b of t.batches) {
        if (async) await new Promise((resolve) => setTimeout(resolve, 1));
        if (stop) return;
        subscriber.next(b);
      }
      subscriber.complete();
    })();
    return () => { stop = true; active--; };
  });
  return { source, subscribed: () => subscribed, active: () => active };
}

async function failure(events: Observable<TrainEvent>): Promise<QuiverError> {
  const e = await lastValueFrom(events).then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(QuiverError);
  return e as QuiverError;
}

describe('trainOn', () => {
  it('reaches fit()\'s weights bit for bit on the same rows, one batch of all rows per step, over 3 epochs', async () => {
    const t = unevenTable();
    const a = Model.init(spec, 3);
    const b = Model.init(spec, 3);
    const events = await lastValueFrom(from(t.batches).pipe(
      trainOn(a, { epochs: 3, batchSize: ROWS, shuffleBuffer: 0, optimizer, workers: 'inline' }), toArray()));
    const h = await fit(b, await loadDataset(sourceFromTable(t)), { epochs: 3, batchSize: ROWS, optimizer, workers: 'inline' });
    expect(a.params).toEqual(b.params);
    const epochs = events.filter((e): e is EpochEvent => e.event === 'epoch');
    expect(epochs.map((e) => e.loss)).toEqual(h.epochs.map((e) => e.loss));
    const end = events.at(-1) as EndEvent;
    expect(end.event).toBe('end');
    expect(end.loss).toBe(h.end.loss);
    expect(end.epochs).toBe(3);
  });

  it('reaches the weights of in-order mini-batch training, re-subscribing to a cold source once per epoch and once for the end', async () => {
    const t = unevenTable();
    const { source, subscribed, active } = counted(t, true);
    const a = Model.init(spec, 5);
    const b = Model.init(spec, 5);
    await lastValueFrom(source.pipe(trainOn(a, { epochs: 4, batchSize: 64, shuffleBuffer: 0, optimizer, workers: 'inline' })));
    await fit(b, inOrder(memoryRows(await loadDataset(sourceFromTable(t)))), { epochs: 4, batchSize: 64, optimizer, workers: 'inline' });
    expect(a.params).toEqual(b.params);
    expect(subscribed()).toBe(5);
    expect(active()).toBe(0);
  });

  it('shuffles with a seeded buffer: the same seed gives the same weights, another seed others, and both learn', async () => {
    const t = unevenTable();
    const run = async (seed: number): Promise<{ model: Model; first: number; last: number }> => {
      const model = Model.init(spec, 1);
      const events = await lastValueFrom(from(t.batches).pipe(
        trainOn(model, { epochs: 15, batchSize: 32, shuffleBuffer: 200, seed, optimizer, workers: 'inline' }), toArray()));
      const epochs = events.filter((e): e is EpochEvent => e.event === 'epoch');
      return { model, first: epochs[0]!.loss, last: epochs.at(-1)!.loss };
    };
    const [x, y, z] = await Promise.all([run(7), run(7), run(8)]);
    expect(x.model.params).toEqual(y.model.params);
    expect(x.model.params).not.toEqual(z.model.params);
    console.log(`trainOn shuffled: loss ${x.first.toFixed(4)} → ${x.last.toFixed(4)}`);
    expect(x.last).toBeLessThan(0.7 * x.first);
  });

  it('maps string labels to classes by first appearance and records them, so predictBatches answers with the labels', async () => {
    const names = ['low', 'mid', 'high'];
    const t = unevenTable((r) => names[Math.floor(((Math.sin(r * 0.37) + 1) / 2) * 2.999)]!);
    const model = Model.init(mlp({ inputs: FEATURES, classes: 3, layers: [hiddenLayer({ units: 8 })] }), 2);
    await lastValueFrom(from(t.batches).pipe(trainOn(model, { epochs: 30, batchSize: 50, optimizer, workers: 'inline' })));
    const seen: string[] = [];
    for (const v of t.getChild('label')!) if (!seen.includes(v as string)) seen.push(v as string);
    expect(model.info.classLabels).toEqual(seen);
    expect(model.info.features).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
    expect(model.info.label).toBe('label');
    const out = await firstValueFrom(from(t.batches).pipe(predictBatches(model, { keep: ['label'] })));
    const predicted = [...out.getChild('prediction')!] as string[];
    expect(new Set(predicted).size).toBeGreaterThan(1);
    expect(predicted.every((p) => names.includes(p))).toBe(true);
    const right = predicted.filter((p, i) => p === out.getChild('label')!.get(i)).length / out.numRows;
    expect(right).toBeGreaterThan(0.6);
  });

  it('trains one epoch on a hot Subject, which it subscribes to at once; the end has no rows to evaluate (NaN loss)', async () => {
    const t = unevenTable();
    const subject = new Subject<RecordBatch>();
    const model = Model.init(spec, 4);
    const before = model.params.slice();
    const done = lastValueFrom(subject.pipe(trainOn(model, { batchSize: 50, optimizer, workers: 'inline' }), toArray()));
    for (const b of t.batches) subject.next(b); // emitted before training asks: queued, not lost
    subject.complete();
    const events = await done;
    const epoch = events.find((e): e is EpochEvent => e.event === 'epoch')!;
    expect(epoch.loss).toBeGreaterThan(0);
    expect(model.params).not.toEqual(before);
    expect((events.at(-1) as EndEvent).loss).toBeNaN();
  });

  it('stops when unsubscribed: no new subscription to the source, and the open ones end', async () => {
    const { source, subscribed, active } = counted(unevenTable(), true);
    const model = Model.init(spec, 6);
    const first = await firstValueFrom(source.pipe(trainOn(model, { epochs: 1000, batchSize: 64, optimizer, workers: 'inline' }),
      take(1)));
    expect(first.event).toBe('epoch');
    const at = subscribed();
    expect(at).toBeLessThanOrEqual(2); // epoch 0, and epoch 1's first batch read ahead
    await vi.waitFor(() => expect(active()).toBe(0));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(subscribed()).toBe(at);
  });
});

describe('trainOn errors', () => {
  const t = unevenTable();
  const model = (): Model => Model.init(spec, 1);

  it('passes the source\'s error on, the model keeping finite weights of a completed step', async () => {
    const m = model();
    const source = new Observable<RecordBatch>((subscriber) => {
      subscriber.next(t.batches[0]!);
      setTimeout(() => subscriber.error(new Error('upstream failed')), 5);
    });
    await expect(lastValueFrom(source.pipe(trainOn(m, { batchSize: 30, optimizer, workers: 'inline' })))).rejects.toThrow('upstream failed');
    expect(m.params.every(Number.isFinite)).toBe(true);
  });

  it('refuses a NaN feature with E_NOT_FINITE naming the source, column and row', async () => {
    const cols = columns(100, 250);
    (cols.f2 as number[])[17] = NaN;
    const bad = batches(table(columns(0, 100)), table(cols));
    const e = await failure(from(bad.batches).pipe(trainOn(model(), { batchSize: 30, name: 'feed', workers: 'inline' })));
    expect(e.code).toBe('E_NOT_FINITE');
    expect(e.message).toMatch(/file feed, column "f2", row 117: feature value NaN/);
  });

  it('refuses a source that runs more than maxQueuedBatches ahead with E_OVERRUN, and unsubscribes from it', async () => {
    const many = batches(...Array.from({ length: 10 }, (_, i) => table(columns(i * 10, 10))));
    const { source, active } = counted(many);
    const e = await failure(source.pipe(trainOn(model(), { batchSize: 10, maxQueuedBatches: 4, workers: 'inline' })));
    expect(e.code).toBe('E_OVERRUN');
    expect(e.message).toMatch(/observable: emitted more than 4 record batches ahead of the reader/);
    expect(active()).toBe(0);
    // The same source within the bound trains.
    await expect(lastValueFrom(source.pipe(trainOn(model(), { batchSize: 10, maxQueuedBatches: 10, workers: 'inline' })))).resolves.toMatchObject({ event: 'end' });
  });

  it('refuses a second epoch of a hot source that has completed with E_ONE_PASS', async () => {
    const subject = new Subject<RecordBatch>();
    const done = lastValueFrom(subject.pipe(trainOn(model(), { epochs: 2, batchSize: 50, workers: 'inline' })));
    for (const b of t.batches) subject.next(b);
    subject.complete();
    const e = await done.then(() => null, (err: unknown) => err) as QuiverError;
    expect(e.code).toBe('E_ONE_PASS');
    expect(e.message).toMatch(/emitted no record batches when subscribed to again for epoch 1/);
  });

  it('refuses a batch whose columns differ from the first\'s with E_SCHEMA_CHANGED, and a source with no batches with E_NO_ROWS', async () => {
    const other = table({ f0: [1, 2], label: [0, 1] });
    const e = await failure(from([t.batches[0]!, other.batches[0]!]).pipe(trainOn(model(), { batchSize: 30, workers: 'inline' })));
    expect(e.code).toBe('E_SCHEMA_CHANGED');
    expect(e.message).toMatch(/the schema changes at record batch 1 \(row 100\)/);
    const none = await failure(from([] as RecordBatch[]).pipe(trainOn(model(), { batchSize: 30 })));
    expect(none.code).toBe('E_NO_ROWS');
  });

  it('refuses a missing label column, and a model of other width, before training', async () => {
    const noLabel = await failure(from(t.batches).pipe(trainOn(model(), { batchSize: 30, label: 'y' })));
    expect(noLabel.code).toBe('E_NO_LABEL');
    const wide = Model.init(mlp({ inputs: 7, layers: [hiddenLayer({ units: 4 })] }), 1);
    const shape = await failure(from(t.batches).pipe(trainOn(wide, { batchSize: 30 })));
    expect(shape.code).toBe('E_SHAPE');
  });

  it('checks its options when made: a batch size is required, epochs and the queue bound are positive', () => {
    const code = (f: () => unknown): string | undefined => { try { f(); } catch (e) { return (e as QuiverError).code; } return undefined; };
    expect(code(() => trainOn(model(), {} as { batchSize: number }))).toBe('E_CONFIG');
    expect(() => trainOn(model(), { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
    expect(() => trainOn(model(), { batchSize: 8, epochs: 0 })).toThrow(/epochs must be a positive integer/);
    expect(() => trainOn(model(), { batchSize: 8, maxQueuedBatches: 0 })).toThrow(/maxQueuedBatches must be a positive integer/);
  });
});
