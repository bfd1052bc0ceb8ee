import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFileError } from '../../src/errors.js';
import { loadModel, openModel, saveModel, type ModelJson } from '../../src/io/modelFile.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import { hiddenLayer, mlp } from '../../src/nn/layers.js';
import { Model } from '../../src/nn/model.js';
import { view } from '../../src/nn/params.js';
import { Prng } from '../../src/nn/prng.js';
import type { History } from '../../src/pipeline/train.js';
import { removeDir, tempDir } from '../helpers/arrow.js';
import { randomArray } from '../helpers/random.js';

const PACKAGE_VERSION = (JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version;

/** A model with every kind of tensor (weight, bias, prelu alpha, batch norm's four), all random. */
function richModel(): Model {
  const spec = mlp({
    inputs: 4, classes: 3,
    layers: [hiddenLayer({ units: 5, activation: 'prelu', batchNorm: true }), hiddenLayer({ units: 3, activation: 'tanh', dropout: 0.2 })],
  });
  const model = Model.init(spec, 7, {
    features: ['a', 'b', 'c', 'd'], label: 'species', classLabels: ['setosa', 'versicolor', 'virginica'],
    standardize: { mean: [1, -2, 0.5, 3], std: [2, 0.5, 1, 4] },
  });
  const rng = new Prng(8);
  for (const t of model.layout.tensors) {
    const v = view(model.params, t);
    if (t.role === 'runningVar') for (let i = 0; i < t.length; i++) v[i] = rng.uniform(0.5, 2);
    else v.set(randomArray(Float32Array, t.length, rng));
  }
  return model;
}

const HISTORY: History = {
  epochs: [0.9, 0.7, 0.65, 0.66].map((loss, epoch) => ({ event: 'epoch', epoch, loss, trainAccuracy: 0.5 + epoch / 10 })) as History['epochs'],
  end: { event: 'end', epochs: 4, loss: 0.66, trainAccuracy: 0.8, seconds: 0.1 } as History['end'],
};

let dir: string;
let good: string;
let model: Model;
beforeAll(async () => {
  dir = tempDir();
  good = path.join(dir, 'good');
  model = richModel();
  await saveModel(good, model, { training: { epochs: 4, lr: 0.1 }, metrics: { ...HISTORY.end }, history: HISTORY, featureTypes: ['Float32', 'Float32', 'Int64', 'Bool'] });
});
afterAll(() => { removeDir(dir); });

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const readJson = (d: string): ModelJson => JSON.parse(readFileSync(path.join(d, 'model.json'), 'utf8')) as ModelJson;

let copies = 0;
/** A copy of the good model directory to spoil. */
function copy(): string {
  const d = path.join(dir, `copy${copies++}`);
  cpSync(good, d, { recursive: true });
  return d;
}

/** model.json edited by `edit` (on the parsed object). */
function editJson(d: string, edit: (j: Record<string, unknown>) => void): void {
  const j = readJson(d) as unknown as Record<string, unknown>;
  edit(j);
  writeFileSync(path.join(d, 'model.json'), JSON.stringify(j));
}

/** New weights bytes, with model.json's hash made to match, as a careless tool would: only the file's own checks remain. */
function replaceWeights(d: string, bytes: Uint8Array): void {
  writeFileSync(path.join(d, 'weights.safetensors'), bytes);
  editJson(d, (j) => { j['weightsSha256'] = sha256(bytes); });
}

/** The good weights file with its JSON header rewritten by `edit`, the data bytes kept. */
function withHeader(edit: (h: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>) => void, tail = new Uint8Array(0)): Uint8Array {
  const bytes = readFileSync(path.join(good, 'weights.safetensors'));
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Parameters<typeof edit>[0];
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, bytes.subarray(8 + n), tail]);
}

/** The good tensors, with `change` applied to the map, encoded afresh. */
function withTensors(change: (t: Map<string, { dtype: 'F32'; shape: number[]; data: Float32Array }>) => void): Uint8Array {
  const { tensors } = decodeSafetensors(readFileSync(path.join(good, 'weights.safetensors')), 'good');
  const m = new Map([...tensors].map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.shape, data: Float32Array.from(t.data) }]));
  change(m);
  return encodeSafetensors([...m]);
}

describe('saveModel and loadModel', () => {
  it('model.json carries format, version, spec, features and types, labels, standardization, training, metrics, history and the weights\' SHA-256', () => {
    const j = readJson(good);
    expect(j.format).toBe('quiver-model');
    expect(j.formatVersion).toBe(1);
    expect(j.quiverVersion).toBe(PACKAGE_VERSION);
    expect(j.spec).toEqual(model.spec);
    expect(j.features).toEqual(['a', 'b', 'c', 'd']);
    expect(j.featureTypes).toEqual(['Float32', 'Float32', 'Int64', 'Bool']);
    expect(j.label).toBe('species');
    expect(j.classLabels).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(j.standardize).toEqual(model.info.standardize);
    expect(j.training).toEqual({ epochs: 4, lr: 0.1 });
    expect(j.metrics).toMatchObject({ loss: 0.66, trainAccuracy: 0.8 });
    expect(j.history).toEqual({ epochs: 4, firstLoss: 0.9, finalLoss: 0.66, minLoss: 0.65, minLossEpoch: 2 });
    expect(j.weightsSha256).toBe(sha256(readFileSync(path.join(good, 'weights.safetensors'))));
  });

  it('loads back the same parameters and info, so predictions are identical (standardization included)', async () => {
    const { model: back, json, sizes } = await openModel(good);
    expect(back.params).toEqual(model.params);
    expect(back.info).toEqual(model.info);
    expect(json.weightsSha256).toHaveLength(64);
    expect(sizes.weights).toBe(readFileSync(path.join(good, 'weights.safetensors')).length);
    const x = randomArray(Float32Array, 4 * 9, new Prng(1), 3);
    expect(back.predictProba(x, 9)).toEqual(model.predictProba(x, 9));
  });

  it('writes the weights under PyTorch\'s names and shapes, batch norm\'s and prelu\'s included', () => {
    const { tensors, metadata } = decodeSafetensors(readFileSync(path.join(good, 'weights.safetensors')), 'w');
    expect(metadata).toEqual({ format: 'pt' });
    expect(Object.fromEntries([...tensors].map(([k, t]) => [k, t.shape]))).toEqual({
      'layers.0.weight': [5, 4], 'layers.0.bias': [5], 'layers.0.alpha': [5],
      'layers.0.bn.gamma': [5], 'layers.0.bn.beta': [5], 'layers.0.bn.runningMean': [5], 'layers.0.bn.runningVar': [5],
      'layers.1.weight': [3, 5], 'layers.1.bias': [3], 'layers.2.weight': [3, 3], 'layers.2.bias': [3],
    });
  });
});

type Spoil = (d: string) => void;
const setJson = (edit: (j: Record<string, unknown>) => void): Spoil => (d) => editJson(d, edit);
const layer = (i: number, edit: (l: Record<string, unknown>) => void): Spoil => setJson((j) => edit((j['spec'] as { layers: Record<string, unknown>[] }).layers[i]!));

const CASES: { name: string; spoil: Spoil; code: string; message: RegExp }[] = [
  // model.json itself
  { name: 'no model.json', spoil: (d) => rmSync(path.join(d, 'model.json')), code: 'E_MODEL_FILE', message: /model\.json: cannot read \(no such file\)/ },
  { name: 'model.json that is not JSON', spoil: (d) => writeFileSync(path.join(d, 'model.json'), '{"format": "quiver-model",'), code: 'E_MODEL_FILE', message: /model\.json: not valid JSON/ },
  { name: 'another format', spoil: setJson((j) => { j['format'] = 'keras'; }), code: 'E_MODEL_FILE', message: /model\.json: not a quiver model \(format "keras"\)/ },
  { name: 'an unknown format version', spoil: setJson((j) => { j['formatVersion'] = 2; }), code: 'E_MODEL_VERSION', message: /model\.json: format version 2, this quiver reads 1/ },
  { name: 'a format version that is text', spoil: setJson((j) => { j['formatVersion'] = '1'; }), code: 'E_MODEL_VERSION', message: /format version "1"/ },
  { name: 'no spec.layers', spoil: setJson((j) => { delete (j['spec'] as Record<string, unknown>)['layers']; }), code: 'E_MODEL_FILE', message: /model\.json: spec\.layers must be a non-empty list of layers \(got nothing\)/ },
  { name: 'negative units', spoil: layer(1, (l) => { l['units'] = -3; }), code: 'E_MODEL_FILE', message: /spec\.layers\[1\]\.units must be a positive integer \(got -3\)/ },
  { name: 'fractional units', spoil: layer(0, (l) => { l['units'] = 2.5; }), code: 'E_MODEL_FILE', message: /spec\.layers\[0\]\.units must be a positive integer \(got 2\.5\)/ },
  { name: 'an unknown activation', spoil: layer(0, (l) => { l['activation'] = 'relu6'; }), code: 'E_MODEL_FILE', message: /spec\.layers\[0\]\.activation must be one of relu, .* \(got "relu6"\)/ },
  { name: 'batchNorm that is not a boolean', spoil: layer(0, (l) => { l['batchNorm'] = 'yes'; }), code: 'E_MODEL_FILE', message: /spec\.layers\[0\]\.batchNorm must be true or false/ },
  { name: 'an output layer of the wrong width', spoil: layer(2, (l) => { l['units'] = 2; }), code: 'E_MODEL_FILE', message: /spec\.layers\[2\] is the output layer: it must be linear with 3 units for 3 classes \(got 2 linear\)/ },
  { name: 'one class', spoil: setJson((j) => { (j['spec'] as Record<string, unknown>)['classes'] = 1; }), code: 'E_MODEL_FILE', message: /spec\.classes must be an integer >= 2 \(got 1\)/ },
  { name: 'a loss that does not fit the classes', spoil: setJson((j) => { (j['spec'] as Record<string, unknown>)['loss'] = 'binaryCrossentropy'; }), code: 'E_MODEL_FILE', message: /spec\.loss must be sparseCategoricalCrossentropy for 3 classes/ },
  { name: 'fewer feature names than inputs', spoil: setJson((j) => { j['features'] = ['a', 'b', 'c']; }), code: 'E_MODEL_FILE', message: /features must be 4 strings, one per input/ },
  { name: 'a feature named twice', spoil: setJson((j) => { j['features'] = ['a', 'b', 'a', 'd']; }), code: 'E_MODEL_FILE', message: /features names a column twice/ },
  { name: 'class labels for another number of classes', spoil: setJson((j) => { j['classLabels'] = [0, 1]; }), code: 'E_MODEL_FILE', message: /classLabels must be a list of 3 labels/ },
  { name: 'a standard deviation of 0', spoil: setJson((j) => { (j['standardize'] as { std: number[] }).std[2] = 0; }), code: 'E_MODEL_FILE', message: /standardize\.std must be 4 finite numbers above 0/ },
  { name: 'standardization of another width', spoil: setJson((j) => { (j['standardize'] as { mean: number[] }).mean.pop(); }), code: 'E_MODEL_FILE', message: /standardize\.mean must be 4 finite numbers/ },
  { name: 'no weightsSha256', spoil: setJson((j) => { delete j['weightsSha256']; }), code: 'E_MODEL_FILE', message: /weightsSha256 must be the 64 hex digits/ },
  // the weights against their hash
  { name: 'no weights file', spoil: (d) => rmSync(path.join(d, 'weights.safetensors')), code: 'E_MODEL_FILE', message: /weights\.safetensors: cannot read \(no such file\)/ },
  {
    name: 'a truncated weights file', code: 'E_WEIGHTS_HASH', message: /weights\.safetensors: SHA-256 [0-9a-f]{64} is not the [0-9a-f]{64} that .*model\.json records/,
    spoil: (d) => { const f = path.join(d, 'weights.safetensors'); writeFileSync(f, readFileSync(f).subarray(0, -12)); },
  },
  {
    name: 'one weight changed in place', code: 'E_WEIGHTS_HASH', message: /weights were cut off, edited or replaced/,
    spoil: (d) => { const f = path.join(d, 'weights.safetensors'); const b = readFileSync(f); b[b.length - 5]! ^= 0x40; writeFileSync(f, b); },
  },
  // a header that lies, behind a matching hash
  { name: 'a header length beyond the file', spoil: (d) => { const b = Buffer.from(readFileSync(path.join(good, 'weights.safetensors'))); b.writeBigUInt64LE(1n << 40n, 0); replaceWeights(d, b); }, code: 'E_SAFETENSORS', message: /header length 1099511627776 exceeds the file/ },
  { name: 'offsets out of range', spoil: (d) => replaceWeights(d, withHeader((h) => { h['layers.2.bias']!.data_offsets = [400, 412]; })), code: 'E_SAFETENSORS', message: /tensor layers\.2\.bias: data_offsets \[400, 412\] do not hold shape \[3\] of F32 within \d+ data bytes/ },
  {
    name: 'overlapping offsets', code: 'E_SAFETENSORS', message: /overlap the previous tensor's/,
    spoil: (d) => replaceWeights(d, withHeader((h) => { const o = h['layers.0.bias']!.data_offsets; h['layers.0.alpha']!.data_offsets = [o[0]!, o[1]!]; })),
  },
  { name: 'a shape that is not the byte length', spoil: (d) => replaceWeights(d, withHeader((h) => { h['layers.0.weight']!.shape = [4, 5]; h['layers.0.bias']!.shape = [6]; })), code: 'E_SAFETENSORS', message: /tensor layers\.0\.bias: data_offsets \[\d+, \d+\] do not hold shape \[6\]/ },
  { name: 'bytes after the last tensor', spoil: (d) => replaceWeights(d, withHeader(() => undefined, new Uint8Array(8))), code: 'E_SAFETENSORS', message: /8 data bytes after the last tensor/ },
  { name: 'a header that is not JSON', spoil: (d) => { const b = Buffer.from(readFileSync(path.join(good, 'weights.safetensors'))); b[8] = 0x7a; replaceWeights(d, b); }, code: 'E_SAFETENSORS', message: /header is not JSON/ },
  // tensors that do not fit the spec, or hold what no model can
  { name: 'a missing tensor', spoil: (d) => replaceWeights(d, withTensors((t) => t.delete('layers.0.bn.runningVar'))), code: 'E_WEIGHTS_MISMATCH', message: /no tensor layers\.0\.bn\.runningVar of shape \[5\]/ },
  { name: 'a tensor of another shape', spoil: (d) => replaceWeights(d, withTensors((t) => { t.get('layers.1.weight')!.shape = [5, 3]; })), code: 'E_WEIGHTS_MISMATCH', message: /tensor layers\.1\.weight has shape \[5, 3\], the model needs \[3, 5\]/ },
  { name: 'a tensor the spec has no place for', spoil: (d) => replaceWeights(d, withTensors((t) => t.set('layers.1.alpha', { dtype: 'F32', shape: [3], data: new Float32Array(3) }))), code: 'E_WEIGHTS_MISMATCH', message: /tensor layers\.1\.alpha not in the model's spec/ },
  { name: 'a NaN weight', spoil: (d) => replaceWeights(d, withTensors((t) => { t.get('layers.1.weight')!.data[4] = NaN; })), code: 'E_WEIGHTS_CORRUPT', message: /tensor layers\.1\.weight holds NaN at index 4/ },
  { name: 'a negative running variance', spoil: (d) => replaceWeights(d, withTensors((t) => { t.get('layers.0.bn.runningVar')!.data[1] = -0.5; })), code: 'E_WEIGHTS_CORRUPT', message: /tensor layers\.0\.bn\.runningVar holds the variance -0\.5 at index 1/ },
];

describe('a model directory that cannot be trusted is a ModelFileError with its code', () => {
  for (const c of CASES) {
    it(`${c.name} → ${c.code}`, async () => {
      const d = copy();
      c.spoil(d);
      const e = await loadModel(d).then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(ModelFileError);
      expect((e as ModelFileError).code).toBe(c.code);
      expect((e as Error).message).toMatch(c.message);
      expect((e as Error).message).toContain(d);
    });
  }
});

/**
 * A Python that reads safetensors files: the `safetensors` package with torch where some Python
 * has them ($QUIVER_PYTHON, python3, Debian's /usr/bin/python3), else a reader of the format's
 * specification in Python's standard library alone (an 8-byte little-endian header length, a
 * JSON header, F32 data at data_offsets), so the check runs on every machine, CI included.
 */
const PACKAGE_READER = [
  'import json, sys',
  'from safetensors.torch import load_file',
  'd = load_file(sys.argv[1])',
  'print(json.dumps({k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "values": v.flatten().tolist()} for k, v in d.items()}))',
].join('\n');
const STDLIB_READER = [
  'import json, struct, sys',
  'b = open(sys.argv[1], "rb").read()',
  'n = struct.unpack("<Q", b[:8])[0]',
  'h = json.loads(b[8:8 + n])',
  'h.pop("__metadata__", None)',
  'out = {}',
  'for k, t in h.items():',
  '    s, e = t["data_offsets"]',
  '    assert t["dtype"] == "F32", t["dtype"]',
  '    vals = list(struct.unpack("<%df" % ((e - s) // 4), b[8 + n + s:8 + n + e]))',
  '    out[k] = {"dtype": "float32", "shape": t["shape"], "values": vals}',
  'print(json.dumps(out))',
].join('\n');

function pythonReader(): { python: string; script: string; name: string } {
  const pythons = [process.env['QUIVER_PYTHON'], 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  for (const python of pythons) {
    if (spawnSync(python, ['-c', 'import safetensors.torch, torch'], { encoding: 'utf8' }).status === 0) {
      return { python, script: PACKAGE_READER, name: 'safetensors.torch.load_file' };
    }
  }
  return { python: 'python3', script: STDLIB_READER, name: 'a standard-library reader of the safetensors format' };
}

describe('Python reads the weights', () => {
  it('with the same names, shapes and float32 values', () => {
    const reader = pythonReader();
    const r = spawnSync(reader.python, ['-c', reader.script, path.join(good, 'weights.safetensors')], { encoding: 'utf8', maxBuffer: 1 << 24 });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as Record<string, { dtype: string; shape: number[]; values: number[] }>;
    expect(Object.keys(got).sort()).toEqual(model.layout.tensors.map((t) => t.name).sort());
    for (const t of model.layout.tensors) {
      expect(got[t.name]!.dtype).toBe('float32');
      expect(got[t.name]!.shape).toEqual(t.shape);
      // float32 → Python float is exact, so the values are equal, not close.
      expect(Float32Array.from(got[t.name]!.values)).toEqual(view(model.params, t));
    }
    console.log(`${reader.python}, ${reader.name}: read ${Object.keys(got).length} tensors, all equal`);
  });
});
