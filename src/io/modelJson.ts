/**
 * `model.json`: what a saved model is and what it was trained on, and the check that runs on
 * every load. Anything a hand edit, a bad copy or another program could put there is refused
 * here with a ModelFileError naming the file and the field, so that a model which loads never
 * crashes later or predicts from numbers it misread.
 */
import { ModelFileError } from '../errors.js';
import { ACTIVATIONS } from '../nn/activations.js';
import type { DenseLayerSpec, ModelSpec } from '../nn/layers.js';
import type { ModelInfo } from '../nn/model.js';
import type { Standardization } from '../pipeline/standardize.js';

export const MODEL_FORMAT = 'quiver-model';
/** Bumped when a reader of the previous version would misread a file of this one. */
export const MODEL_FORMAT_VERSION = 1;

/** The loss curve in a few numbers (the per-epoch lines are the training log's business). */
export interface HistorySummary {
  epochs: number;
  firstLoss: number;
  finalLoss: number;
  minLoss: number;
  /** The epoch (from 0) of minLoss. */
  minLossEpoch: number;
}

export interface ModelJson {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  /** The quiver (package.json version) that wrote it. */
  quiverVersion: string;
  spec: ModelSpec;
  /** Feature column names, in input order. */
  features?: string[];
  /** Each feature column's Arrow type as text ("Float32", "Int64", …), where the writer knew it. */
  featureTypes?: string[];
  label?: string;
  classLabels?: NonNullable<ModelInfo['classLabels']>;
  /** Per-feature (x − mean) / std applied before the first layer. */
  standardize?: Standardization;
  /** The options the model was trained with, as given. */
  training?: Record<string, unknown>;
  /** The end event of the run. */
  metrics?: Record<string, unknown>;
  history?: HistorySummary;
  /** SHA-256 (hex) of weights.safetensors as written: a cut-off or edited weights file fails it. */
  weightsSha256: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPositiveInteger = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;
const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/** Checks the parsed text of `file` and returns it typed; every field that is present must be right. */
export function checkModelJson(value: unknown, file: string): ModelJson {
  const bad = (why: string): ModelFileError => new ModelFileError('E_MODEL_FILE', `file ${file}: ${why}`);
  if (!isObject(value)) throw bad('not a JSON object');
  if (value['format'] !== MODEL_FORMAT) throw bad(`not a quiver model (format ${show(value['format'])})`);
  if (value['formatVersion'] !== MODEL_FORMAT_VERSION) {
    throw new ModelFileError('E_MODEL_VERSION',
      `file ${file}: format version ${show(value['formatVersion'])}, this quiver reads ${MODEL_FORMAT_VERSION} (written by quiver ${show(value['quiverVersion'])})`);
  }
  if (typeof value['quiverVersion'] !== 'string') throw bad(`quiverVersion must be a string (got ${show(value['quiverVersion'])})`);
  const spec = checkSpec(value['spec'], bad);
  const n = spec.inputs;

  const features = value['features'];
  if (features !== undefined) {
    checkStrings(features, n, 'features', bad);
    if (new Set(features).size !== n) throw bad(`features names a column twice (${JSON.stringify(features)})`);
  }
  if (value['featureTypes'] !== undefined) checkStrings(value['featureTypes'], n, 'featureTypes', bad);
  if (value['label'] !== undefined && typeof value['label'] !== 'string') throw bad(`label must be a string (got ${show(value['label'])})`);

  const labels = value['classLabels'];
  if (labels !== undefined) {
    if (!Array.isArray(labels) || labels.length !== spec.classes) {
      throw bad(`classLabels must be a list of ${spec.classes} labels, one per class (got ${show(labels)})`);
    }
    const kinds = new Set(labels.map((l) => typeof l));
    const kind = [...kinds][0];
    if (kinds.size !== 1 || (kind !== 'number' && kind !== 'string' && kind !== 'boolean')
        || labels.some((l) => typeof l === 'number' && !Number.isFinite(l))) {
      throw bad(`classLabels must be all numbers, all strings or all booleans (got ${JSON.stringify(labels)})`);
    }
    if (new Set(labels).size !== labels.length) throw bad(`classLabels names a class twice (${JSON.stringify(labels)})`);
  }

  const s = value['standardize'];
  if (s !== undefined) {
    if (!isObject(s)) throw bad(`standardize must be {mean, std} (got ${show(s)})`);
    for (const key of ['mean', 'std'] as const) {
      const v = s[key];
      if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && (key === 'mean' || x > 0))) {
        throw bad(`standardize.${key} must be ${n} finite numbers${key === 'std' ? ' above 0' : ''}, one per input (got ${show(v)})`);
      }
    }
  }
  for (const key of ['training', 'metrics', 'history'] as const) {
    if (value[key] !== undefined && !isObject(value[key])) throw bad(`${key} must be an object (got ${show(value[key])})`);
  }
  const hash = value['weightsSha256'];
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) {
    throw bad(`weightsSha256 must be the 64 hex digits of weights.safetensors' SHA-256 (got ${show(hash)})`);
  }
  return value as unknown as ModelJson;
}

function checkStrings(v: unknown, n: number, field: string, bad: (why: string) => ModelFileError): asserts v is string[] {
  if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'string')) {
    throw bad(`${field} must be ${n} strings, one per input (got ${show(v)})`);
  }
}

/**
 * The spec must describe a network quiver can run: positive widths, known activations, a
 * linear output layer of 1 logit for two classes or K for K ≥ 3, and the loss that goes with it.
 * Initializers are not checked: a loaded model's weights come from the file, not from them.
 */
function checkSpec(spec: unknown, bad: (why: string) => ModelFileError): ModelSpec {
  if (!isObject(spec)) throw bad(`spec must be an object (got ${show(spec)})`);
  if (!isPositiveInteger(spec['inputs'])) throw bad(`spec.inputs must be a positive integer (got ${show(spec['inputs'])})`);
  const classes = spec['classes'];
  if (!Number.isSafeInteger(classes) || (classes as number) < 2) throw bad(`spec.classes must be an integer >= 2 (got ${show(classes)})`);
  const loss = classes === 2 ? 'binaryCrossentropy' : 'sparseCategoricalCrossentropy';
  if (spec['loss'] !== loss) throw bad(`spec.loss must be ${loss} for ${String(classes)} classes (got ${show(spec['loss'])})`);
  const layers = spec['layers'];
  if (!Array.isArray(layers) || layers.length === 0) throw bad(`spec.layers must be a non-empty list of layers (got ${show(layers)})`);
  layers.forEach((l: unknown, i) => checkLayer(l, `spec.layers[${i}]`, bad));
  const last = layers[layers.length - 1] as DenseLayerSpec;
  const outputs = classes === 2 ? 1 : (classes as number);
  if (last.units !== outputs || last.activation !== 'linear') {
    throw bad(`spec.layers[${layers.length - 1}] is the output layer: it must be linear with ${outputs} unit${outputs === 1 ? '' : 's'} for ${String(classes)} classes (got ${last.units} ${last.activation})`);
  }
  return spec as unknown as ModelSpec;
}

function checkLayer(l: unknown, at: string, bad: (why: string) => ModelFileError): void {
  if (!isObject(l)) throw bad(`${at} must be an object (got ${show(l)})`);
  if (!isPositiveInteger(l['units'])) throw bad(`${at}.units must be a positive integer (got ${show(l['units'])})`);
  const a = l['activation'];
  if (typeof a !== 'string' || !Object.hasOwn(ACTIVATIONS, a)) {
    throw bad(`${at}.activation must be one of ${Object.keys(ACTIVATIONS).join(', ')} (got ${show(a)})`);
  }
  if (typeof l['useBias'] !== 'boolean') throw bad(`${at}.useBias must be true or false (got ${show(l['useBias'])})`);
  if (l['batchNorm'] !== undefined && typeof l['batchNorm'] !== 'boolean') throw bad(`${at}.batchNorm must be true or false (got ${show(l['batchNorm'])})`);
  const p = l['dropout'];
  if (p !== undefined && !(typeof p === 'number' && p >= 0 && p < 1)) throw bad(`${at}.dropout must be a number in [0, 1) (got ${show(p)})`);
}
