import { DataType, type Field, type RecordBatch, type Schema, type Vector } from 'apache-arrow';
import { DataError, where } from '../errors.js';

/**
 * Which columns of a schema are the features and which is the label, and how to copy a record
 * batch of them into row-major float32 features and class-index labels.
 */
export interface FeaturePlan {
  file: string;
  features: { name: string; index: number }[];
}

export interface ColumnPlan extends FeaturePlan {
  label: { name: string; index: number; kind: 'int' | 'bool' | 'float' };
}

/** Integer, float and bool columns can be features. */
export function isNumeric(type: DataType): boolean {
  return DataType.isInt(type) || DataType.isFloat(type) || DataType.isBool(type);
}

function find(file: string, schema: Schema, name: string, role: 'label' | 'feature'): { field: Field; index: number } {
  const index = schema.fields.findIndex((f) => f.name === name);
  if (index < 0) {
    throw new DataError(role === 'label' ? 'E_NO_LABEL' : 'E_NO_COLUMN',
      `${where(file)}: no ${role} column ${JSON.stringify(name)} (columns: ${schema.fields.map((f) => f.name).join(', ')})`);
  }
  return { field: schema.fields[index]!, index };
}

/** The named feature columns, in that order (a saved model's, when it is applied to new data). */
export function planFeatures(file: string, schema: Schema, names: readonly string[]): FeaturePlan {
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new DataError('E_CONFIG', `${where(file, twice)}: feature column named twice`);
  return {
    file,
    features: names.map((name) => {
      const { field, index } = find(file, schema, name, 'feature');
      if (!isNumeric(field.type)) {
        throw new DataError('E_NON_NUMERIC', `${where(file, name)}: feature column has type ${field.type}, not a number`);
      }
      return { name, index };
    }),
  };
}

/** The label column and the features: those named, or every other numeric column. */
export function planColumns(file: string, schema: Schema, label: string, features?: readonly string[]): ColumnPlan {
  const lab = find(file, schema, label, 'label');
  const t = lab.field.type;
  if (!(DataType.isInt(t) || DataType.isBool(t) || DataType.isFloat(t))) {
    throw new DataError('E_LABEL_TYPE', `${where(file, label)}: label column has type ${t} (quiver takes integer, bool or whole-number float labels)`);
  }
  const kind = DataType.isInt(t) ? 'int' : DataType.isBool(t) ? 'bool' : 'float';
  if (features?.includes(label)) throw new DataError('E_CONFIG', `${where(file, label)}: the label column cannot also be a feature`);
  const names = features ?? schema.fields.filter((f) => f.name !== label && isNumeric(f.type)).map((f) => f.name);
  if (names.length === 0) throw new DataError('E_NO_FEATURES', `${where(file)}: no numeric feature columns besides the label ${JSON.stringify(label)}`);
  return { ...planFeatures(file, schema, names), label: { name: label, index: lab.index, kind } };
}

/** Checks that a later file (the test set) has the training file's columns. */
export function checkSameColumns(plan: ColumnPlan, other: ColumnPlan): void {
  const a = plan.features.map((f) => f.name).join(',');
  const b = other.features.map((f) => f.name).join(',');
  if (a !== b) {
    throw new DataError('E_COLUMNS_MISMATCH', `${where(other.file)}: feature columns ${b} differ from the training data's ${a}`);
  }
}

/** A column's values as numbers, with typed-array speed where the type allows it. */
function numbers(v: Vector): ArrayLike<number> {
  if (DataType.isFloat(v.type) && v.type.precision !== 0 /* HALF is stored as uint16 */) return v.toArray() as ArrayLike<number>;
  if (DataType.isInt(v.type) && v.type.bitWidth < 64) return v.toArray() as ArrayLike<number>;
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) { const x = v.get(i) as unknown; out[i] = x === null ? NaN : Number(x); }
  return out;
}

/** The first row of `v` that is null, or -1. */
function firstNull(v: Vector): number {
  if (v.nullCount === 0) return -1;
  for (let i = 0; i < v.length; i++) if (!v.isValid(i)) return i;
  return -1;
}

/**
 * Copies the batch's rows into features (row-major, from row `at` on) and labels. `firstRow` is
 * the batch's first row in the file, for messages. Labels must be class indices in [0, classes)
 * when `classes` is given; returns the largest label seen.
 */
export function copyBatch(plan: ColumnPlan, batch: RecordBatch, firstRow: number,
                          features: Float32Array, labels: Float32Array, at: number, classes?: number): number {
  copyFeatures(plan, batch, firstRow, features, at);
  return copyLabels(plan, batch, firstRow, labels, at, classes);
}

/** The batch's feature columns into `features` (rows, plan.features.length) from row `at` on, each value checked. */
export function copyFeatures(plan: FeaturePlan, batch: RecordBatch, firstRow: number, features: Float32Array, at: number): void {
  const n = plan.features.length;
  const rows = batch.numRows;
  plan.features.forEach((f, j) => {
    const col = batch.getChildAt(f.index)!;
    const nul = firstNull(col);
    if (nul >= 0) throw new DataError('E_NULL', `${where(plan.file, f.name, firstRow + nul)}: null feature value`);
    const values = numbers(col);
    for (let r = 0; r < rows; r++) {
      const v = values[r]!;
      if (!Number.isFinite(Math.fround(v))) { // a float64 beyond ±3.4e38 becomes ±Infinity in float32
        const why = Number.isFinite(v) ? 'is too large for float32' : '(NaN and ±Infinity cannot be trained on)';
        throw new DataError('E_NOT_FINITE', `${where(plan.file, f.name, firstRow + r)}: feature value ${v} ${why}`);
      }
      features[(at + r) * n + j] = v;
    }
  });
}

/** The batch's labels into `labels` from row `at` on, as class indices; returns the largest. */
export function copyLabels(plan: ColumnPlan, batch: RecordBatch, firstRow: number, labels: Float32Array, at: number,
                           classes?: number): number {
  const rows = batch.numRows;
  const col = batch.getChildAt(plan.label.index)!;
  const nul = firstNull(col);
  if (nul >= 0) throw new DataError('E_NULL_LABEL', `${where(plan.file, plan.label.name, firstRow + nul)}: null label`);
  const values = numbers(col);
  let max = 0;
  for (let r = 0; r < rows; r++) {
    const v = values[r]!;
    if (!Number.isInteger(v) || v < 0 || (classes !== undefined && v >= classes)) {
      const expected = classes !== undefined ? `one of the task's classes 0..${classes - 1}` : 'a class index (an integer >= 0)';
      throw new DataError('E_LABEL_RANGE', `${where(plan.file, plan.label.name, firstRow + r)}: label ${v} is not ${expected}`);
    }
    if (v > max) max = v;
    labels[at + r] = v;
  }
  return max;
}
