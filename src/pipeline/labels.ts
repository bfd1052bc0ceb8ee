/**
 * String labels ("cat", "dog") as class indices. Integer, bool and whole-number float labels are
 * class indices already (value = index); only string columns go through a LabelMap.
 *
 * The mapping is plain data, the label values in class order (`labels[i]` is class i), so
 * model.json stores it and prediction maps indices back to the original values.
 *
 * @example
 * const map = new LabelMap('sorted');
 * map.classOf('dog'); map.classOf('cat');  // 0, 1 while reading
 * const remap = map.sort();                // ['cat', 'dog']; remap[0] = 1, remap[1] = 0
 */
import { DataType } from 'apache-arrow';

/** A class's original label value, as saved in model.json. */
export type ClassLabel = number | boolean | string;

/**
 * `firstSeen` (the default): classes in the order their labels first appear in the data, as
 * pandas' `factorize` numbers them. `sorted`: in code-unit order of the strings, as
 * scikit-learn's LabelEncoder does, so the same labels give the same indices whatever the row
 * order.
 */
export type LabelOrder = 'firstSeen' | 'sorted';

export const LABEL_ORDERS: readonly LabelOrder[] = ['firstSeen', 'sorted'];

/** Utf8, LargeUtf8 and Utf8View (what Polars writes); dictionaries of them are handled by the caller. */
export function isStringType(type: DataType): boolean {
  return DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isUtf8View(type);
}

/** A string label column, plain or dictionary-encoded. */
export function isStringLabelType(type: DataType): boolean {
  return isStringType(type) || (DataType.isDictionary(type) && isStringType(type.dictionary));
}

export class LabelMap {
  private readonly index = new Map<string, number>();
  private values: string[] = [];
  private frozen = false;

  constructor(readonly order: LabelOrder = 'firstSeen') {}

  /**
   * A fixed mapping, a saved model's: `labels[i]` is class i, and a label not in it has no class
   * (classOf gives -1).
   */
  static fromLabels(labels: readonly ClassLabel[]): LabelMap {
    const map = new LabelMap();
    for (const l of labels) map.classOf(String(l));
    map.frozen = true;
    return map;
  }

  /** Whether new labels are refused (a known mapping) rather than given the next index. */
  get fixed(): boolean { return this.frozen; }

  get size(): number { return this.values.length; }

  /** The labels in class order: the serialisable mapping. */
  get labels(): string[] { return this.values.slice(); }

  /** The class index of `value`: a new one for a label not seen before, or -1 when the map is fixed. */
  classOf(value: string): number {
    const known = this.index.get(value);
    if (known !== undefined) return known;
    if (this.frozen) return -1;
    const i = this.values.length;
    this.index.set(value, i);
    this.values.push(value);
    return i;
  }

  /** Whether `value` already has a class. */
  has(value: string): boolean { return this.index.has(value); }

  /**
   * For order `sorted`: puts the labels in code-unit order and returns `remap`, where a label
   * that had index i now has index remap[i] (indices handed out while reading are first-seen
   * ones). Returns null, changing nothing, for order `firstSeen` or a fixed map.
   */
  sort(): Int32Array | null {
    if (this.order !== 'sorted' || this.frozen) return null;
    const sorted = this.values.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    sorted.forEach((v, i) => this.index.set(v, i));
    const remap = Int32Array.from(this.values, (v) => this.index.get(v)!);
    this.values = sorted;
    return remap;
  }

  /** Refuses new labels from now on (after a pass that found them all). */
  freeze(): this {
    this.frozen = true;
    return this;
  }
}

/** A few of the labels, quoted, for messages: `"cat", "dog", … (12 classes)`. */
export function describeLabels(labels: readonly ClassLabel[], max = 8): string {
  const shown = labels.slice(0, max).map((l) => JSON.stringify(l)).join(', ');
  return labels.length > max ? `${shown}, … (${labels.length} classes)` : shown;
}
