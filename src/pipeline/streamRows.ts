import type { RecordBatch } from 'apache-arrow';
import { ConfigError, DataError, where } from '../errors.js';
import type { Prng } from '../nn/prng.js';
import { copyFeatures, copyLabels, planColumns, type ColumnPlan } from './columns.js';
import { heldOut, type RowReader, type TrainingRows } from './rows.js';
import { ShuffleBuffer } from './shuffle.js';
import { openArrowFile, type ArrowSource } from './source.js';
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
}

/**
 * Rows streamed from an Arrow source, opened anew for each epoch. A shuffled epoch reads the
 * record batches in a shuffled order (where the source can seek) and passes the rows through a
 * shuffle buffer; memory is one decoded batch plus the buffer, whatever the file's size.
 */
export function streamRows(open: () => Promise<ArrowSource>, file: string, o: StreamRowsOptions): TrainingRows {
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

  constructor(private readonly open: () => Promise<ArrowSource>, private readonly o: StreamRowsOptions,
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

  /** Decodes one record batch into the chunk: checked, the holdout's rows kept or dropped, standardized. */
  private decode(batch: RecordBatch, firstRow: number): void {
    const n = this.inputs;
    const m = batch.numRows;
    if (this.chunk.labels.length < m) this.chunk = { features: new Float32Array(m * n), labels: new Float32Array(m), rows: 0, pos: 0 };
    const c = this.chunk;
    copyFeatures(this.o.plan, batch, firstRow, c.features, 0);
    copyLabels(this.o.plan, batch, firstRow, c.labels, 0, this.o.classes);
    let kept = m;
    const h = this.o.holdout;
    if (h !== undefined) {
      kept = 0;
      for (let r = 0; r < m; r++) {
        if (heldOut(firstRow + r, h.seed, h.fraction) !== (this.side === 'holdout')) continue;
        if (kept !== r) { c.features.copyWithin(kept * n, r * n, (r + 1) * n); c.labels[kept] = c.labels[r]!; }
        kept++;
      }
    }
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
  /** Known number of classes; otherwise the largest label + 1. */
  classes?: number;
  /** true: from the training rows, in the first pass; or given (a test set gets the training set's). */
  standardize?: boolean | Standardization;
  shuffleBuffer?: number;
  holdout?: Holdout;
}

/**
 * An Arrow file as TrainingRows. One pass first, batch by batch, checks every value (so a bad
 * row is reported before training starts, not hours in), counts the rows and the classes, and
 * gathers the standardization's statistics; each epoch then streams the file again.
 */
export async function fileRows(file: string, options: FileRowsOptions = {}): Promise<TrainingRows> {
  const source = await openArrowFile(file);
  let plan: ColumnPlan;
  const batchRows: number[] = [];
  let rows = 0;
  let trainRows = 0;
  let maxLabel = 0;
  let welford: Welford | undefined;
  try {
    plan = planColumns(file, source.schema, options.label ?? 'label', options.features);
    const n = plan.features.length;
    welford = options.standardize === true ? new Welford(n) : undefined;
    let features = new Float32Array(0);
    let labels = new Float32Array(0);
    for await (const batch of source.batches) {
      const m = batch.numRows;
      if (labels.length < m) { features = new Float32Array(m * n); labels = new Float32Array(m); }
      copyFeatures(plan, batch, rows, features, 0);
      maxLabel = Math.max(maxLabel, copyLabels(plan, batch, rows, labels, 0, options.classes));
      const h = options.holdout;
      let kept = m;
      if (h !== undefined) {
        kept = 0;
        for (let r = 0; r < m; r++) {
          if (heldOut(rows + r, h.seed, h.fraction)) continue;
          if (kept !== r) features.copyWithin(kept * n, r * n, (r + 1) * n);
          kept++;
        }
      }
      welford?.add(features, kept); // statistics of the training rows only
      batchRows.push(m);
      rows += m;
      trainRows += kept;
    }
  } finally {
    await source.close();
  }
  if (rows === 0) throw new DataError('E_NO_ROWS', `${where(file)}: has no rows`);
  if (trainRows === 0) throw new ConfigError('E_CONFIG', `${where(file)}: --validation-split ${options.holdout?.fraction} leaves no training rows`);
  return streamRows(() => openArrowFile(file), file, {
    plan, batchRows, rows: trainRows,
    classes: options.classes ?? Math.max(2, maxLabel + 1),
    ...(welford !== undefined && { standardize: welford.result() }),
    ...(typeof options.standardize === 'object' && { standardize: options.standardize }),
    ...(options.shuffleBuffer !== undefined && { shuffleBuffer: options.shuffleBuffer }),
    ...(options.holdout !== undefined && { holdout: options.holdout }),
  });
}
