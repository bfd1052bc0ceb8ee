/**
 * A model applied to Arrow record batches: each batch comes out with the kept input columns and
 * the model's answer appended, as a data job wants to write it back.
 *
 * - `prediction`: the class's own label value (`model.info.classLabels`): Int32 for whole
 *   numbers, Float64 for other numbers, Utf8 for strings, Bool for bools; the class index
 *   (Int32) when the model knows no labels.
 * - two classes: `probability` (Float32), P(class 1) = σ(z);
 *   K ≥ 3 classes: `probability_<label>` (Float32) per class, softmax(z), in class order.
 *
 * Features are found by the model's feature names, wherever they sit in the batch; the model
 * standardizes them itself when `model.info.standardize` is set (Model.predictLogits).
 */
import { Bool, Field, Float32, Float64, Int32, makeData, RecordBatch, Schema, Struct, Utf8, vectorFromArray,
  type Data, type DataType } from 'apache-arrow';
import { defer, map, type OperatorFunction } from 'rxjs';
import { ConfigError, DataError, ModelFileError, where } from '../errors.js';
import type { Model, ModelInfo } from '../nn/model.js';
import { classesOfLogits, probabilitiesOfLogits } from '../nn/outputs.js';
import { copyFeatures, planFeatures, type FeaturePlan } from './columns.js';

export { classesOfLogits, probabilitiesOfLogits } from '../nn/outputs.js';

/** A class's original label value, as model.json keeps it. */
export type ClassLabel = NonNullable<ModelInfo['classLabels']>[number];

export interface PredictOptions {
  /** Input columns carried over to the output, in this order (default: all, in the input's order). */
  keep?: readonly string[];
  /** Names the data in error messages (default: the source's file, or "<record batches>"). */
  file?: string;
}

/** The name under which batches with no file are reported. */
const NO_FILE = '<record batches>';

function modelFileError(message: string): ModelFileError {
  return new ModelFileError('E_MODEL_FILE', `model: ${message}`);
}

/** Number of classes: one logit means two. */
export function classCount(model: Model): number {
  return model.outputs === 1 ? 2 : model.outputs;
}

/** The label of each class index, checked against the model: classLabels, or 0..K-1 when it has none. */
export function classLabelsOf(model: Model): ClassLabel[] {
  const k = classCount(model);
  const labels = model.info.classLabels;
  if (labels === undefined) return Array.from({ length: k }, (_, i) => i);
  if (labels.length !== k) throw modelFileError(`classLabels has ${labels.length} labels, the network has ${k} classes`);
  const kinds = new Set(labels.map((l) => typeof l));
  if (kinds.size !== 1 || !['number', 'string', 'boolean'].includes([...kinds][0]!)) {
    throw modelFileError(`classLabels mixes or has unknown kinds of value (${JSON.stringify(labels)})`);
  }
  if (new Set(labels).size !== k) throw modelFileError(`classLabels names a class twice (${JSON.stringify(labels)})`);
  return labels;
}

/** The feature columns the model reads, checked against its input width. */
export function featureNamesOf(model: Model): string[] {
  const names = model.info.features;
  if (names === undefined) throw new ConfigError('E_CONFIG', 'model: no feature names (model.info.features), so its input columns cannot be found');
  if (names.length !== model.spec.inputs) throw modelFileError(`${names.length} feature names for ${model.spec.inputs} inputs`);
  return names;
}

/** The Arrow type of the prediction column, and how to build it from class indices. */
function predictionColumn(labels: ClassLabel[], known: boolean): { type: DataType; build(classes: Int32Array): Data } {
  const int32 = (values: Int32Array): Data => makeData({ type: new Int32(), length: values.length, nullCount: 0, data: values });
  if (!known) return { type: new Int32(), build: int32 };
  const first = labels[0]!;
  if (typeof first === 'number') {
    const nums = labels as number[];
    if (nums.every((v) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31)) {
      return { type: new Int32(), build: (c) => int32(c.map((i) => nums[i]!)) };
    }
    return {
      type: new Float64(),
      build: (c) => makeData({ type: new Float64(), length: c.length, nullCount: 0, data: Float64Array.from(c, (i) => nums[i]!) }),
    };
  }
  const type = typeof first === 'string' ? new Utf8() : new Bool();
  return { type, build: (c) => vectorFromArray(Array.from(c, (i) => labels[i]!), type).data[0]! };
}

/** How one input schema becomes the output: which columns to copy, and the output schema. */
interface OutputPlan {
  input: Schema;
  features: FeaturePlan;
  keep: number[];
  schema: Schema;
}

/** "name:type:nullable" per field: two schemas that agree on it write the same columns. */
function signature(schema: Schema): string {
  return schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`).join(',');
}

/**
 * Turns record batches into prediction batches one at a time, counting rows so that errors name
 * the row in the whole input. Every output batch has the first one's schema, as an Arrow
 * writer requires: a batch whose columns differ is an error (E_SCHEMA_CHANGED).
 */
export class Predictor {
  /** Rows predicted so far. */
  rows = 0;
  readonly file: string;
  readonly classLabels: ClassLabel[];
  private readonly featureNames: string[];
  private readonly prediction: ReturnType<typeof predictionColumn>;
  private readonly probabilityNames: string[];
  private plan: OutputPlan | undefined;

  constructor(readonly model: Model, private readonly options: PredictOptions = {}) {
    this.file = options.file ?? NO_FILE;
    this.featureNames = featureNamesOf(model);
    this.classLabels = classLabelsOf(model);
    this.prediction = predictionColumn(this.classLabels, model.info.classLabels !== undefined);
    this.probabilityNames = this.classLabels.length === 2 ? ['probability'] : this.classLabels.map((l) => `probability_${String(l)}`);
  }

  /** The output schema for batches of this input schema (throws for a missing column, as predict would). */
  schemaFor(input: Schema): Schema {
    return this.planFor(input).schema;
  }

  /** The batch's kept columns plus prediction and probabilities; `rows` moves on by its rows. */
  predict(batch: RecordBatch): RecordBatch {
    const plan = this.planFor(batch.schema);
    const rows = batch.numRows;
    const n = this.featureNames.length;
    const x = new Float32Array(rows * n);
    copyFeatures(plan.features, batch, this.rows, x, 0);
    const k = this.model.outputs;
    const logits = this.model.predictLogits(x, rows);
    const classes = classesOfLogits(logits, rows, k);
    const p = probabilitiesOfLogits(logits, rows, k);
    const children: Data[] = plan.keep.map((i) => batch.data.children[i]!);
    children.push(this.prediction.build(classes));
    const float32 = (values: Float32Array): Data => makeData({ type: new Float32(), length: rows, nullCount: 0, data: values });
    if (k === 1) {
      children.push(float32(p));
    } else {
      // Two classes from a two-way softmax still give one column, P(class 1).
      for (let j = this.classLabels.length === 2 ? 1 : 0; j < k; j++) {
        const column = new Float32Array(rows);
        for (let r = 0; r < rows; r++) column[r] = p[r * k + j]!;
        children.push(float32(column));
      }
    }
    this.rows += rows;
    return new RecordBatch(plan.schema, makeData({ type: new Struct(plan.schema.fields), length: rows, nullCount: 0, children }));
  }

  private planFor(input: Schema): OutputPlan {
    if (this.plan !== undefined && this.plan.input === input) return this.plan;
    const plan = this.newPlan(input);
    if (this.plan === undefined) return (this.plan = plan);
    // Each record batch may carry its own Schema object; only a change of columns is an error.
    if (signature(plan.schema) !== signature(this.plan.schema)) {
      throw new DataError('E_SCHEMA_CHANGED', `${where(this.file, undefined, this.rows)}: the record batch's columns (${signature(input)}) differ from the first batch's (${signature(this.plan.input)})`);
    }
    return (this.plan = { ...plan, schema: this.plan.schema });
  }

  private newPlan(input: Schema): OutputPlan {
    const features = planFeatures(this.file, input, this.featureNames);
    const names = input.fields.map((f) => f.name);
    const keepNames = this.options.keep ?? names;
    const keep = keepNames.map((name) => {
      const i = names.indexOf(name);
      if (i < 0) throw new DataError('E_NO_COLUMN', `${where(this.file)}: no column ${JSON.stringify(name)} to keep (columns: ${names.join(', ')})`);
      return i;
    });
    const twice = keepNames.find((name, i) => keepNames.indexOf(name) !== i);
    if (twice !== undefined) throw new ConfigError('E_CONFIG', `${where(this.file, twice)}: column named twice in keep`);
    const added = ['prediction', ...this.probabilityNames];
    const clash = keepNames.find((name) => added.includes(name));
    if (clash !== undefined) {
      throw new ConfigError('E_CONFIG', `${where(this.file, clash)}: the input already has a column of that name, which the predictions would repeat; leave it out of keep (--keep)`);
    }
    const fields: Field[] = keep.map((i) => input.fields[i]!);
    fields.push(new Field('prediction', this.prediction.type, false));
    for (const name of this.probabilityNames) fields.push(new Field(name, new Float32(), false));
    // The input's schema metadata is left behind: it describes the input's columns (pandas
    // writes its index and dtypes there), which the output no longer has. Fields keep theirs.
    return { input, features, keep, schema: new Schema(fields) };
  }
}

/**
 * RxJS operator: each record batch to its prediction batch (kept columns + prediction +
 * probabilities), one out for one in, in order. Errors (a missing feature column, a NaN) name
 * the row counted over all batches of one subscription.
 *
 * @example
 * import { from, lastValueFrom, toArray } from 'rxjs';
 * import { tableFromIPC } from 'apache-arrow';
 * import { readFileSync } from 'node:fs';
 * const model = await loadModel('out/seed');
 * const input = tableFromIPC(readFileSync('data/seed-test.arrow'));
 * const out = await lastValueFrom(from(input.batches).pipe(predictBatches(model, { keep: ['label'] }), toArray()));
 * console.log(out[0].getChild('probability')?.get(0));
 */
export function predictBatches(model: Model, options: PredictOptions = {}): OperatorFunction<RecordBatch, RecordBatch> {
  new Predictor(model, options); // checks the model and options once, when the operator is made
  // defer: a Predictor per subscription, so that each counts its own rows.
  return (source) => defer(() => {
    const predictor = new Predictor(model, options);
    return source.pipe(map((batch) => predictor.predict(batch)));
  });
}

/**
 * Predicts a source batch by batch, pulling the next batch only when `onBatch` has finished
 * with the last (so a slow writer holds the reader back). Returns the rows and batches seen.
 */
export async function predictSource(model: Model, source: { file?: string; batches: AsyncIterable<RecordBatch> },
                                    onBatch: (out: RecordBatch) => void | Promise<void>,
                                    options: PredictOptions = {}): Promise<{ rows: number; batches: number }> {
  const file = options.file ?? source.file;
  const predictor = new Predictor(model, { ...options, ...(file !== undefined && { file }) });
  let batches = 0;
  for await (const batch of source.batches) {
    await onBatch(predictor.predict(batch));
    batches++;
  }
  return { rows: predictor.rows, batches };
}
