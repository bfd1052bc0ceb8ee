import { ConfigError, DataError, where } from '../errors.js';
import { checkSameColumns, copyRows, planColumns, type ColumnPlan } from './columns.js';
import type { ClassLabel, LabelOrder } from './labels.js';
import { openSource, type ArrowSource } from './source.js';

/** A data set held in memory: row-major float32 features and class-index labels. */
export interface Dataset {
  /** Where it came from, for messages. */
  file: string;
  rows: number;
  /** Feature names, in input order (`emb[0]`, `emb[1]`, … for a FixedSizeList column `emb`). */
  featureNames: string[];
  labelName: string;
  /** (rows, featureNames.length) row-major. */
  features: Float32Array;
  /** (rows) class indices. */
  labels: Float32Array;
  /** Largest label + 1 (at least 2), or the number of string labels (at least 2). */
  classes: number;
  /**
   * The label value of each class index, the mapping a saved model applies back at prediction:
   * [0, 1, …] for integer labels, [false, true] for bool ones, the strings in class order for
   * string ones (fewer than `classes` when the data holds a single string label).
   */
  classLabels?: ClassLabel[];
  /** Rows left out for an invalid value (dropInvalid). */
  droppedRows?: number;
}

/** What loadDataset gives: a Dataset with its plan, class labels and dropped-row count. */
export type LoadedDataset = Dataset & { plan: ColumnPlan; classLabels: ClassLabel[]; droppedRows: number };

export interface LoadOptions {
  /** The label column (default "label"). */
  label?: string;
  /** Feature columns; default every numeric column but the label. */
  features?: readonly string[];
  /** When known (the test set of a trained task), labels must lie in [0, classes). */
  classes?: number;
  /** The columns of the training set, which this file must match; its string-label mapping applies too. */
  like?: ColumnPlan;
  /** Class order for string labels: 'firstSeen' (default) or 'sorted'. */
  labelOrder?: LabelOrder;
  /** A known mapping (a saved model's): `classLabels[i]` is class i; other labels are E_LABEL_RANGE. */
  classLabels?: readonly ClassLabel[];
  /**
   * Leave out rows with a null, NaN or ±Infinity feature or a null label, counting them in
   * `droppedRows`, instead of failing with E_NULL / E_NOT_FINITE / E_NULL_LABEL.
   */
  dropInvalid?: boolean;
}

function checkOptions(options: LoadOptions): void {
  const { classes, classLabels } = options;
  if (classes !== undefined && !(Number.isInteger(classes) && classes >= 2)) {
    throw new ConfigError('E_CONFIG', `classes must be an integer >= 2, got ${classes}`);
  }
  if (classes !== undefined && classLabels !== undefined && classLabels.length > classes) {
    throw new ConfigError('E_CONFIG', `classLabels has ${classLabels.length} labels, more than classes = ${classes}`);
  }
}

/**
 * Reads a source (a path: Arrow IPC file or stream, Parquet, `-` for stdin; or an ArrowSource,
 * which the caller closes) batch by batch into a Dataset, checking every value on the way.
 */
export async function loadDataset(input: string | ArrowSource, options: LoadOptions = {}): Promise<LoadedDataset> {
  checkOptions(options);
  const source = typeof input === 'string' ? await openSource(input) : input;
  const file = source.file;
  try {
    const known = options.classLabels ?? options.like?.label.map?.labels;
    const plan = planColumns(file, source.schema, options.label ?? 'label',
      options.features ?? options.like?.features.map((f) => f.name),
      { ...(options.labelOrder && { labelOrder: options.labelOrder }), ...(known && { classLabels: known }) });
    if (options.like !== undefined) checkSameColumns(options.like, plan);
    const numeric = plan.label.kind !== 'string';
    // Numeric labels are class indices: a known mapping only says how many classes there are.
    const classes = options.classes ?? (known !== undefined && numeric ? known.length : undefined);
    const n = plan.features.length;
    let capacity = 1024;
    let features = new Float32Array(capacity * n);
    let labels = new Float32Array(capacity);
    let rows = 0;
    let fileRows = 0;
    let maxLabel = 0;
    for await (const batch of source.batches) {
      if (rows + batch.numRows > capacity) {
        while (rows + batch.numRows > capacity) capacity *= 2;
        const f = new Float32Array(capacity * n); f.set(features.subarray(0, rows * n)); features = f;
        const l = new Float32Array(capacity); l.set(labels.subarray(0, rows)); labels = l;
      }
      const copied = copyRows(plan, batch, fileRows, features, labels, rows, {
        ...(classes !== undefined && { classes }), ...(options.dropInvalid && { dropInvalid: true }),
      });
      maxLabel = Math.max(maxLabel, copied.maxLabel);
      rows += copied.rows;
      fileRows += batch.numRows;
    }
    const droppedRows = fileRows - rows;
    if (rows === 0) {
      const why = droppedRows > 0 ? ` left: all ${droppedRows} have an invalid value` : '';
      throw new DataError('E_NO_ROWS', `${where(file)}: has no rows${why}`);
    }
    labels = labels.slice(0, rows);
    let classLabels: ClassLabel[];
    let k: number;
    const map = plan.label.map;
    if (map !== undefined) {
      const remap = map.sort(); // order 'sorted': the indices handed out were first-seen ones
      if (remap !== null) for (let r = 0; r < rows; r++) labels[r] = remap[labels[r]!]!;
      classLabels = map.labels;
      k = classes ?? (map.fixed ? Math.max(2, map.size) : Math.max(2, map.size));
    } else {
      k = classes ?? Math.max(2, maxLabel + 1);
      classLabels = known !== undefined ? [...known]
        : plan.label.kind === 'bool' && k === 2 ? [false, true]
        : Array.from({ length: k }, (_, i) => i);
    }
    return {
      file, rows, plan, classLabels, droppedRows,
      featureNames: plan.features.map((f) => f.name),
      labelName: plan.label.name,
      features: features.slice(0, rows * n),
      labels,
      classes: k,
    };
  } finally {
    if (typeof input === 'string') await source.close();
  }
}
