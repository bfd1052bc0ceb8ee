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

/** Rows the first pass decodes at a time. */
const SCAN_ROWS = 4096;

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
 * shuffle buffer; memory is the record batch being read and the next (read ahead) plus the
 * buffer, whatever the file's size.
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

/**
 * Iterates `source`, asking for its next value as soon as the current one is handed out: the
 * next record batch is read from disk while the training steps use the current one, rather
 * than the steps waiting for the read at each batch's end (a 17 MB batch reads in some 15 ms,
 * the time of 30 steps of 64 → 256 → 1). Two batches in memory at most.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let pending = it.next();
  try {
    for (;;) {
      const r = await pending;
      if (r.done === true) return;
      pending = it.next();
      pending.catch(() => undefined); // awaited on the next turn; a reader that stops early never asks
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}

class StreamReader implements RowReader {
  private source: RandomAccess | undefined;
  private batches: AsyncIterator<{ batch: RecordBatch; firstRow: number }> | undefined;
  private readonly buffer: ShuffleBuffer | undefined;
  /**
   * The record batch being read, its first row in the file, the next of its rows to take, and
   * the rows it leaves out (the other side of the holdout; invalid ones with dropInvalid).
   */
  private current: { batch: RecordBatch; firstRow: number; pos: number; skip: Uint8Array | null } | null = null;
  private exhausted = false;

  constructor(private readonly open: () => ArrowSource | Promise<ArrowSource>, private readonly o: StreamRowsOptions,
              private readonly inputs: number, private readonly side: 'train' | 'holdout',
              private readonly rng: Prng, private readonly shuffle: boolean) {
    const capacity = shuffle ? Math.min(o.shuffleBuffer ?? DEFAULT_SHUFFLE_BUFFER, o.rows ?? Infinity) : 0;
    this.buffer = capacity > 1 ? new ShuffleBuffer(capacity, inputs, rng) : undefined;
  }

  /**
   * Rows are decoded a slice at a time straight to where they go (the caller's input slot, or
   * the shuffle buffer's free rows), never a whole record batch at once: memory is the
   * buffer, whatever the size of the file's record batches.
   */
  async fill(features: Float32Array, labels: Float32Array, max: number): Promise<number> {
    let written = 0;
    const b = this.buffer;
    if (b === undefined) {
      while (written < max && await this.next()) written += this.take(features, labels, written, max - written);
      return written;
    }
    while (written < max) {
      while (!b.full && await this.next()) b.added(this.take(b.features, b.labels, b.count, b.capacity - b.count));
      if (b.count === 0) break;
      // A burst of draws, as many as are wanted, then the buffer is topped up again.
      for (let k = Math.min(max - written, b.count); k > 0; k--) b.pop(features, labels, written++);
    }
    return written;
  }

  /**
   * Up to `room` of the current batch's next rows into (features, labels) from row `at`:
   * checked, the left-out ones dropped, standardized. Returns the rows written.
   */
  private take(features: Float32Array, labels: Float32Array, at: number, room: number): number {
    const c = this.current!;
    const end = Math.min(c.batch.numRows, c.pos + room);
    const kept = copyRows(this.o.plan, c.batch, c.firstRow, features, labels, at,
      { skip: c.skip, classes: this.o.classes, start: c.pos, end }).rows;
    c.pos = end;
    if (this.o.standardize !== undefined) applyStandardization(features.subarray(at * this.inputs), kept, this.o.standardize);
    return kept;
  }

  /** Makes sure the current batch has rows left; false once the source is done. */
  private async next(): Promise<boolean> {
    while (this.current === null || this.current.pos >= this.current.batch.numRows) {
      if (this.exhausted) return false;
      this.batches ??= await this.openBatches();
      const next = await this.batches.next();
      if (next.done === true) {
        this.exhausted = true;
        this.current = null;
        return false;
      }
      const { batch, firstRow } = next.value;
      this.current = { batch, firstRow, pos: 0, skip: this.skipOf(batch, firstRow) };
    }
    return true;
  }

  /** The batch's rows to leave out: the other side of the holdout, and invalid ones with dropInvalid. */
  private skipOf(batch: RecordBatch, firstRow: number): Uint8Array | null {
    const h = this.o.holdout;
    let skip = this.o.dropInvalid ? invalidRows(this.o.plan, batch) : null;
    if (h !== undefined) {
      skip ??= new Uint8Array(batch.numRows);
      for (let r = 0; r < batch.numRows; r++) if (heldOut(firstRow + r, h.seed, h.fraction) !== (this.side === 'holdout')) skip[r] = 1;
    }
    return skip;
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
      return readAhead((async function* () {
        for (const i of order) yield { batch: await read(i), firstRow: first[i]! };
      })());
    }
    return readAhead((async function* () {
      let at = 0;
      for await (const batch of source.batches) { yield { batch, firstRow: at }; at += batch.numRows; }
    })());
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
    // A slice at a time, so memory does not grow with the size of the file's record batches.
    const features = new Float32Array(SCAN_ROWS * n);
    const labels = new Float32Array(SCAN_ROWS);
    const h = options.holdout;
    for await (const batch of readAhead(source.batches)) {
      const m = batch.numRows;
      const skip = options.dropInvalid ? invalidRows(plan, batch) : null;
      for (let start = 0; start < m; start += SCAN_ROWS) {
        const end = Math.min(m, start + SCAN_ROWS);
        const copied = copyRows(plan, batch, rows, features, labels, 0, { skip, start, end, ...(classes !== undefined && { classes }) });
        maxLabel = Math.max(maxLabel, copied.maxLabel);
        // Which of the copied rows train: not held out (by their row number in the file).
        let t = copied.rows;
        if (h !== undefined) {
          t = 0;
          for (let r = start, c = 0; r < end; r++) {
            if (skip?.[r]) continue;
            if (!heldOut(rows + r, h.seed, h.fraction)) {
              if (t !== c) features.copyWithin(t * n, c * n, (c + 1) * n);
              t++;
            }
            c++;
          }
        }
        welford?.add(features, t); // statistics of the training rows only
        kept += copied.rows;
        trainRows += t;
      }
      batchRows.push(m);
      rows += m;
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
