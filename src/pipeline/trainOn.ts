/**
 * trainOn: an RxJS operator that trains a model on the record batches an Observable emits.
 *
 * RxJS pushes and training pulls (DESIGN.md), so the batches go through a bounded queue
 * (pull.ts) into the TrainingRows the training loop reads a batch at a time (streamRows.ts):
 * memory is the queue, the batch being read, the shuffle buffer and the two input slots.
 *
 * Passes: epoch 0 reads the subscription made when the operator's output is subscribed to;
 * every later epoch subscribes to the source again, and so does the evaluation of the final
 * weights on the training rows that the end event reports (train's). A cold observable
 * (`from(table.batches)`, `defer(() => …)`, a file read on subscription) replays its batches
 * on each subscription, so any number of epochs works. A hot one (a Subject) can be read once:
 * with `epochs: 1` it trains, and its end event's loss and trainAccuracy are NaN if nothing
 * comes back for the final pass; a later epoch that receives no batches fails with E_ONE_PASS.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { concatMap, defer, finalize, from, tap, type Observable, type OperatorFunction } from 'rxjs';
import { ConfigError, DataError, where } from '../errors.js';
import type { Model } from '../nn/model.js';
import { planColumns } from './columns.js';
import type { TrainEvent } from './events.js';
import type { ClassLabel } from './labels.js';
import { classCount } from './predict.js';
import { pullObservable } from './pull.js';
import { checkedBatches, overrun, type ArrowSource } from './source.js';
import type { Standardization } from './standardize.js';
import { DEFAULT_SHUFFLE_BUFFER, streamRows } from './streamRows.js';
import { train, type FitOptions } from './train.js';

/** Record batches queued ahead of training before the source counts as too fast (E_OVERRUN). */
export const DEFAULT_MAX_QUEUED_BATCHES = 16;

export interface TrainOnOptions extends Omit<FitOptions, 'batchSize' | 'epochs'> {
  /** Rows per step. Required: a stream's length is not known ahead, so there is no 'full' batch. */
  batchSize: number;
  /** Passes over the source, one subscription each; 1 by default, since a stream is often read once (fit's is 100). */
  epochs?: number;
  /** The label column; default the model's (model.info.label), else "label". */
  label?: string;
  /** Feature columns in input order; default the model's (model.info.features), else every numeric column but the label. */
  features?: readonly string[];
  /**
   * The label value of each class (`classLabels[i]` is class i); default the model's. String
   * labels not given here get classes in order of first appearance.
   */
  classLabels?: readonly ClassLabel[];
  /** Per-feature mean and std to standardize with (a stream gives no pass ahead to compute them); default the model's. */
  standardize?: Standardization;
  /** Rows the shuffle buffer mixes (10 000 by default, as tf.data's users often pick); 0 keeps the source's order. */
  shuffleBuffer?: number;
  /** Batches the source may run ahead of training before it fails with E_OVERRUN (16 by default). */
  maxQueuedBatches?: number;
  /** Names the source in error messages (default "observable"). */
  name?: string;
}

function checkOptions(o: TrainOnOptions): void {
  if (!(Number.isInteger(o.batchSize) && o.batchSize >= 1)) {
    throw new ConfigError('E_CONFIG', `trainOn: batchSize must be a positive integer (a stream's length is not known ahead), got ${o.batchSize}`);
  }
  const epochs = o.epochs ?? 1;
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new ConfigError('E_CONFIG', `trainOn: epochs must be a positive integer, got ${epochs}`);
  const q = o.maxQueuedBatches;
  if (q !== undefined && !(q === Infinity || (Number.isInteger(q) && q >= 1))) {
    throw new ConfigError('E_CONFIG', `trainOn: maxQueuedBatches must be a positive integer or Infinity, got ${q}`);
  }
  const b = o.shuffleBuffer;
  if (b !== undefined && !(Number.isInteger(b) && b >= 0)) throw new ConfigError('E_CONFIG', `trainOn: shuffleBuffer must be an integer >= 0, got ${b}`);
}

/**
 * The subscriptions to the source, one per pass. The first is made at once, the others when
 * the training loop opens the next epoch (or its final evaluation).
 */
class Passes {
  private count = 0;
  private stopped = false;
  private readonly open = new Set<AsyncIterator<RecordBatch>>();
  private readonly firstPass: AsyncIterator<RecordBatch>;
  private readonly head: Promise<IteratorResult<RecordBatch>>;

  constructor(private readonly source: Observable<RecordBatch>, private readonly name: string,
              private readonly epochs: number, private readonly maxQueued: number, private readonly signal?: AbortSignal) {
    this.firstPass = this.subscribe();
    this.head = this.firstPass.next(); // subscribes now, synchronously
  }

  /** The schema, from the first batch. */
  async schema(): Promise<Schema> {
    const first = await this.head;
    if (first.done === true) throw new DataError('E_NO_ROWS', `${where(this.name)}: emitted no record batches`);
    return first.value.schema;
  }

  /** The next pass over the source, as an ArrowSource of `schema`'s batches. */
  async next(schema: Schema): Promise<ArrowSource> {
    const k = this.count++;
    const empty = (): ArrowSource => this.sourceOf(schema, null, null);
    if (this.stopped || this.signal?.aborted) return empty(); // training stops: no new pass
    const it = k === 0 ? this.firstPass : this.subscribe();
    const first = k === 0 ? await this.head : await it.next();
    if (first.done === true) {
      this.open.delete(it);
      if (k > 0 && k < this.epochs) {
        throw new DataError('E_ONE_PASS', `${where(this.name)}: emitted no record batches when subscribed to again for epoch ${k}; ` +
          'a hot observable (a Subject) is read once: train it with epochs: 1, or give a cold one (from(...), defer(...)) that replays its batches');
      }
      return empty();
    }
    return this.sourceOf(schema, first.value, it);
  }

  /** Ends every subscription: a read that waits on the source resolves with no more batches. */
  stop(): void {
    this.stopped = true;
    for (const it of this.open) void it.return?.();
    this.open.clear();
  }

  private subscribe(): AsyncIterator<RecordBatch> {
    const it = pullObservable(this.source, { maxQueued: this.maxQueued, overrun: (n) => overrun(this.name, n) });
    this.open.add(it);
    return it;
  }

  private sourceOf(schema: Schema, first: RecordBatch | null, it: AsyncIterator<RecordBatch> | null): ArrowSource {
    async function* all(): AsyncGenerator<RecordBatch> {
      if (first === null || it === null) return;
      yield first;
      for (let next = await it.next(); next.done !== true; next = await it.next()) yield next.value;
    }
    const close = async (): Promise<void> => {
      if (it === null) return;
      this.open.delete(it);
      await it.return?.();
    };
    // Every batch of every pass must have the first batch's columns (E_SCHEMA_CHANGED).
    return { file: this.name, schema, replayable: false, format: 'observable', batches: checkedBatches(this.name, schema, all(), false), close };
  }
}

/**
 * RxJS operator: trains `model` on the record batches of the source and emits the training's
 * events, as train() does for a data set: an epoch event per epoch (the mean loss of its
 * steps), warnings, then the end event, after which the model holds the final weights. Errors
 * (a bad value, a missing column, the source's own, E_OVERRUN) end it with that error, the
 * model keeping the weights of the last completed step. Unsubscribing stops training after
 * the current step and unsubscribes from the source. Sets model.info's features and label
 * (and string class labels, once every class has been seen) where unset, so the model can
 * predict and be saved afterwards.
 *
 * @example
 * import { readFileSync } from 'node:fs';
 * import { tableFromIPC } from 'apache-arrow';
 * import { from } from 'rxjs';
 * import { Model, hiddenLayer, mlp, sgd, trainOn } from 'quiver';
 * const table = tableFromIPC(readFileSync('data/seed-train.arrow'));
 * const model = Model.init(mlp({ inputs: 20, layers: [hiddenLayer({ units: 64, activation: 'relu' })] }), 42);
 * from(table.batches)
 *   .pipe(trainOn(model, { epochs: 10, batchSize: 100, optimizer: sgd({ learningRate: 0.01 }) }))
 *   .subscribe((e) => { if (e.event === 'epoch') console.log(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}`); });
 */
export function trainOn(model: Model, options: TrainOnOptions): OperatorFunction<RecordBatch, TrainEvent> {
  checkOptions(options);
  const { label, features, classLabels, standardize, shuffleBuffer, maxQueuedBatches, name = 'observable', ...fit }: TrainOnOptions = options;
  const epochs = fit.epochs ?? 1;
  const info = model.info;
  return (source) => defer(() => {
    const passes = new Passes(source, name, epochs, maxQueuedBatches ?? DEFAULT_MAX_QUEUED_BATCHES, fit.signal);
    let map: { size: number; labels: string[] } | undefined;
    return from(passes.schema()).pipe(
      concatMap((schema) => {
        const known = classLabels ?? info.classLabels;
        const plan = planColumns(name, schema, label ?? info.label ?? 'label', features ?? info.features,
          known !== undefined ? { classLabels: known } : {});
        map = plan.label.map;
        const s = standardize ?? info.standardize;
        const rows = streamRows(() => passes.next(schema), name, {
          plan, classes: classCount(model), shuffleBuffer: shuffleBuffer ?? DEFAULT_SHUFFLE_BUFFER, ...(s !== undefined && { standardize: s }),
        });
        info.features ??= rows.featureNames;
        info.label ??= rows.labelName;
        return train(model, rows, { ...fit, epochs, batchSize: options.batchSize });
      }),
      tap((e) => {
        if (e.event === 'end' && info.classLabels === undefined && map !== undefined && map.size === classCount(model)) info.classLabels = map.labels;
      }),
      finalize(() => passes.stop()),
    );
  });
}
