import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelJson } from '../../src/io/modelFile.js';
import { removeDir, tempDir } from '../helpers/arrow.js';
import { DATA, ensureBuilt, quiver, type Run } from '../helpers/cli.js';
import { maxDiff } from '../helpers/random.js';

const SEED_TRAIN = path.join(DATA, 'seed-train.arrow');
const SEED_TEST = path.join(DATA, 'seed-test.arrow');

let dir: string;
let data3: string;
/** Two trained models: the seed data with gelu, and three generated classes with batch norm. */
const models: Record<string, string> = {};
beforeAll(async () => {
  ensureBuilt();
  dir = tempDir();
  data3 = path.join(dir, 'three.arrow');
  const gen = await quiver(['generate', '--out', data3, '--rows', '300', '--features', '6', '--informative', '3', '--classes', '3', '--seed', '3']);
  expect(gen.status, gen.stderr).toBe(0);
  models['seed'] = path.join(dir, 'seed');
  models['three'] = path.join(dir, 'three');
  const runs = await Promise.all([
    quiver(['train', '--train', SEED_TRAIN, '--layers', '16', '--activation', 'gelu', '--epochs', '20', '--lr', '0.1', '--standardize', '--save', models['seed']]),
    quiver(['train', '--train', data3, '--layers', '8,6', '--activation', 'swish,prelu', '--batch-norm', '--batch-size', '64',
      '--epochs', '10', '--lr', '0.05', '--standardize', '--save', models['three']]),
  ]);
  for (const r of runs) expect(r.status, r.stderr).toBe(0);
});
afterAll(() => { removeDir(dir); });

/** The model's feature columns of an Arrow file, row-major. */
function features(file: string, names: string[]): { x: Float32Array; rows: number } {
  const t = tableFromIPC(readFileSync(file));
  const cols = names.map((n) => t.getChild(n)!.toArray() as Float32Array);
  const x = new Float32Array(t.numRows * names.length);
  for (let r = 0; r < t.numRows; r++) cols.forEach((c, j) => { x[r * names.length + j] = c[r]!; });
  return { x, rows: t.numRows };
}

/** `quiver predict`'s probabilities, row-major: `probability`, or every `probability_<label>`. */
function predicted(file: string, classLabels: unknown[]): Float32Array {
  const t = tableFromIPC(readFileSync(file));
  const names = classLabels.length === 2 ? ['probability'] : classLabels.map((l) => `probability_${String(l)}`);
  const cols = names.map((n) => t.getChild(n)!.toArray() as Float32Array);
  const p = new Float32Array(t.numRows * names.length);
  for (let r = 0; r < t.numRows; r++) cols.forEach((c, j) => { p[r * names.length + j] = c[r]!; });
  return p;
}

function expectError(r: Run, code: string, message: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(new RegExp(`^quiver: .*\\[${code}\\]\\n$`));
  expect(r.stderr).toMatch(message);
}

describe('quiver export --format onnx', () => {
  for (const [name, input] of [['seed', SEED_TEST], ['three', '']] as const) {
    it(`${name}: onnxruntime on the exported graph gives quiver predict's probabilities within 1e-5`, async () => {
      const model = models[name]!;
      const data = input || data3;
      const onnxFile = path.join(dir, `${name}.onnx`);
      const preds = path.join(dir, `${name}-preds.arrow`);
      const [exp, pred] = await Promise.all([
        quiver(['export', '--model', model, '--format', 'onnx', '--out', onnxFile]),
        quiver(['predict', '--model', model, '--input', data, '--out', preds]),
      ]);
      expect(exp.status, exp.stderr).toBe(0);
      expect(exp.stderr).toMatch(/^wrote .+\.onnx \(\d+ bytes, ONNX opset \d+\): input \(N, \d+\) → probability \(N, \d+\)\n$/);
      expect(pred.status, pred.stderr).toBe(0);
      const json = JSON.parse(readFileSync(path.join(model, 'model.json'), 'utf8')) as ModelJson;
      expect(json.standardize).toBeDefined();
      if (name === 'three') expect(json.spec.layers.slice(0, 2).map((l) => l.batchNorm)).toEqual([true, true]);
      const { x, rows } = features(data, json.features!);
      const session = await ort.InferenceSession.create(readFileSync(onnxFile));
      const out = (await session.run({ input: new ort.Tensor('float32', x, [rows, x.length / rows]) }))['probability']!;
      await session.release();
      const want = predicted(preds, json.classLabels!);
      const d = maxDiff(out.data as Float32Array, want);
      console.log(`export ${name}: ${rows} rows, max |onnxruntime − quiver predict| ${d.abs.toExponential(2)}`);
      expect(out.dims).toEqual([rows, json.classLabels!.length === 2 ? 1 : json.classLabels!.length]);
      expect(d.abs).toBeLessThan(1e-5);
    });
  }

  it('refuses a missing model, an unknown format, an unwritable --out and tampered weights, writing nothing', async () => {
    const out = path.join(dir, 'bad');
    mkdirSync(out);
    const target = path.join(out, 'm.onnx');
    expectError(await quiver(['export', '--model', path.join(dir, 'nope'), '--out', target]), 'E_MODEL_FILE', /nope.*model\.json: cannot read \(no such file\)/);
    expectError(await quiver(['export', '--model', models['seed']!, '--format', 'tflite', '--out', target]), 'E_CONFIG', /--format must be one of onnx/);
    expectError(await quiver(['export', '--model', models['seed']!, '--out', path.join(out, 'no', 'such', 'm.onnx')]), 'E_OUT_FILE', /m\.onnx: cannot write \(no such directory\)/);
    const tampered = path.join(dir, 'tampered');
    mkdirSync(tampered);
    for (const f of ['model.json', 'weights.safetensors']) writeFileSync(path.join(tampered, f), readFileSync(path.join(models['seed']!, f)));
    const w = readFileSync(path.join(tampered, 'weights.safetensors'));
    w[w.length - 1]! ^= 1;
    writeFileSync(path.join(tampered, 'weights.safetensors'), w);
    expectError(await quiver(['export', '--model', tampered, '--out', target]), 'E_WEIGHTS_HASH', /weights\.safetensors: SHA-256 [0-9a-f]{64} is not the/);
    expect(readdirSync(out)).toEqual([]);
    expect(existsSync(target)).toBe(false);
  });
});
