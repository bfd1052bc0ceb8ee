import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFileError } from '../errors.js';
import { Model, type ModelInfo } from '../nn/model.js';
import { paramLayout, view } from '../nn/params.js';
import type { History } from '../pipeline/train.js';
import { writeFileAtomic } from './atomic.js';
import { checkModelJson, MODEL_FORMAT, MODEL_FORMAT_VERSION, type HistorySummary, type ModelJson } from './modelJson.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.js';

/**
 * A model directory: `model.json` (format, spec, what it was trained on, the weights' SHA-256;
 * see modelJson.ts) and `weights.safetensors` (keys layers.{i}.weight (nOut, nIn),
 * layers.{i}.bias, layers.{i}.alpha for prelu, layers.{i}.bn.* for batch norm, F32: PyTorch's
 * layout, so `safetensors.torch.load_file` reads it as a state dict).
 *
 * Loading trusts nothing: model.json is checked field by field, the weights against their hash,
 * the safetensors header against its bytes, every tensor against the spec, every value for
 * being finite. Codes: E_MODEL_FILE (missing, unreadable or malformed), E_MODEL_VERSION,
 * E_WEIGHTS_HASH, E_SAFETENSORS (a header that lies), E_WEIGHTS_MISMATCH (tensors that do not
 * fit the spec), E_WEIGHTS_CORRUPT (NaN or infinite values).
 */
export { MODEL_FORMAT, MODEL_FORMAT_VERSION, checkModelJson, type HistorySummary, type ModelJson };
export const MODEL_JSON = 'model.json';
export const WEIGHTS_FILE = 'weights.safetensors';

/** What saveModel adds to the model's own spec and info. */
export interface SaveExtra {
  training?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  /** The run's history; model.json keeps its summary. */
  history?: History;
  /** Each feature column's Arrow type, as text. */
  featureTypes?: string[];
}

export function weightTensors(model: Model): [string, Tensor][] {
  return model.layout.tensors.map((t) => [t.name, { dtype: 'F32', shape: t.shape, data: view(model.params, t) }]);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The loss curve of a history in five numbers; undefined for a run of no epochs. */
export function summarizeHistory(history: History): HistorySummary | undefined {
  const losses = history.epochs.map((e) => e.loss);
  if (losses.length === 0) return undefined;
  let minLossEpoch = 0;
  losses.forEach((l, i) => { if (l < losses[minLossEpoch]!) minLossEpoch = i; });
  return {
    epochs: losses.length, firstLoss: losses[0]!, finalLoss: losses[losses.length - 1]!,
    minLoss: losses[minLossEpoch]!, minLossEpoch: history.epochs[minLossEpoch]!.epoch,
  };
}

/**
 * Writes the weights, then model.json with their hash, each to a temporary name renamed into
 * place. A crash between the two leaves an old model.json whose hash the new weights fail, so
 * the pair is refused rather than mixed.
 */
export async function saveModel(dir: string, model: Model, extra: SaveExtra = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const weights = encodeSafetensors(weightTensors(model), { format: 'pt' });
  const { features, label, classLabels, standardize } = model.info;
  const summary = extra.history === undefined ? undefined : summarizeHistory(extra.history);
  const json: ModelJson = {
    format: MODEL_FORMAT, formatVersion: MODEL_FORMAT_VERSION, quiverVersion: quiverVersion(),
    spec: model.spec,
    ...(features !== undefined && { features }),
    ...(extra.featureTypes !== undefined && { featureTypes: extra.featureTypes }),
    ...(label !== undefined && { label }),
    ...(classLabels !== undefined && { classLabels }),
    ...(standardize !== undefined && { standardize }),
    ...(extra.training !== undefined && { training: extra.training }),
    ...(extra.metrics !== undefined && { metrics: extra.metrics }),
    ...(summary !== undefined && { history: summary }),
    weightsSha256: sha256Hex(weights),
  };
  await writeFileAtomic(join(dir, WEIGHTS_FILE), weights);
  await writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(json, null, 2) + '\n');
}

/** A loaded model with what its directory held: model.json as checked, and the two files' sizes. */
export interface ModelFiles {
  model: Model;
  json: ModelJson;
  /** Bytes of model.json and of weights.safetensors. */
  sizes: { modelJson: number; weights: number };
}

export async function loadModel(dir: string): Promise<Model> {
  return (await openModel(dir)).model;
}

/** Loads and checks a model directory (see the module comment for what is checked). */
export async function openModel(dir: string): Promise<ModelFiles> {
  const file = join(dir, MODEL_JSON);
  const text = await readOrThrow(file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.toString('utf8'));
  } catch (e) {
    throw new ModelFileError('E_MODEL_FILE', `file ${file}: not valid JSON (${(e as Error).message})`);
  }
  const json = checkModelJson(parsed, file);
  const info: ModelInfo = {};
  if (json.features !== undefined) info.features = json.features;
  if (json.label !== undefined) info.label = json.label;
  if (json.classLabels !== undefined) info.classLabels = json.classLabels;
  if (json.standardize !== undefined) info.standardize = json.standardize;
  const model = new Model(json.spec, new Float32Array(paramLayout(json.spec).size), info);

  const weightsFile = join(dir, WEIGHTS_FILE);
  const bytes = await readOrThrow(weightsFile);
  const hash = sha256Hex(bytes);
  if (hash !== json.weightsSha256) {
    throw new ModelFileError('E_WEIGHTS_HASH',
      `file ${weightsFile}: SHA-256 ${hash} is not the ${json.weightsSha256} that ${file} records: the weights were cut off, edited or replaced since the model was saved`);
  }
  setWeights(model, bytes, weightsFile, true);
  return { model, json, sizes: { modelJson: text.length, weights: bytes.length } };
}

/** Reads a safetensors file into the model's parameters; every tensor must be there with its shape. */
export async function loadWeights(model: Model, file: string): Promise<void> {
  setWeights(model, await readOrThrow(file), file, false);
}

/**
 * Copies each of the model's tensors from the safetensors `bytes`: present, of its shape, all
 * finite. `exact` also refuses tensors the model has no place for (a saved model's file holds
 * exactly its own; an initialization from elsewhere may carry more).
 */
function setWeights(model: Model, bytes: Uint8Array, file: string, exact: boolean): void {
  const { tensors } = decodeSafetensors(bytes, file);
  for (const t of model.layout.tensors) {
    const got = tensors.get(t.name);
    if (got === undefined) {
      throw new ModelFileError('E_WEIGHTS_MISMATCH', `file ${file}: no tensor ${t.name} of shape [${t.shape.join(', ')}] (it has ${[...tensors.keys()].join(', ') || 'none'})`);
    }
    if (got.shape.join(',') !== t.shape.join(',')) {
      throw new ModelFileError('E_WEIGHTS_MISMATCH', `file ${file}: tensor ${t.name} has shape [${got.shape.join(', ')}], the model needs [${t.shape.join(', ')}]`);
    }
    const bad = got.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new ModelFileError('E_WEIGHTS_CORRUPT', `file ${file}: tensor ${t.name} holds ${got.data[bad]} at index ${bad}`);
    // A variance below 0 would make batch norm's √(var + ε) NaN for every row.
    const negative = t.role === 'runningVar' ? got.data.findIndex((v) => v < 0) : -1;
    if (negative >= 0) throw new ModelFileError('E_WEIGHTS_CORRUPT', `file ${file}: tensor ${t.name} holds the variance ${got.data[negative]} at index ${negative}`);
    view(model.params, t).set(got.data);
  }
  if (exact) {
    const known = new Set(model.layout.tensors.map((t) => t.name));
    const extra = [...tensors.keys()].filter((name) => !known.has(name));
    if (extra.length > 0) {
      throw new ModelFileError('E_WEIGHTS_MISMATCH', `file ${file}: tensor${extra.length === 1 ? '' : 's'} ${extra.join(', ')} not in the model's spec`);
    }
  }
}

async function readOrThrow(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError('E_MODEL_FILE', `file ${file}: cannot read (${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message})`, { cause: e });
  }
}

let version: string | undefined;
/** package.json's version: model.json and the ONNX graph record which quiver wrote them. */
export function quiverVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}
