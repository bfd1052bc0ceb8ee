import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '../../src/io/modelFile.js';
import { hiddenLayer, mlp } from '../../src/nn/layers.js';
import { Model } from '../../src/nn/model.js';
import { adamw, sgd } from '../../src/nn/optimizers.js';
import { fit, type FitOptions } from '../../src/pipeline/train.js';
import type { Dataset } from '../../src/pipeline/dataset.js';
import { createPool } from '../../src/workers/pool.js';
import { referenceCurve, seedData, seedModel } from '../helpers/seed.js';
import { syntheticDataset } from '../helpers/synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'quiver-det-'));
const WORKERS = ['inline', 1, 2, 3, 4] as const;

/** Trains with each worker count and returns the saved weights.safetensors bytes of each. */
async function weightsFiles(make: () => Promise<Model> | Model, data: Dataset, options: FitOptions): Promise<Buffer[]> {
  const files: Buffer[] = [];
  const ends: number[] = [];
  for (const workers of WORKERS) {
    const model = await make();
    const h = await fit(model, data, { ...options, workers });
    ends.push(h.end.loss, h.end.trainAccuracy);
    const out = join(dir, `${files.length}-${Math.random().toString(36).slice(2)}`);
    await saveModel(out, model);
    files.push(readFileSync(join(out, 'weights.safetensors')));
  }
  // The final evaluation runs on the engine too: the same sums in the same order for any worker count.
  for (let i = 2; i < ends.length; i += 2) expect([ends[i], ends[i + 1]]).toEqual([ends[0], ends[1]]);
  return files;
}

function expectAllIdentical(files: Buffer[]): void {
  for (let i = 1; i < files.length; i++) {
    expect(files[i]!.equals(files[0]!), `weights with workers=${WORKERS[i]} differ from inline`).toBe(true);
  }
}

describe('weights are byte-identical for inline and 1, 2, 3, 4 workers', () => {
  let seed: Dataset;
  let big: Dataset;
  beforeAll(async () => {
    seed = (await seedData()).train;
    big = syntheticDataset({ rows: 20_000, features: 50, informative: 20, classes: 3, seed: 5 });
  });
  const bigModel = (): Model => Model.init(mlp({
    inputs: 50, classes: 3, layers: [hiddenLayer({ units: 128 }), hiddenLayer({ units: 64 })],
  }), 7);

  it('seed example, full batch', async () => {
    expectAllIdentical(await weightsFiles(() => seedModel('relu'), seed, { epochs: 30 }));
  });
  it('seed example, batch size 256 with momentum', async () => {
    expectAllIdentical(await weightsFiles(() => seedModel('relu'), seed, { epochs: 10, batchSize: 256, optimizer: sgd({ learningRate: 0.05, momentum: 0.9 }) }));
  });
  it('20 000 × 50 → 128 → 64 → 3 classes, full batch', async () => {
    expectAllIdentical(await weightsFiles(bigModel, big, { epochs: 2, optimizer: sgd({ learningRate: 0.1 }) }));
  });
  it('batch norm, dropout, AdamW, global-norm clipping and a cosine schedule, batch size 200', async () => {
    const make = (): Model => Model.init(mlp({
      inputs: 50, classes: 3,
      layers: [hiddenLayer({ units: 64, activation: 'prelu', batchNorm: true, dropout: 0.2 }), hiddenLayer({ units: 32, activation: 'swish', dropout: 0.1 })],
    }), 11);
    const small = { ...big, rows: 2000, features: big.features.subarray(0, 2000 * 50), labels: big.labels.subarray(0, 2000) };
    expectAllIdentical(await weightsFiles(make, small, {
      epochs: 2, batchSize: 200, microBatch: 48, optimizer: adamw({ learningRate: 0.003 }), clipNorm: 0.5, clipValue: 0.05,
      lrSchedule: { name: 'cosine', warmupSteps: 3 },
    }));
  });
  it('20 000 × 50 → 128 → 64 → 3 classes, batch size 256', async () => {
    expectAllIdentical(await weightsFiles(bigModel, big, { epochs: 1, batchSize: 256, optimizer: sgd({ learningRate: 0.05 }) }));
  });
});

describe('the pool', () => {
  it('follows the PyTorch seed curve as inline training does', async () => {
    const { train, test } = await seedData();
    const model = await seedModel('relu');
    const h = await fit(model, train, { epochs: 100, workers: 2, validationData: test });
    const curve = referenceCurve('relu');
    expect(Math.max(...h.epochs.map((e, i) => Math.abs(e.loss - curve[i]!.loss)))).toBeLessThanOrEqual(1e-5);
    expect(h.end.testAccuracy).toBe(0.835);
  });

  it('given by the caller serves several runs and stays open', async () => {
    const { train } = await seedData();
    const pool = createPool({ workers: 2 });
    try {
      const a = await seedModel('tanh');
      await fit(a, train, { epochs: 5, pool });
      const b = await seedModel('tanh');
      await fit(b, train, { epochs: 5, pool });
      expect(b.params).toEqual(a.params);
      expect(pool.piscina.threads.length).toBe(2);
    } finally {
      await pool.close();
    }
  });

  it('hogwild mode trains (not reproducibly) to a lower loss', async () => {
    const { train } = await seedData();
    const model = await seedModel('relu');
    const h = await fit(model, train, { epochs: 30, batchSize: 100, microBatch: 50, workers: 2, mode: 'hogwild', optimizer: sgd({ learningRate: 0.05 }) });
    expect(h.epochs[29]!.loss).toBeLessThan(h.epochs[0]!.loss - 0.1);
  });
});
