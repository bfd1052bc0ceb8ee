import {
  DataType, Precision, util, type Data, type Field, type RecordBatch, type Schema, type Vector,
} from 'apache-arrow';
import { ConfigError, DataError, where } from '../errors.js';
import {
  LABEL_ORDERS, LabelMap, describeLabels, isStringLabelType, type ClassLabel, type LabelOrder,
} from './labels.js';

/**
 * Which columns of a schema are the features and which is the label, and how to copy a record
 * batch of them into row-major float32 features and class-index labels.
 *
 * Feature columns: every integer width (64-bit ones to the nearest double first), float16/32/64,
 * bool (0/1), decimal (to the nearest double), a dictionary of any of these (decoded through the
 * dictionary), and FixedSizeList<any of these>, one feature per element: an embedding column
 * `emb` of size 3 gives the features `emb[0]`, `emb[1]`, `emb[2]`.
 */
export interface FeatureColumn {
  /** The feature's name: its column's, or `emb[3]` for element 3 of a FixedSizeList column `emb`. */
  name: string;
  /** Its column's index in the schema. */
  index: number;
  /** For an element of a FixedSizeList column: its position in the list. */
  element?: number;
}

export interface FeaturePlan {
  file: string;
  /** One entry per feature, in input order: `features.length` is the model's input width. */
  features: FeatureColumn[];
}

/** `string` labels go through `map`; the others are class indices already. */
export type LabelKind = 'int' | 'bool' | 'float' | 'string';

export interface ColumnPlan extends FeaturePlan {
  label: {
    name: string;
    index: number;
    kind: LabelKind;
    /** For string labels: label value ↔ class index. It grows as labels are read unless fixed. */
    map?: LabelMap;
  };
}

/** How string labels map to classes (planColumns, loadDataset). */
export interface LabelOptions {
  /** Class order for string labels (default 'firstSeen'); ignored for numeric labels. */
  labelOrder?: LabelOrder;
  /** A known mapping (a saved model's), `classLabels[i]` the label of class i: others are refused. */
  classLabels?: readonly ClassLabel[];
}

/** A single number per row: integer, float, bool, decimal, or a dictionary of them. */
function isScalarNumber(type: DataType): boolean {
  return DataType.isInt(type) || DataType.isFloat(type) || DataType.isBool(type) || DataType.isDecimal(type)
    || (DataType.isDictionary(type) && isScalarNumber(type.dictionary));
}

/** Columns that can be features: scalar numbers, and FixedSizeLists of them. */
export function isNumeric(type: DataType): boolean {
  return isScalarNumber(type) || (DataType.isFixedSizeList(type) && isScalarNumber(type.valueType));
}

function find(file: string, schema: Schema, name: string, role: 'label' | 'feature'): { field: Field; index: number } {
  const index = schema.fields.findIndex((f) => f.name === name);
  if (index < 0) {
    throw new DataError(role === 'label' ? 'E_NO_LABEL' : 'E_NO_COLUMN',
      `${where(file)}: no ${role} column ${JSON.stringify(name)} (columns: ${schema.fields.map((f) => f.name).join(', ')})`);
  }
  return { field: schema.fields[index]!, index };
}

const ELEMENT = /^(.*)\[(\d+)\]$/;

/** The features one name stands for: a column (all its elements), or one element `emb[3]`. */
function featuresOf(file: string, schema: Schema, name: string): FeatureColumn[] {
  const index = schema.fields.findIndex((f) => f.name === name);
  const m = index < 0 ? ELEMENT.exec(name) : null;
  if (m !== null) {
    const base = schema.fields.findIndex((f) => f.name === m[1]);
    const type = schema.fields[base]?.type;
    if (type !== undefined && DataType.isFixedSizeList(type) && isNumeric(type)) {
      const element = Number(m[2]);
      if (element >= type.listSize) {
        throw new DataError('E_NO_COLUMN', `${where(file, name)}: no such feature, column ${JSON.stringify(m[1])} has ${type.listSize} elements`);
      }
      return [{ name, index: base, element }];
    }
  }
  const { field } = find(file, schema, name, 'feature');
  if (!isNumeric(field.type)) {
    throw new DataError('E_NON_NUMERIC', `${where(file, name)}: feature column has type ${field.type}, not a number`);
  }
  if (DataType.isFixedSizeList(field.type)) {
    return Array.from({ length: field.type.listSize }, (_, element) => ({ name: `${name}[${element}]`, index, element }));
  }
  return [{ name, index }];
}

/**
 * The named features, in that order (a saved model's, when it is applied to new data). A name
 * is a column, or `emb[3]` for one element of a FixedSizeList column, so the feature names
 * a plan gives (`features.map((f) => f.name)`) plan the same features again.
 */
export function planFeatures(file: string, schema: Schema, names: readonly string[]): FeaturePlan {
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new DataError('E_CONFIG', `${where(file, twice)}: feature column named twice`);
  const features = names.flatMap((name) => featuresOf(file, schema, name));
  const seen = new Set<string>();
  for (const f of features) {
    if (seen.has(f.name)) throw new DataError('E_CONFIG', `${where(file, f.name)}: feature named twice (once by its column, once alone)`);
    seen.add(f.name);
  }
  return { file, features };
}

function labelKind(type: DataType): LabelKind | null {
  if (isStringLabelType(type)) return 'string';
  const t = DataType.isDictionary(type) ? type.dictionary : type;
  if (DataType.isInt(t)) return 'int';
  if (DataType.isBool(t)) return 'bool';
  if (DataType.isFloat(t) || DataType.isDecimal(t)) return 'float';
  return null;
}

/** Checks the label options at the boundary. */
function checkLabelOptions(options: LabelOptions): void {
  if (options.labelOrder !== undefined && !LABEL_ORDERS.includes(options.labelOrder)) {
    throw new ConfigError('E_CONFIG', `labelOrder must be one of ${LABEL_ORDERS.join(', ')}, got ${JSON.stringify(options.labelOrder)}`);
  }
  const known = options.classLabels;
  if (known !== undefined) {
    if (!Array.isArray(known) || known.length === 0) throw new ConfigError('E_CONFIG', 'classLabels must be a non-empty array of label values');
    const bad = known.find((l) => typeof l !== 'string' && typeof l !== 'number' && typeof l !== 'boolean');
    if (bad !== undefined) throw new ConfigError('E_CONFIG', `classLabels must hold strings, numbers or booleans, got ${JSON.stringify(bad)}`);
    const twice = known.find((l, i) => known.indexOf(l) !== i);
    if (twice !== undefined) throw new ConfigError('E_CONFIG', `classLabels holds ${JSON.stringify(twice)} twice`);
  }
}

/**
 * The label column and the features: those named, or every other numeric column. String labels
 * get a LabelMap: fixed when `options.classLabels` is given, else growing in `labelOrder`.
 */
export function planColumns(file: string, schema: Schema, label: string, features?: readonly string[],
                            options: LabelOptions = {}): ColumnPlan {
  checkLabelOptions(options);
  const lab = find(file, schema, label, 'label');
  const t = lab.field.type;
  const kind = labelKind(t);
  if (kind === null) {
    throw new DataError('E_LABEL_TYPE', `${where(file, label)}: label column has type ${t} (quiver takes integer, bool, whole-number float or string labels)`);
  }
  const known = options.classLabels;
  let map: LabelMap | undefined;
  if (kind === 'string') {
    if (known !== undefined && known.some((l) => typeof l !== 'string')) {
      throw new DataError('E_LABEL_TYPE', `${where(file, label)}: label column holds strings (${t}), but the classes are ${describeLabels(known)}`);
    }
    map = known !== undefined ? LabelMap.fromLabels(known) : new LabelMap(options.labelOrder ?? 'firstSeen');
  } else if (known !== undefined && known.some((l) => typeof l === 'string')) {
    throw new DataError('E_LABEL_TYPE', `${where(file, label)}: label column has type ${t}, but the classes are strings (${describeLabels(known)})`);
  }
  if (features?.includes(label)) throw new DataError('E_CONFIG', `${where(file, label)}: the label column cannot also be a feature`);
  const names = features ?? schema.fields.filter((f) => f.name !== label && isNumeric(f.type)).map((f) => f.name);
  if (names.length === 0) throw new DataError('E_NO_FEATURES', `${where(file)}: no numeric feature columns besides the label ${JSON.stringify(label)}`);
  const plan = planFeatures(file, schema, names);
  if (plan.features.some((f) => f.index === lab.index)) {
    throw new DataError('E_CONFIG', `${where(file, label)}: the label column cannot also be a feature`);
  }
  return { ...plan, label: { name: label, index: lab.index, kind, ...(map && { map }) } };
}

/** Checks that a later file (the test set) has the training file's features. */
export function checkSameColumns(plan: FeaturePlan, other: FeaturePlan): void {
  const a = plan.features.map((f) => f.name).join(',');
  const b = other.features.map((f) => f.name).join(',');
  if (a !== b) {
    throw new DataError('E_COLUMNS_MISMATCH', `${where(other.file)}: feature columns ${b} differ from the training data's ${a}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding a column to numbers

/**
 * A column's values as numbers: `values` (rows, width) row-major, width 1 but for a
 * FixedSizeList; `nulls[i]` = 1 where value i is null (null when none is).
 */
interface Numbers {
  values: ArrayLike<number>;
  nulls: Uint8Array | null;
  width: number;
}

/** Decoded once per Data, however many features and checks read it (invalidRows, then copy). */
const decoded = new WeakMap<Data, Numbers>();

/** nullFlags once per Data, however many slices of its batch are copied. */
const nullsOf = new WeakMap<Data, Uint8Array | null>();

/** 1 where the value is null; null when the Data has no nulls. */
function nullFlags(d: Data): Uint8Array | null {
  if (d.nullCount <= 0) return null;
  const hit = nullsOf.get(d);
  if (hit !== undefined) return hit;
  const out = new Uint8Array(d.length);
  for (let i = 0; i < d.length; i++) if (!d.getValid(i)) out[i] = 1;
  nullsOf.set(d, out);
  return out;
}

/** Two's-complement little-endian words (stride of them per value) over 10^scale. */
function decimals(words: Uint32Array, rows: number, stride: number, scale: number): Float64Array {
  const out = new Float64Array(rows);
  const p = 10 ** Math.abs(scale);
  const bits = BigInt(32 * stride);
  for (let r = 0; r < rows; r++) {
    const o = r * stride;
    let x: number;
    const hi = stride > 1 ? words[o + 1]! | 0 : 0;
    const ext = hi < 0 ? 0xffffffff : 0;
    let small = stride === 1 || (hi >= -(1 << 21) && hi < (1 << 21));
    for (let k = 2; small && k < stride; k++) small = words[o + k] === ext;
    if (stride === 1) {
      x = words[o]! | 0;
    } else if (small) {
      x = hi * 4294967296 + words[o]!; // |x| < 2^53: exact
    } else {
      let big = 0n;
      for (let k = stride - 1; k >= 0; k--) big = (big << 32n) | BigInt(words[o + k]!);
      x = Number(BigInt.asIntN(Number(bits), big)); // rounds to the nearest double
    }
    out[r] = scale >= 0 ? x / p : x * p;
  }
  return out;
}

function numbersOfData(d: Data): Numbers {
  const hit = decoded.get(d);
  if (hit !== undefined) return hit;
  const t = d.type as DataType;
  const rows = d.length;
  let nulls = nullFlags(d);
  let values: ArrayLike<number>;
  let width = 1;
  if (DataType.isFloat(t)) {
    // Data.values starts at the Data's first row (apache-arrow slices it), bitmaps do not.
    values = t.precision === Precision.HALF ? Float64Array.from(d.values.subarray(0, rows) as Uint16Array, util.uint16ToFloat64) : d.values as Float32Array;
  } else if (DataType.isInt(t)) {
    values = t.bitWidth === 64 ? Float64Array.from(d.values.subarray(0, rows) as BigInt64Array, Number) : d.values as Int32Array;
  } else if (DataType.isBool(t)) {
    const bytes = d.values as Uint8Array;
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) { const b = d.offset + r; out[r] = (bytes[b >> 3]! >> (b & 7)) & 1; }
    values = out;
  } else if (DataType.isDecimal(t)) {
    values = decimals(d.values as Uint32Array, rows, t.bitWidth / 32, t.scale);
  } else if (DataType.isDictionary(t)) {
    const dict = numbersOfVector(d.dictionary!);
    const idx = d.values as ArrayLike<number | bigint>;
    const out = new Float64Array(rows);
    nulls = nulls?.slice() ?? null; // nullFlags' array is shared; this one takes the dictionary's nulls too
    for (let r = 0; r < rows; r++) {
      if (nulls?.[r]) continue;
      const k = Number(idx[r]!);
      out[r] = dict.values[k]!;
      if (dict.nulls?.[k]) (nulls ??= new Uint8Array(rows))[r] = 1;
    }
    values = out;
  } else if (DataType.isFixedSizeList(t)) {
    width = t.listSize;
    const child = numbersOfData(d.children[0]!);
    values = child.values;
    if (nulls !== null || child.nulls !== null) {
      const all = new Uint8Array(rows * width);
      if (child.nulls !== null) all.set(child.nulls.subarray(0, rows * width));
      if (nulls !== null) for (let r = 0; r < rows; r++) if (nulls[r]) all.fill(1, r * width, (r + 1) * width);
      nulls = all;
    } else {
      nulls = null;
    }
  } else {
    throw new TypeError(`not a numeric column type: ${t}`); // planFeatures lets none through
  }
  const result = { values, nulls, width };
  decoded.set(d, result);
  return result;
}

/** A vector of one Data (a record batch's column) or several (a dictionary with deltas). */
function numbersOfVector(v: Vector): Numbers {
  if (v.data.length === 1) return numbersOfData(v.data[0]!);
  const parts = v.data.map(numbersOfData);
  const width = parts[0]?.width ?? 1;
  const values = new Float64Array(v.length * width);
  const nulls = parts.some((p) => p.nulls !== null) ? new Uint8Array(v.length * width) : null;
  let at = 0;
  v.data.forEach((d, i) => {
    const p = parts[i]!;
    const n = d.length * width;
    for (let k = 0; k < n; k++) values[at + k] = p.values[k]!;
    if (nulls !== null && p.nulls !== null) nulls.set(p.nulls.subarray(0, n), at);
    at += n;
  });
  return { values, nulls, width };
}

function column(batch: RecordBatch, index: number): Numbers {
  return numbersOfVector(batch.getChildAt(index)!);
}

/** Features whose float32 value is not finite: NaN, ±Infinity, or beyond ±3.4e38. */
function finite32(v: number): boolean {
  return Number.isFinite(Math.fround(v));
}

// ---------------------------------------------------------------------------------------------
// Row validity and copying

/**
 * Rows that cannot be trained on: 1 where a feature is null, NaN, ±Infinity or too large for
 * float32, or (for a ColumnPlan) the label is null; null when every row is fine. Pass it as
 * `skip` to the copy functions to leave those rows out (`--drop-invalid`).
 */
export function invalidRows(plan: FeaturePlan | ColumnPlan, batch: RecordBatch): Uint8Array | null {
  const rows = batch.numRows;
  let out: Uint8Array | null = null;
  for (const f of plan.features) {
    const { values, nulls, width } = column(batch, f.index);
    const e = f.element ?? 0;
    for (let r = 0; r < rows; r++) {
      const i = r * width + e;
      if (nulls?.[i] || !finite32(values[i]!)) (out ??= new Uint8Array(rows))[r] = 1;
    }
  }
  if ('label' in plan) {
    const nulls = nullFlags(batch.getChildAt(plan.label.index)!.data[0]!);
    if (nulls !== null) for (let r = 0; r < rows; r++) if (nulls[r]) (out ??= new Uint8Array(rows))[r] = 1;
  }
  return out;
}

export interface CopyOptions {
  /**
   * Rows to leave out (1 = skip), as invalidRows gives them; the others are written one after
   * another from row `at`. Those left out are not checked.
   */
  skip?: Uint8Array | null;
  /** Leave out rows with an invalid value instead of throwing E_NULL / E_NOT_FINITE / E_NULL_LABEL (skip = invalidRows). */
  dropInvalid?: boolean;
  /**
   * Only the batch's rows [start, end) (default: all), so that a large record batch can be
   * copied a slice at a time into a small buffer. `skip` still indexes the whole batch.
   */
  start?: number;
  end?: number;
}

export interface LabelCopyOptions extends CopyOptions {
  /** Labels must be class indices in [0, classes). */
  classes?: number;
  /** For string labels; default the plan's own map. */
  labelMap?: LabelMap;
}

function skipOf(plan: FeaturePlan | ColumnPlan, batch: RecordBatch, options: CopyOptions): Uint8Array | null {
  if (options.skip !== undefined) return options.skip;
  return options.dropInvalid ? invalidRows(plan, batch) : null;
}

/** What a copy did. */
export interface CopyResult {
  /** Rows written. */
  rows: number;
  /** Rows left out (skip). */
  dropped: number;
  /** The largest class index written (0 when none). */
  maxLabel: number;
}

/**
 * Copies the batch's rows into features (row-major, from row `at` on) and labels. `firstRow` is
 * the batch's first row in the file, for messages. Labels must be class indices in [0, classes)
 * when `classes` is given; returns the largest label seen. With `dropInvalid`, use copyRows,
 * which also says how many rows it wrote.
 */
export function copyBatch(plan: ColumnPlan, batch: RecordBatch, firstRow: number,
                          features: Float32Array, labels: Float32Array, at: number,
                          classes?: number | LabelCopyOptions): number {
  return copyRows(plan, batch, firstRow, features, labels, at, typeof classes === 'number' ? { classes } : classes).maxLabel;
}

/** copyBatch, saying how many rows it wrote and left out. */
export function copyRows(plan: ColumnPlan, batch: RecordBatch, firstRow: number,
                         features: Float32Array, labels: Float32Array, at: number,
                         options: LabelCopyOptions = {}): CopyResult {
  const skip = skipOf(plan, batch, options);
  const range = { ...(options.start !== undefined && { start: options.start }), ...(options.end !== undefined && { end: options.end }) };
  const rows = copyFeatures(plan, batch, firstRow, features, at, { skip, ...range });
  const maxLabel = copyLabels(plan, batch, firstRow, labels, at, { ...options, skip });
  return { rows, dropped: (options.end ?? batch.numRows) - (options.start ?? 0) - rows, maxLabel };
}

/**
 * The batch rows a copy takes, in order: output row k comes from batch row `src[k]`, or
 * `start + k` when no row is skipped (src null).
 */
interface Taken {
  start: number;
  count: number;
  src: Int32Array | null;
}

function taken(batch: RecordBatch, skip: Uint8Array | null, options: CopyOptions): Taken {
  const start = options.start ?? 0;
  const end = options.end ?? batch.numRows;
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= batch.numRows)) {
    throw new RangeError(`rows [${start}, ${end}) are not within the batch's ${batch.numRows}`);
  }
  if (skip === null) return { start, count: end - start, src: null };
  let count = 0;
  for (let r = start; r < end; r++) if (!skip[r]) count++;
  const src = new Int32Array(count);
  for (let r = start, k = 0; r < end; r++) if (!skip[r]) src[k++] = r;
  return { start, count, src };
}

/**
 * The batch's features into `features` (rows, plan.features.length) from row `at` on, each value
 * checked; returns the number of rows written (fewer than the batch's with `skip`).
 */
export function copyFeatures(plan: FeaturePlan, batch: RecordBatch, firstRow: number, features: Float32Array, at: number,
                             options: CopyOptions = {}): number {
  const rows = taken(batch, skipOf(plan, batch, options), options);
  if (!copyUnchecked(plan, batch, features, at, rows)) checkedCopy(plan, batch, firstRow, features, at, rows);
  return rows.count;
}

/** Rows per tile of copyUnchecked: the tile's output rows (TILE × inputs floats) stay in L2. */
const TILE = 256;

/**
 * The fast path of copyFeatures: column by column, a tile of rows at a time (a transpose, so
 * the strided writes land in a block that stays in cache), summing value × 0 on the way: that
 * is 0 unless a value is NaN or ±Infinity as float32 (which takes in a float64 too large for
 * float32). Returns false, having written some rows, at a null or such a value: checkedCopy then
 * finds the first and names it.
 */
function copyUnchecked(plan: FeaturePlan, batch: RecordBatch, features: Float32Array, at: number, rows: Taken): boolean {
  const n = plan.features.length;
  const { start, count, src } = rows;
  const cols = plan.features.map((f) => column(batch, f.index));
  for (let j = 0; j < n; j++) {
    const { nulls, width } = cols[j]!;
    if (nulls === null) continue;
    const e = plan.features[j]!.element ?? 0;
    for (let k = 0; k < count; k++) if (nulls[(src === null ? start + k : src[k]!) * width + e]) return false;
  }
  let zero = 0;
  for (let k0 = 0; k0 < count; k0 += TILE) {
    const k1 = Math.min(count, k0 + TILE);
    for (let j = 0; j < n; j++) {
      const { values, width } = cols[j]!;
      const e = plan.features[j]!.element ?? 0;
      // One loop per array type keeps each loop's element access monomorphic (V8 slows to a
      // crawl on a loop that has seen five kinds of typed array).
      if (values instanceof Float32Array) zero += gatherF32(features, values, src, start, at, n, j, width, e, k0, k1);
      else if (values instanceof Float64Array) zero += gatherF64(features, values, src, start, at, n, j, width, e, k0, k1);
      else zero += gatherAny(features, values, src, start, at, n, j, width, e, k0, k1);
    }
  }
  return zero === 0;
}

/**
 * out[(at + k) n + j] = values[r width + e] for k in [k0, k1), r = src[k] (src null: start + k);
 * returns the sum of the values × 0, NaN if one is not finite.
 */
function gatherF32(out: Float32Array, values: Float32Array, src: Int32Array | null, start: number, at: number, n: number,
                   j: number, width: number, e: number, k0: number, k1: number): number {
  let zero = 0;
  if (src === null && width === 1) { // the common case: a plain float32 column, every row
    for (let k = k0, o = (at + k0) * n + j; k < k1; k++, o += n) {
      const v = values[start + k]!;
      out[o] = v;
      zero += v * 0;
    }
    return zero;
  }
  for (let k = k0; k < k1; k++) {
    const v = values[(src === null ? start + k : src[k]!) * width + e]!;
    out[(at + k) * n + j] = v;
    zero += v * 0;
  }
  return zero;
}

function gatherF64(out: Float32Array, values: Float64Array, src: Int32Array | null, start: number, at: number, n: number,
                   j: number, width: number, e: number, k0: number, k1: number): number {
  let zero = 0;
  for (let k = k0; k < k1; k++) {
    const v = Math.fround(values[(src === null ? start + k : src[k]!) * width + e]!);
    out[(at + k) * n + j] = v;
    zero += v * 0;
  }
  return zero;
}

function gatherAny(out: Float32Array, values: ArrayLike<number>, src: Int32Array | null, start: number, at: number, n: number,
                   j: number, width: number, e: number, k0: number, k1: number): number {
  let zero = 0;
  for (let k = k0; k < k1; k++) {
    const v = Math.fround(values[(src === null ? start + k : src[k]!) * width + e]!);
    out[(at + k) * n + j] = v;
    zero += v * 0;
  }
  return zero;
}

/** The copy with every value checked, in column order: throws at the first null or non-finite value. */
function checkedCopy(plan: FeaturePlan, batch: RecordBatch, firstRow: number, features: Float32Array, at: number,
                     rows: Taken): void {
  const n = plan.features.length;
  const { start, count, src } = rows;
  plan.features.forEach((f, j) => {
    const { values, nulls, width } = column(batch, f.index);
    const e = f.element ?? 0;
    for (let to = 0; to < count; to++) {
      const r = src === null ? start + to : src[to]!;
      const i = r * width + e;
      const v = values[i]!;
      if (nulls !== null && nulls[i]) throw new DataError('E_NULL', `${where(plan.file, f.name, firstRow + r)}: null feature value`);
      if (!finite32(v)) { // a float64 beyond ±3.4e38 becomes ±Infinity in float32
        const why = Number.isFinite(v) ? 'is too large for float32' : '(NaN and ±Infinity cannot be trained on)';
        throw new DataError('E_NOT_FINITE', `${where(plan.file, f.name, firstRow + r)}: feature value ${v} ${why}`);
      }
      features[(at + to) * n + j] = v;
    }
  });
}

/**
 * The batch's labels into `labels` from row `at` on, as class indices; returns the largest.
 * String labels go through `labelMap` (default the plan's), which gives new labels the next
 * index unless it is fixed.
 */
export function copyLabels(plan: ColumnPlan, batch: RecordBatch, firstRow: number, labels: Float32Array, at: number,
                           classes?: number | LabelCopyOptions): number {
  const options: LabelCopyOptions = typeof classes === 'number' ? { classes } : classes ?? {};
  const max = options.classes;
  const { start, count, src } = taken(batch, skipOf(plan, batch, options), options);
  const name = plan.label.name;
  const vector = batch.getChildAt(plan.label.index)!;
  const nulls = vector.data.length === 1 ? nullFlags(vector.data[0]!) : null;
  const isNull = (r: number): boolean => (nulls !== null ? nulls[r] === 1 : !vector.isValid(r));
  const nullLabel = (r: number): DataError => new DataError('E_NULL_LABEL', `${where(plan.file, name, firstRow + r)}: null label`);
  let largest = 0;
  if (plan.label.kind === 'string') {
    const map = options.labelMap ?? plan.label.map;
    if (map === undefined) throw new TypeError('string labels need a LabelMap (planColumns gives the plan one)');
    // A dictionary column (Polars' Categorical) looks each dictionary entry up once.
    const d = vector.data[0]!;
    const dict = vector.data.length === 1 && DataType.isDictionary(vector.type) ? d.dictionary! : null;
    const indices = dict !== null ? d.values as ArrayLike<number | bigint> : null;
    const memo = dict !== null ? new Int32Array(dict.length).fill(-2) : null;
    for (let to = 0; to < count; to++) {
      const r = src === null ? start + to : src[to]!;
      if (isNull(r)) throw nullLabel(r);
      let c: number;
      let value: string | null = null;
      if (memo !== null) {
        const k = Number(indices![r]!);
        c = memo[k]!;
        if (c === -2) {
          const raw = dict!.get(k) as unknown;
          if (raw === null) throw nullLabel(r);
          c = memo[k] = map.classOf(value = String(raw));
        }
      } else {
        c = map.classOf(value = String(vector.get(r)));
      }
      if (c < 0 || (max !== undefined && c >= max)) value ??= String(vector.get(r));
      if (c < 0) {
        throw new DataError('E_LABEL_RANGE', `${where(plan.file, name, firstRow + r)}: label ${JSON.stringify(value)} is not one of the classes ${describeLabels(map.labels)}`);
      }
      if (max !== undefined && c >= max) {
        throw new DataError('E_LABEL_RANGE', `${where(plan.file, name, firstRow + r)}: label ${JSON.stringify(value)} would be class ${c}, beyond the task's classes 0..${max - 1}`);
      }
      if (c > largest) largest = c;
      labels[at + to] = c;
    }
    return largest;
  }
  const { values } = column(batch, plan.label.index);
  for (let to = 0; to < count; to++) {
    const r = src === null ? start + to : src[to]!;
    if (isNull(r)) throw nullLabel(r);
    const v = values[r]!;
    if (!Number.isInteger(v) || v < 0 || (max !== undefined && v >= max)) {
      const expected = max !== undefined ? `one of the task's classes 0..${max - 1}` : 'a class index (an integer >= 0)';
      throw new DataError('E_LABEL_RANGE', `${where(plan.file, name, firstRow + r)}: label ${v} is not ${expected}`);
    }
    if (v > largest) largest = v;
    labels[at + to] = v;
  }
  return largest;
}

/**
 * Adds the batch's string labels to `map` (default the plan's) without copying anything: a
 * first pass over a stream, to know every class before training (then `map.sort()` for order
 * 'sorted', and `map.freeze()`). Null labels are passed over.
 */
export function collectLabels(plan: ColumnPlan, batch: RecordBatch, map: LabelMap | undefined = plan.label.map): void {
  if (plan.label.kind !== 'string' || map === undefined) return;
  const vector = batch.getChildAt(plan.label.index)!;
  for (let r = 0; r < batch.numRows; r++) if (vector.isValid(r)) map.classOf(String(vector.get(r)));
}
