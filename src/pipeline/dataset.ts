import { DataError, where } from '../errors.js';
import { checkSameColumns, copyBatch, planColumns, type ColumnPlan } from './columns.js';
import { openArrowFile } from './source.js';

/** A data set held in memory: row-major float32 features and class-index labels. */
export interface Dataset {
  /** Where it came from, for messages. */
  file: string;
  rows: number;
  /** Feature column names, in input order. */
  featureNames: string[];
  labelName: string;
  /** (rows, featureNames.length) row-major. */
  features: Float32Array;
  /** (rows) class indices. */
  labels: Float32Array;
  /** Largest label + 1 (at least 2). */
  classes: number;
}

export interface LoadOptions {
  /** The label column (default "label"). */
  label?: string;
  /** Feature columns; default every numeric column but the label. */
  features?: readonly string[];
  /** When known (the test set of a trained task), labels must lie in [0, classes). */
  classes?: number;
  /** The columns of the training set, which this file must match. */
  like?: ColumnPlan;
}

/** Reads an Arrow IPC file batch by batch into a Dataset, checking every value on the way. */
export async function loadDataset(file: string, options: LoadOptions = {}): Promise<Dataset & { plan: ColumnPlan }> {
  const source = await openArrowFile(file);
  try {
    const plan = planColumns(file, source.schema, options.label ?? 'label', options.features ?? options.like?.features.map((f) => f.name));
    if (options.like !== undefined) checkSameColumns(options.like, plan);
    const n = plan.features.length;
    let capacity = 1024;
    let features = new Float32Array(capacity * n);
    let labels = new Float32Array(capacity);
    let rows = 0;
    let maxLabel = 0;
    for await (const batch of source.batches) {
      if (rows + batch.numRows > capacity) {
        while (rows + batch.numRows > capacity) capacity *= 2;
        const f = new Float32Array(capacity * n); f.set(features.subarray(0, rows * n)); features = f;
        const l = new Float32Array(capacity); l.set(labels.subarray(0, rows)); labels = l;
      }
      maxLabel = Math.max(maxLabel, copyBatch(plan, batch, rows, features, labels, rows, options.classes));
      rows += batch.numRows;
    }
    if (rows === 0) throw new DataError('E_NO_ROWS', `${where(file)}: has no rows`);
    return {
      file, rows, plan,
      featureNames: plan.features.map((f) => f.name),
      labelName: plan.label.name,
      features: features.slice(0, rows * n),
      labels: labels.slice(0, rows),
      classes: options.classes ?? Math.max(2, maxLabel + 1),
    };
  } finally {
    await source.close();
  }
}
