import { stat } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { loadDataset, type Dataset } from './dataset.js';
import type { ClassLabel, LabelOrder } from './labels.js';
import { memoryRows } from './memoryRows.js';
import { heldOut, type TrainingRows } from './rows.js';
import { Welford, type Standardization } from './standardize.js';
import { fileRows, type Holdout } from './streamRows.js';

export interface TrainingRowsOptions {
  label?: string;
  features?: readonly string[];
  classes?: number;
  /** true: from this data's training rows (one streaming pass); or given (a test set gets the training set's). */
  standardize?: boolean | Standardization;
  shuffleBuffer?: number;
  /** Hold out a fraction of rows for validation, chosen by a hash of the row number and seed. */
  holdout?: Holdout;
  /**
   * The training set, whose columns this file must have (for a test set), and whose mapping of
   * labels to classes applies here too (a label it lacks is E_LABEL_RANGE).
   */
  like?: { featureNames: string[]; classLabels?: readonly ClassLabel[] };
  /** Class order for string labels: 'firstSeen' (default) or 'sorted'. */
  labelOrder?: LabelOrder;
  /**
   * Leave out rows with a null, NaN or ±Infinity feature or a null label, counted in the rows'
   * `droppedRows`, instead of failing with E_NULL / E_NOT_FINITE / E_NULL_LABEL.
   */
  dropInvalid?: boolean;
  /**
   * Files up to this many bytes are read into memory once and reshuffled there each epoch;
   * larger ones stream from disk every epoch, in bounded memory. 256 MiB by default.
   */
  cacheBytes?: number;
}

export const DEFAULT_CACHE_BYTES = 256 * 2 ** 20;

/**
 * An Arrow file as the rows `fit` trains on: held in memory when small (the fastest way to
 * revisit it every epoch), streamed when large. Stdin (`-`) is read as it arrives and held in
 * memory, since a pipe cannot be read again for the next epoch; a file larger than memory must
 * come from disk.
 */
export async function trainingRows(file: string, o: TrainingRowsOptions = {}): Promise<TrainingRows & { droppedRows: number }> {
  const limit = o.cacheBytes ?? DEFAULT_CACHE_BYTES;
  const size = file === '-' ? 0 : await stat(file).then((s) => s.size, () => 0); // a missing file fails in the reader, with its own error
  const features = o.features ?? o.like?.featureNames;
  const classLabels = o.like?.classLabels;
  const labels = {
    ...(o.label !== undefined && { label: o.label }), ...(features && { features }), ...(o.classes !== undefined && { classes: o.classes }),
    ...(classLabels !== undefined && { classLabels }), ...(o.labelOrder !== undefined && { labelOrder: o.labelOrder }),
    ...(o.dropInvalid && { dropInvalid: true }),
  };
  if (size > limit) {
    return fileRows(file, {
      ...labels, ...(o.standardize !== undefined && { standardize: o.standardize }),
      ...(o.shuffleBuffer !== undefined && { shuffleBuffer: o.shuffleBuffer }), ...(o.holdout !== undefined && { holdout: o.holdout }),
    });
  }
  const data = await loadDataset(file, labels);
  return Object.assign(inMemory(data, o), { droppedRows: data.droppedRows });
}

/** A loaded data set as TrainingRows, with its validation split and standardization. */
export function inMemory(data: Dataset, o: Pick<TrainingRowsOptions, 'standardize' | 'holdout'> = {}): TrainingRows {
  let train: Uint32Array | undefined;
  let held: Uint32Array | undefined;
  const h = o.holdout;
  if (h !== undefined) {
    const all = Array.from({ length: data.rows }, (_, i) => i);
    train = Uint32Array.from(all.filter((r) => !heldOut(r, h.seed, h.fraction)));
    held = Uint32Array.from(all.filter((r) => heldOut(r, h.seed, h.fraction)));
    if (train.length === 0) throw new ConfigError('E_CONFIG', `file ${data.file}: --validation-split ${h.fraction} leaves no training rows`);
  }
  let s: Standardization | undefined;
  if (o.standardize === true) {
    const w = new Welford(data.featureNames.length);
    const n = data.featureNames.length;
    for (const r of train ?? Array.from({ length: data.rows }, (_, i) => i)) w.add(data.features.subarray(r * n, (r + 1) * n), 1);
    s = w.result();
  } else if (o.standardize !== undefined && o.standardize !== false) {
    s = o.standardize;
  }
  const rows = memoryRows(data, { ...(train && { indices: train }), ...(s && { standardize: s }) });
  if (held !== undefined && held.length > 0) rows.holdout = memoryRows(data, { indices: held, ...(s && { standardize: s }) });
  return rows;
}
