/**
 * Classification metrics accumulated batch by batch: mean cross-entropy, accuracy, per-class
 * precision, recall and F1 with their macro averages, the confusion matrix, and for two classes
 * the exact ROC AUC. Definitions follow scikit-learn's (`precision_recall_fscore_support`,
 * `roc_auc_score`, `confusion_matrix`), including 0 where a ratio is 0/0 (its zero_division=0).
 *
 * Everything but the AUC is a fixed set of sums. The AUC ranks every score, so for two classes
 * one float32 score per row is kept (4 bytes a row).
 *
 * @example
 * const m = new Metrics(2);
 * m.add(Float32Array.of(2, -1, 0.5), Float32Array.of(1, 0, 0), 3);
 * m.result(); // { rows: 3, accuracy: 0.667, auc: 1, confusion: [[1, 1], [0, 1]], ... }
 */
import assert from 'node:assert/strict';
import { DataType, type RecordBatch, type Schema, type Vector } from 'apache-arrow';
import { DataError, where } from '../errors.js';
import { binaryCrossentropyForward, sparseCategoricalCrossentropyForward } from '../kernels/loss.js';
import type { Model } from '../nn/model.js';
import { copyFeatures, planFeatures, type FeaturePlan } from '../pipeline/columns.js';
import { classesOfLogits, classLabelsOf, featureNamesOf, type ClassLabel } from '../pipeline/predict.js';

export interface EvaluateResult {
  rows: number;
  /** Mean cross-entropy of the labels under the model's probabilities (natural log). */
  loss: number;
  accuracy: number;
  /** Macro averages: the unweighted mean over classes of perClass (scikit-learn's average='macro'). */
  precision: number;
  recall: number;
  f1: number;
  perClass: { precision: number[]; recall: number[]; f1: number[]; support: number[] };
  /** ROC AUC, two classes only; null when the labels hold only one class (it is undefined then). */
  auc?: number | null;
  /** (classes, classes): row = true class, column = predicted class, as scikit-learn's. */
  confusion: number[][];
}

/** A float32 array that grows by doubling. */
class Scores {
  private data = new Float32Array(1024);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const grown = new Float32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = v;
  }

  values(): Float32Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * ROC AUC from the scores of the positive and the negative rows: the probability that a random
 * positive outscores a random negative, ties counting one half. This is the Mann–Whitney U
 * statistic over n₁·n₀ (Hanley & McNeil 1982), equal to the trapezoid area under the ROC curve
 * with tied scores as one point. Sorts both arrays in place; O(n log n). NaN for an empty side.
 */
export function rocAuc(positives: Float32Array, negatives: Float32Array): number {
  const n1 = positives.length;
  const n0 = negatives.length;
  if (n1 === 0 || n0 === 0) return NaN;
  positives.sort();
  negatives.sort();
  // Σ over positives of (#negatives below) + (#negatives at or below): twice U, in integers.
  let twiceU = 0;
  let below = 0;
  let atOrBelow = 0;
  for (let i = 0; i < n1; i++) {
    const p = positives[i]!;
    while (below < n0 && negatives[below]! < p) below++;
    if (atOrBelow < below) atOrBelow = below;
    while (atOrBelow < n0 && negatives[atOrBelow]! <= p) atOrBelow++;
    twiceU += below + atOrBelow;
  }
  return twiceU / (2 * n1 * n0);
}

export class Metrics {
  private rows = 0;
  private lossSum = 0;
  /** (classes, classes) counts, row-major: [true][predicted]. */
  private readonly counts: Float64Array;
  private readonly positives = new Scores();
  private readonly negatives = new Scores();

  /**
   * `outputs`: logits per row, 1 for two classes (P(class 1) = σ(z), as quiver's models have)
   * or `classes` (softmax).
   */
  constructor(readonly classes: number, readonly outputs = classes === 2 ? 1 : classes) {
    assert.ok(outputs === classes || (classes === 2 && outputs === 1), `${outputs} logits for ${classes} classes`);
    this.counts = new Float64Array(classes * classes);
  }

  /** Adds m rows: logits (m, outputs) and labels (m), class indices in [0, classes). */
  add(logits: Float32Array, labels: Float32Array, m: number): void {
    const k = this.outputs;
    this.lossSum += k === 1 ? binaryCrossentropyForward(logits, labels, m) : sparseCategoricalCrossentropyForward(logits, labels, m, k);
    const predicted = classesOfLogits(logits, m, k);
    for (let r = 0; r < m; r++) {
      const y = labels[r]!;
      this.counts[y * this.classes + predicted[r]!]!++;
      if (this.classes !== 2) continue;
      // Scores that rank rows as P(class 1) does, without float32 σ's ties near 0 and 1:
      // z, or z₁ − z₀ for a two-way softmax.
      const score = k === 1 ? logits[r]! : logits[2 * r + 1]! - logits[2 * r]!;
      (y === 1 ? this.positives : this.negatives).push(score);
    }
    this.rows += m;
  }

  result(): EvaluateResult {
    const k = this.classes;
    const cell = (t: number, p: number): number => this.counts[t * k + p]!;
    const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
    const confusion = Array.from({ length: k }, (_, t) => Array.from({ length: k }, (_, p) => cell(t, p)));
    const support = confusion.map((row) => row.reduce((s, v) => s + v, 0));
    const predictedAs = Array.from({ length: k }, (_, p) => confusion.reduce((s, row) => s + row[p]!, 0));
    const precision = predictedAs.map((n, c) => ratio(cell(c, c), n));
    const recall = support.map((n, c) => ratio(cell(c, c), n));
    const f1 = precision.map((p, c) => ratio(2 * p * recall[c]!, p + recall[c]!));
    const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
    let correct = 0;
    for (let c = 0; c < k; c++) correct += cell(c, c);
    const out: EvaluateResult = {
      rows: this.rows,
      loss: this.lossSum / this.rows,
      accuracy: correct / this.rows,
      precision: mean(precision), recall: mean(recall), f1: mean(f1),
      perClass: { precision, recall, f1, support },
      confusion,
    };
    if (k === 2) {
      const auc = rocAuc(this.positives.values(), this.negatives.values());
      out.auc = Number.isNaN(auc) ? null : auc;
    }
    return out;
  }
}

/** Map key of a label value: bools as 0/1, so that bool labels meet the 0, 1 that train saves. */
function labelKey(v: unknown): unknown {
  return typeof v === 'boolean' || typeof v === 'bigint' ? Number(v) : v;
}

function showLabel(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** The label column's index in a schema, checked to hold values a class label can be. */
function findLabel(file: string, schema: Schema, name: string): number {
  const index = schema.fields.findIndex((f) => f.name === name);
  if (index < 0) {
    throw new DataError('E_NO_LABEL', `${where(file)}: no label column ${JSON.stringify(name)} (columns: ${schema.fields.map((f) => f.name).join(', ')})`);
  }
  const t = schema.fields[index]!.type;
  const value = DataType.isDictionary(t) ? t.dictionary : t;
  if (!(DataType.isInt(value) || DataType.isFloat(value) || DataType.isBool(value) || DataType.isUtf8(value) || DataType.isLargeUtf8(value))) {
    throw new DataError('E_LABEL_TYPE', `${where(file, name)}: label column has type ${t} (labels are integers, floats, bools or strings)`);
  }
  return index;
}

/** The column's labels as class indices into `out`; a label not among the model's classes is an error. */
function copyClassIndices(file: string, name: string, col: Vector, classOf: Map<unknown, number>, labels: ClassLabel[],
                          firstRow: number, out: Float32Array): void {
  for (let r = 0; r < col.length; r++) {
    const v = col.get(r) as unknown;
    if (v === null || v === undefined) throw new DataError('E_NULL_LABEL', `${where(file, name, firstRow + r)}: null label`);
    const c = classOf.get(labelKey(v));
    if (c === undefined) {
      const shown = labels.length <= 20 ? labels.map(showLabel).join(', ') : `${labels.slice(0, 20).map(showLabel).join(', ')}, …`;
      throw new DataError('E_LABEL_RANGE', `${where(file, name, firstRow + r)}: label ${showLabel(v)} is not one of the model's classes ${shown}`);
    }
    out[r] = c;
  }
}

export interface EvaluateOptions {
  /** The label column (default: the model's, else "label"). */
  label?: string;
  /** Names the data in error messages (default: the source's file, or "<record batches>"). */
  file?: string;
}

/**
 * The model's metrics over a source of record batches, read one batch at a time. Labels are
 * matched to the model's classes by value (`model.info.classLabels`, else 0..K-1).
 */
export async function evaluateSource(model: Model, source: { file?: string; schema?: Schema; batches: AsyncIterable<RecordBatch> },
                                     options: EvaluateOptions = {}): Promise<EvaluateResult> {
  const file = options.file ?? source.file ?? '<record batches>';
  const label = options.label ?? model.info.label ?? 'label';
  const featureNames = featureNamesOf(model);
  const labels = classLabelsOf(model);
  const classOf = new Map(labels.map((l, i) => [labelKey(l), i] as const));
  const metrics = new Metrics(labels.length, model.outputs);
  let planned: { schema: Schema; features: FeaturePlan; label: number } | undefined;
  const plan = (schema: Schema): NonNullable<typeof planned> => {
    if (planned?.schema !== schema) {
      planned = { schema, features: planFeatures(file, schema, featureNames), label: findLabel(file, schema, label) };
    }
    return planned;
  };
  // The columns are checked before any batch is read, where the schema is known.
  if (source.schema !== undefined) plan(source.schema);
  let rows = 0;
  for await (const batch of source.batches) {
    const p = plan(batch.schema);
    const m = batch.numRows;
    const x = new Float32Array(m * featureNames.length);
    copyFeatures(p.features, batch, rows, x, 0);
    const y = new Float32Array(m);
    copyClassIndices(file, label, batch.getChildAt(p.label)!, classOf, labels, rows, y);
    metrics.add(model.predictLogits(x, m), y, m);
    rows += m;
  }
  if (rows === 0) throw new DataError('E_NO_ROWS', `${where(file)}: has no rows`);
  return metrics.result();
}
