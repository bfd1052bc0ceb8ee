import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFileError } from '../errors.js';
import { Model, type ModelInfo } from '../nn/model.js';
import type { ModelSpec } from '../nn/layers.js';
import { paramLayout, view } from '../nn/params.js';
import { writeFileAtomic } from './atomic.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.js';

/**
 * A model directory: `model.json` (format, spec, what it was trained on) and
 * `weights.safetensors` (keys layers.{i}.weight (nOut, nIn), layers.{i}.bias, F32: PyTorch's
 * Linear layout, so `safetensors.torch.load_file` reads it as a state dict).
 */
export const MODEL_FORMAT = 'quiver-model';
export const MODEL_FORMAT_VERSION = 1;

export interface ModelJson {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  quiverVersion: string;
  spec: ModelSpec;
  features?: string[];
  label?: string;
  classLabels?: (number | boolean | string)[];
  /** The options the model was trained with, as given. */
  training?: Record<string, unknown>;
  /** The end event of the run. */
  metrics?: Record<string, unknown>;
}

export function weightTensors(model: Model): [string, Tensor][] {
  return model.layout.tensors.map((t) => [t.name, { dtype: 'F32', shape: t.shape, data: view(model.params, t) }]);
}

/** Writes weights, then model.json, each to a temporary name renamed into place. */
export async function saveModel(dir: string, model: Model, extra: Pick<ModelJson, 'training' | 'metrics'> = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const json: ModelJson = {
    format: MODEL_FORMAT, formatVersion: MODEL_FORMAT_VERSION, quiverVersion: await quiverVersion(),
    spec: model.spec, ...model.info, ...extra,
  };
  await writeFileAtomic(join(dir, 'weights.safetensors'), encodeSafetensors(weightTensors(model), { format: 'pt' }));
  await writeFileAtomic(join(dir, 'model.json'), JSON.stringify(json, null, 2) + '\n');
}

export async function loadModel(dir: string): Promise<Model> {
  const file = join(dir, 'model.json');
  const json = JSON.parse(await readOrThrow(file).then((b) => b.toString('utf8')).catch((e: unknown) => {
    if (e instanceof ModelFileError) throw e;
    throw new ModelFileError('E_MODEL_FILE', `file ${file}: not valid JSON (${(e as Error).message})`);
  })) as ModelJson;
  if (json.format !== MODEL_FORMAT) throw new ModelFileError('E_MODEL_FILE', `file ${file}: not a quiver model (format ${JSON.stringify(json.format)})`);
  if (json.formatVersion !== MODEL_FORMAT_VERSION) {
    throw new ModelFileError('E_MODEL_VERSION', `file ${file}: format version ${json.formatVersion}, this quiver reads ${MODEL_FORMAT_VERSION}`);
  }
  const info: ModelInfo = {};
  if (json.features !== undefined) info.features = json.features;
  if (json.label !== undefined) info.label = json.label;
  if (json.classLabels !== undefined) info.classLabels = json.classLabels;
  const model = new Model(json.spec, new Float32Array(paramLayout(json.spec).size), info);
  await loadWeights(model, join(dir, 'weights.safetensors'));
  return model;
}

/** Reads a safetensors file into the model's parameters; every tensor must be there with its shape. */
export async function loadWeights(model: Model, file: string): Promise<void> {
  const { tensors } = decodeSafetensors(await readOrThrow(file), file);
  for (const t of model.layout.tensors) {
    const got = tensors.get(t.name);
    if (got === undefined) {
      throw new ModelFileError('E_WEIGHTS_MISMATCH', `file ${file}: no tensor ${t.name} of shape [${t.shape.join(', ')}] (it has ${[...tensors.keys()].join(', ') || 'none'})`);
    }
    if (got.shape.join(',') !== t.shape.join(',')) {
      throw new ModelFileError('E_WEIGHTS_MISMATCH', `file ${file}: tensor ${t.name} has shape [${got.shape.join(', ')}], the model needs [${t.shape.join(', ')}]`);
    }
    view(model.params, t).set(got.data);
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
async function quiverVersion(): Promise<string> {
  version ??= (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}
