import type { RecordBatch } from 'apache-arrow';
import { ConfigError, DataError, where } from '../errors.js';
import type { Prng } from '../nn/prng.js';
import { copyRows, invalidRows, planColumns, type ColumnPlan } from './columns.js';
import type { ClassLabel, LabelOrder } from './labels.js';
import { heldOut, type RowReader, type TrainingRows } from './rows.js';
import { ShuffleBuffer } from './shuffle.js';
import { openSource, type ArrowSource } from './source.js';
import { applyStandardization, Welford, type Standardization } from './standardize.js';

/** A source that can also read its record batches out of order (an IPC file, Parquet). */
type RandomAccess = ArrowSource & { batchCount?: number; readBatch?(index: number): Promise<RecordBatch> };

/** tf.data-like default: enough to mix rows across several record batches, in bounded memory. */
export const DEFAULT_SHUFFLE_BUFFER = 10_000;

export interface Holdout {
  /** Fraction of rows held out (--validation-split). */
  fraction: number;
  seed: number;
}

export interface StreamRowsOptions {
  plan: ColumnPlan;
  classes: number;
  /** Rows per record batch in file order, from the scan: lets a shuffled batch order still name rows. */
  batchRows?: number[];
  /** Training rows per epoch, from the scan. */
  rows?: number;
  standardize?: Standardization;
  /** Rows the shuffle buffer holds (0: none, only the record batches are shuffled). */
  shuffleBuffer?: number;
  holdout?: Holdout;
  /** Which side of the holdout these rows are. */
  side?: 'train' | 'holdout';
  /** Leave out rows with an invalid value (see FileRowsOptions.dropInvalid). */
  dropInvalid?: boolean;
}

/**
 * Rows streamed from an Arrow source, opened anew for each epoch. A shuffled epoch reads the
 * record batches in a shuffled order (where the source can seek) and passes the rows through a
 * shuffle buffer; memory is one decoded batch plus the buffer, whatever the file's size.
 */
export function streamRows(open: () => ArrowSource | Promise<ArrowSource>, file: string, o: StreamRowsOptions): TrainingRows {
  const inputs = o.plan.features.length;
  const side = o.side ?? 'train';
  const rows: TrainingRows = {
    file, featureNames: o.plan.features.map((f) => f.name), labelName: o.plan.label.name, classes: o.classes,
    ...(o.rows !== undefined && { rows: o.rows }),
    ...(o.standardize !== undefined && { standardize: o.standardize }),
    epoch: (_epoch: number, rng: Prng, shuffle: boolean) => new StreamReader(open, o, inputs, side, rng, shuffle),
  };
  if (o.holdout !== undefined && side === 'train') {
    rows.holdout = streamRows(open, file, { ...o, side: 'holdout', shuffleBuffer: 0 });
    delete rows.holdout.rows;
  }
  return rows;
}

class StreamReader implements RowReader {
  private source: RandomAccess | undefined;
  private batches: AsyncIterator<{ batch: RecordBatch; firstRow: number }> | undefined;
  private readonly buffer: ShuffleBuffer | undefined;
  /** The current decoded batch, already filtered and standardized. */
  private chunk = { features: new Float32Array(0), labels: new Float32Array(0), rows: 0, pos: 0 };
  private exhausted = false;

  constructor(private readonly open: () => ArrowSource | Promise<ArrowSource>, private readonly o: StreamRowsOptions,
              private readonly inputs: number, private readonly side: 'train' | 'holdout',
              private readonly rng: Prng, private readonly shuffle: boolean) {
    const capacity = shuffle ? Math.min(o.shuffleBuffer ?? DEFAULT_SHUFFLE_BUFFER, o.rows ?? Infinity) : 0;
    this.buffer = capacity > 1 ? new ShuffleBuffer(capacity, inputs, rng) : undefined;
  }

  async fill(features: Float32Array, labels: Float32Array, max: number): Promise<number> {
    const n = this.inputs;
    let written = 0;
    while (written < max) {
      if (this.buffer !== undefined) {
        while (!this.buffer.full && await this.refill()) {
          const c = this.chunk;
          while (c.pos < c.rows && !this.buffer.full) this.buffer.push(c.features, c.labels, c.pos++);
        }
        if (this.buffer.count === 0) break;
        this.buffer.pop(features, labels, written++);
        continue;
      }
      if (!await this.refill()) break;
      const c = this.chunk;
      const k = Math.min(max - written, c.rows - c.pos);
      features.set(c.features.subarray(c.pos * n, (c.pos + k) * n), written * n);
      labels.set(c.labels.subarray(c.pos, c.pos + k), written);
      c.pos += k;
      written += k;
    }
    return written;
  }

  /** Makes sure the current chunk has rows left; false once the source is done. */
  private async refill(): Promise<boolean> {
    while (this.chunk.pos >= this.chunk.rows) {
      if (this.exhausted) return false;
      this.batches ??= await this.openBatches();
      const next = await this.batches.next();
      if (next.done === true) { this.exhausted = true; return false; }
      this.decode(next.value.batch, next.value.firstRow);
    }
    return true;
  }

  private async openBatches(): Promise<AsyncIterator<{ batch: RecordBatch; firstRow: number }>> {
    const source = (this.source = await this.open() as RandomAccess);
    const count = source.batchCount;
    const starts = this.o.batchRows;
    if (this.shuffle && count !== undefined && source.readBatch !== undefined && starts !== undefined) {
      const first = new Array<number>(count);
      for (let i = 0, at = 0; i < count; i++) { first[i] = at; at += starts[i]!; }
      const order = Array.from({ length: count }, (_, i) => i);
      this.rng.shuffle(order);
      const read = source.readBatch.bind(source);
      return (async function* () {
        for (const i of order) yield { batch: await read(i), firstRow: first[i]! };
      })();
    }
    return (async function* () {
      let at = 0;
      for await (const batch of source.batches) { yield { batch, firstRow: at }; at += batch.numRows; }
    })();
  }

  /**
   * Decodes one record batch into the chunk: the rows of this side of the holdout (and, with
   * dropInvalid, only the valid ones), checked and standardized.
   */
  private decode(batch: RecordBatch, firstRow: number): void {
    const n = this.inputs;
    const m = batch.numRows;
    if (this.chunk.labels.length < m) this.chunk = { features: new Float32Array(m * n), labels: new Float32Array(m), rows: 0, pos: 0 };
    const c = this.chunk;
    const h = this.o.holdout;
    let skip = this.o.dropInvalid ? invalidRows(this.o.plan, batch) : null;
    if (h !== undefined) {
      skip ??= new Uint8Array(m);
      for (let r = 0; r < m; r++) if (heldOut(firstRow + r, h.seed, h.fraction) !== (this.side === 'holdout')) skip[r] = 1;
    }
    const kept = copyRows(this.o.plan, batch, firstRow, c.features, c.labels, 0, { skip, classes: this.o.classes }).rows;
    if (this.o.standardize !== undefined) applyStandardization(c.features, kept, this.o.standardize);
    c.rows = kept;
    c.pos = 0;
  }

  async close(): Promise<void> {
    await this.batches?.return?.();
    await this.source?.close();
  }
}

export interface FileRowsOptions {
  label?: string;
  features?: readonly string[];
  /** Known number of classes; otherwise the largest label + 1 (the number of string labels). */
  classes?: number;
  /** A known mapping (the training set's, for a test set): `classLabels[i]` is class i; other labels are E_LABEL_RANGE. */
  classLabels?: readonly ClassLabel[];
  /** Class order for string labels: 'firstSeen' (default) or 'sorted'. */
  labelOrder?: LabelOrder;
  /** true: from the training rows, in the first pass; or given (a test set gets the training set's). */
  standardize?: boolean | Standardization;
  shuffleBuffer?: number;
  holdout?: Holdout;
  /**
   * Leave out rows with a null, NaN or ±Infinity feature or a null label (counted in the rows'
   * `droppedRows`) instead of failing with E_NULL / E_NOT_FINITE / E_NULL_LABEL.
   */
  dropInvalid?: boolean;
}

/** TrainingRows that also say how many rows an invalid value left out (dropInvalid). */
export type CheckedRows = TrainingRows & { droppedRows: number };

/**
 * An Arrow file as TrainingRows. One pass first, batch by batch, checks every value (so a bad
 * row is reported before training starts, not hours in), counts the rows and the classes, and
 * gathers the standardization's statistics; each epoch then streams the file again.
 */
export function fileRows(file: string, options: FileRowsOptions = {}): Promise<CheckedRows> {
  return sourceRows(() => openSource(file), options);
}

/**
 * fileRows over any source that `open` can open again for each pass (an IPC file or stream,
 * Parquet, a Table: `() => sourceFromTable(t)`, or a fresh AsyncIterable each time:
 * `() => sourceFromBatches(read())`). A one-pass source (a pipe) cannot be scanned and then
 * streamed: load it with loadDataset.
 *
 * @example
 * const rows = await sourceRows(() => sourceFromTable(table), { label: 'y' });
 * await fit(model, rows, { epochs: 5, batchSize: 256 });
 */
export async function sourceRows(open: () => ArrowSource | Promise<ArrowSource>, options: FileRowsOptions = {}): Promise<CheckedRows> {
  const source = await open();
  const file = source.file;
  let plan: ColumnPlan;
  const batchRows: number[] = [];
  let rows = 0;
  let kept = 0;
  let trainRows = 0;
  let maxLabel = 0;
  let welford: Welford | undefined;
  try {
    const known = options.classLabels;
    plan = planColumns(file, source.schema, options.label ?? 'label', options.features, {
      ...(options.labelOrder !== undefined && { labelOrder: options.labelOrder }), ...(known !== undefined && { classLabels: known }),
    });
    const n = plan.features.length;
    // Numeric labels are class indices: a known mapping only says how many classes there are.
    const classes = options.classes ?? (known !== undefined && plan.label.kind !== 'string' ? known.length : undefined);
    welford = options.standardize === true ? new Welford(n) : undefined;
    let features = new Float32Array(0);
    let labels = new Float32Array(0);
    const h = options.holdout;
    for await (const batch of source.batches) {
      const m = batch.numRows;
      if (labels.length < m) { features = new Float32Array(m * n); labels = new Float32Array(m); }
      const skip = options.dropInvalid ? invalidRows(plan, batch) : null;
      const copied = copyRows(plan, batch, rows, features, labels, 0, { skip, ...(classes !== undefined && { classes }) });
      maxLabel = Math.max(maxLabel, copied.maxLabel);
      // Which of the copied rows train: not held out (by their row number in the file).
      let t = copied.rows;
      if (h !== undefined) {
        t = 0;
        for (let r = 0, c = 0; r < m; r++) {
          if (skip?.[r]) continue;
          if (!heldOut(rows + r, h.seed, h.fraction)) {
            if (t !== c) features.copyWithin(t * n, c * n, (c + 1) * n);
            t++;
          }
          c++;
        }
      }
      welford?.add(features, t); // statistics of the training rows only
      batchRows.push(m);
      rows += m;
      kept += copied.rows;
      trainRows += t;
    }
  } finally {
    await source.close();
  }
  const dropped = rows - kept;
  if (kept === 0) {
    throw new DataError('E_NO_ROWS', `${where(file)}: has no rows${dropped > 0 ? ` left: all ${dropped} have an invalid value` : ''}`);
  }
  if (trainRows === 0) throw new ConfigError('E_CONFIG', `${where(file)}: --validation-split ${options.holdout?.fraction} leaves no training rows`);
  const map = plan.label.map;
  map?.sort(); // order 'sorted': the indices read so far were first-seen ones
  map?.freeze(); // every label is known now; the epochs see the same ones
  const classes = options.classes ?? (map !== undefined ? Math.max(2, map.size) : options.classLabels?.length ?? Math.max(2, maxLabel + 1));
  const classLabels: ClassLabel[] = options.classLabels !== undefined ? [...options.classLabels]
    : map !== undefined ? map.labels
    : plan.label.kind === 'bool' && classes === 2 ? [false, true]
    : Array.from({ length: classes }, (_, i) => i);
  const result = streamRows(open, file, {
    plan, batchRows, rows: trainRows, classes,
    ...(welford !== undefined && { standardize: welford.result() }),
    ...(typeof options.standardize === 'object' && { standardize: options.standardize }),
    ...(options.shuffleBuffer !== undefined && { shuffleBuffer: options.shuffleBuffer }),
    ...(options.holdout !== undefined && { holdout: options.holdout }),
    ...(options.dropInvalid && { dropInvalid: true }),
  });
  result.classLabels = classLabels;
  if (result.holdout !== undefined) result.holdout.classLabels = classLabels;
  return Object.assign(result, { droppedRows: dropped });
}
