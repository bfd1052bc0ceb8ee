import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { loadWeights } from '../../src/io/modelFile.js';
import { hiddenLayer, mlp } from '../../src/nn/layers.js';
import { Model } from '../../src/nn/model.js';
import { loadDataset } from '../../src/pipeline/dataset.js';

/** The PyTorch reference runs of the seed example (copied from ../shared/reference/seed). */
export const REFERENCE = join(import.meta.dirname, '../fixtures/seed');
export const DATA = join(import.meta.dirname, '../../data');

export function referenceTensors(file: string): Map<string, Float32Array | Float64Array> {
  const path = join(REFERENCE, file);
  const { tensors } = decodeSafetensors(readFileSync(path), path);
  return new Map([...tensors].map(([k, t]) => [k, t.data]));
}

/** curve-*.csv: epoch, loss, train_accuracy, test_loss, test_accuracy. */
export function referenceCurve(activation: string): { loss: number; trainAccuracy: number }[] {
  const lines = readFileSync(join(REFERENCE, `curve-${activation}.csv`), 'utf8').trim().split('\n').slice(1);
  return lines.map((l) => { const c = l.split(',').map(Number); return { loss: c[1]!, trainAccuracy: c[2]! }; });
}

export async function seedData() {
  const train = await loadDataset(join(DATA, 'seed-train.arrow'));
  const test = await loadDataset(join(DATA, 'seed-test.arrow'), { classes: 2, like: train.plan });
  return { train, test };
}

/** The seed's 20 → 64 → 1 network from the reference's initial weights. */
export async function seedModel(activation: 'relu' | 'tanh' | 'sigmoid'): Promise<Model> {
  const model = Model.init(mlp({ inputs: 20, layers: [hiddenLayer({ units: 64, activation })] }), 42);
  await loadWeights(model, join(REFERENCE, activation === 'relu' ? 'init-relu.safetensors' : 'init-tanh-sigmoid.safetensors'));
  return model;
}
