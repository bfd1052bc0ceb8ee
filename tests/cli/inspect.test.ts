import { createHash } from 'node:crypto';
import { cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '../../src/io/modelFile.js';
import { hiddenLayer, mlp } from '../../src/nn/layers.js';
import { Model } from '../../src/nn/model.js';
import type { History } from '../../src/pipeline/train.js';
import { removeDir, tempDir } from '../helpers/arrow.js';
import { ensureBuilt, quiver, type Run } from '../helpers/cli.js';

let dir: string;
let trained: string;
let saved: string;
beforeAll(async () => {
  ensureBuilt();
  dir = tempDir();
  const data = path.join(dir, 'three.arrow');
  trained = path.join(dir, 'trained');
  const gen = await quiver(['generate', '--out', data, '--rows', '200', '--features', '6', '--informative', '3', '--classes', '3', '--seed', '5']);
  expect(gen.status, gen.stderr).toBe(0);
  const t = await quiver(['train', '--train', data, '--layers', '8,4', '--activation', 'prelu,relu', '--batch-norm', '--batch-size', '50',
    '--epochs', '3', '--lr', '0.05', '--standardize', '--save', trained]);
  expect(t.status, t.stderr).toBe(0);
  // Saved through the library, with a history (a summary of it goes to model.json).
  saved = path.join(dir, 'saved');
  const history = {
    epochs: [0.8, 0.5, 0.55].map((loss, epoch) => ({ event: 'epoch', epoch, loss, trainAccuracy: 0.7 })),
    end: { event: 'end', epochs: 3, loss: 0.55, trainAccuracy: 0.7, seconds: 0.01 },
  } as History;
  await saveModel(saved, Model.init(mlp({ inputs: 3, layers: [hiddenLayer({ units: 2, activation: 'tanh' })] }), 1, { features: ['x', 'y', 'z'] }), { history, metrics: { ...history.end } });
});
afterAll(() => { removeDir(dir); });

/** Parameters a layer learns, counted from its shape: W (units, fanIn), b, prelu's alpha, batch norm's gamma and beta. */
function expectedParams(units: number, fanIn: number, prelu: boolean, batchNorm: boolean): number {
  return units * fanIn + units + (prelu ? units : 0) + (batchNorm ? 2 * units : 0);
}

function expectError(r: Run, code: string, message: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(new RegExp(`^quiver: [^\\n]*\\[${code}\\]\\n$`));
  expect(r.stderr).toMatch(message);
}

describe('quiver inspect', () => {
  it('--log-format json: one object with the layers, parameter counts, classes, features, training, metrics, files and hash', async () => {
    const r = await quiver(['inspect', trained, '--log-format', 'json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    const e = JSON.parse(r.stdout) as Record<string, unknown>;
    const p0 = expectedParams(8, 6, true, true);
    const p1 = expectedParams(4, 8, false, true);
    const p2 = expectedParams(3, 4, false, false);
    expect(e['layers']).toEqual([
      { index: 0, units: 8, activation: 'prelu', batchNorm: true, dropout: 0, params: p0, buffers: 16 },
      { index: 1, units: 4, activation: 'relu', batchNorm: true, dropout: 0, params: p1, buffers: 8 },
      { index: 2, units: 3, activation: 'linear', batchNorm: false, dropout: 0, params: p2, buffers: 0 },
    ]);
    expect(e['totalParams']).toBe(p0 + p1 + p2);
    expect(e['totalBuffers']).toBe(24);
    expect(e).toMatchObject({ event: 'inspect', inputs: 6, classes: 3, features: 6, classLabels: [0, 1, 2], standardize: true, formatVersion: 1, hash: 'ok' });
    expect(e['featureNames']).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5']);
    expect(e['training']).toMatchObject({ epochs: 3, batchNorm: true, layers: [8, 4] });
    expect((e['metrics'] as Record<string, unknown>)['epochs']).toBe(3);
    const weights = path.join(trained, 'weights.safetensors');
    expect(e['files']).toEqual({ 'model.json': statSync(path.join(trained, 'model.json')).size, 'weights.safetensors': statSync(weights).size });
    expect(e['weightsSha256']).toBe(createHash('sha256').update(readFileSync(weights)).digest('hex'));
  });

  it('text: the layer table with a total, labels, training options, metrics, files and the hash check', async () => {
    const r = await quiver(['inspect', trained]);
    expect(r.status, r.stderr).toBe(0);
    const total = expectedParams(8, 6, true, true) + expectedParams(4, 8, false, true) + expectedParams(3, 4, false, false);
    expect(r.stdout).toMatch(/^6 features → 3 classes \(sparseCategoricalCrossentropy\), labels 0, 1, 2/m);
    expect(r.stdout).toMatch(/^layer\s+units\s+activation\s+batch norm\s+dropout\s+params$/m);
    expect(r.stdout).toMatch(new RegExp(`^0\\s+8\\s+prelu\\s+yes\\s+0\\s+${expectedParams(8, 6, true, true)}$`, 'm'));
    expect(r.stdout).toMatch(/^2\s+3\s+linear\s+no\s+0\s+15$/m);
    expect(r.stdout).toMatch(new RegExp(`^total\\s+${total}$`, 'm'));
    expect(r.stdout).toMatch(/^standardized inputs: yes$/m);
    expect(r.stdout).toMatch(/^training: .*epochs=3/m);
    expect(r.stdout).toMatch(/^final metrics: epochs=3 loss=\d/m);
    expect(r.stdout).toMatch(/^files: model\.json \d+ bytes, weights\.safetensors \d+ bytes$/m);
    expect(r.stdout).toMatch(/^weights\.safetensors SHA-256 [0-9a-f]{64}: OK$/m);
  });

  it('text: the history summary, when model.json has one', async () => {
    const r = await quiver(['inspect', saved]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^history: 3 epochs, loss 0\.8 → 0\.55 \(lowest 0\.5 at epoch 1\)$/m);
    expect(r.stdout).toMatch(/^3 features → 2 classes \(binaryCrossentropy\)$/m);
    expect(r.stdout).toMatch(/^features: x, y, z$/m);
  });

  it('a weights file that fails its hash is an error, exit 2, in either format', async () => {
    const bad = path.join(dir, 'bad');
    cpSync(trained, bad, { recursive: true });
    const w = readFileSync(path.join(bad, 'weights.safetensors'));
    w[w.length - 1]! ^= 1;
    writeFileSync(path.join(bad, 'weights.safetensors'), w);
    for (const format of ['text', 'json']) {
      expectError(await quiver(['inspect', bad, '--log-format', format]), 'E_WEIGHTS_HASH', /bad.weights\.safetensors: SHA-256 [0-9a-f]{64} is not the [0-9a-f]{64} that .*model\.json records/);
    }
  });

  it('a missing directory and a bad --log-format are errors, exit 2', async () => {
    expectError(await quiver(['inspect', path.join(dir, 'nope')]), 'E_MODEL_FILE', /nope.model\.json: cannot read \(no such file\)/);
    expectError(await quiver(['inspect', trained, '--log-format', 'yaml']), 'E_CONFIG', /--log-format must be one of text, json/);
  });
});
