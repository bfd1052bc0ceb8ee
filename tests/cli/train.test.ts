import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type ModelJson } from '../../src/io/modelFile.js';
import { loadDataset, type Dataset } from '../../src/pipeline/dataset.js';
import { removeDir, simpleColumns, tempDir, writeArrow } from '../helpers/arrow.js';
import { xmlElements } from '../helpers/xml.js';
import { DATA, MAIN, ROOT, ensureBuilt, ndjson, quiver, type Run } from '../helpers/cli.js';

const TRAIN = path.join(DATA, 'seed-train.arrow');
const TEST = path.join(DATA, 'seed-test.arrow');
const INIT = path.join(DATA, 'init-relu.safetensors');
/** The seed run: quiver's defaults (64 ReLU, full batch, SGD 0.01, 100 epochs) from the article's weights. */
const SEED = ['train', '--train', TRAIN, '--test', TEST, '--init-from', INIT];
/** The PyTorch reference's loss at epoch 0 and test accuracy after epoch 99 (tests/fixtures/seed). */
const SEED_LOSS0 = 0.708440542;
const SEED_TEST_ACCURACY = 0.835;

let dir: string;
beforeAll(() => { ensureBuilt(); dir = tempDir(); });
afterAll(() => { removeDir(dir); });

function readJson(file: string): ModelJson {
  return JSON.parse(readFileSync(file, 'utf8')) as ModelJson;
}

/** Epoch events then the end event of a --log-format json run. */
function events(run: Run): { epochs: Record<string, number>[]; end: Record<string, unknown> } {
  const all = ndjson(run.stdout);
  return { epochs: all.slice(0, -1) as Record<string, number>[], end: all[all.length - 1]! };
}

/** A run that went right: status 0, nothing on stderr. */
function expectOk(run: Run): void {
  expect(run.stderr, run.stderr).toBe('');
  expect(run.status).toBe(0);
}

describe('quiver train on the seed data', () => {
  let json: Run;
  let jsonAgain: Run;
  let text: Run;
  let saveA: string;
  let saveB: string;
  let test: Dataset;
  beforeAll(async () => {
    saveA = path.join(dir, 'seed-a');
    saveB = path.join(dir, 'seed-b');
    [json, jsonAgain, text, test] = await Promise.all([
      quiver([...SEED, '--log-format', 'json', '--save', saveA]),
      quiver([...SEED, '--log-format', 'json', '--save', saveB]),
      quiver(SEED),
      loadDataset(TEST),
    ]);
  });

  it('prints only NDJSON in json mode: 100 epoch events in order, then one end event', () => {
    expectOk(json);
    const lines = json.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(101);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.slice(0, 100).map((e) => [e.event, e.epoch])).toEqual(Array.from({ length: 100 }, (_, i) => ['epoch', i]));
    for (const e of parsed.slice(0, 100)) {
      expect(Object.keys(e).sort()).toEqual(['epoch', 'event', 'layers', 'learningRate', 'loss', 'trainAccuracy']);
      const layers = e.layers as Record<string, unknown>[];
      expect(layers).toHaveLength(1); // one hidden layer
      expect(Object.keys(layers[0]!).sort()).toEqual(
        ['activeFraction', 'deadUnits', 'gradNorm', 'preActivationMean', 'preActivationStd', 'updateRatio']);
    }
    expect(parsed[100]!.event).toBe('end');
  });

  it('matches the PyTorch reference: epoch 0 loss 0.708440542, test accuracy exactly 0.835', () => {
    const { epochs, end } = events(json);
    const loss0 = epochs[0]!.loss!;
    console.log(`seed CLI: epoch 0 loss ${loss0}, |diff| ${Math.abs(loss0 - SEED_LOSS0).toExponential(2)}`);
    expect(Math.abs(loss0 - SEED_LOSS0)).toBeLessThan(1e-5);
    expect(end.testAccuracy).toBe(SEED_TEST_ACCURACY);
  });

  it('ends with epochs, loss, trainAccuracy, testLoss, testAccuracy and seconds', () => {
    const { epochs, end } = events(json);
    expect(end.epochs).toBe(100);
    for (const k of ['loss', 'trainAccuracy', 'testLoss', 'testAccuracy', 'seconds']) {
      expect(typeof end[k], k).toBe('number');
      expect(Number.isFinite(end[k]), k).toBe(true);
    }
    expect(end.loss as number).toBeLessThan(epochs[0]!.loss!);
    expect(end.trainAccuracy as number).toBeGreaterThan(0.8);
  });

  it('prints the article\'s lines in text mode, every 10th epoch', () => {
    expectOk(text);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('Epoch 0, Loss: 0.7084');
    expect(lines.filter((l) => l.startsWith('Epoch ')).map((l) => l.split(',')[0])).toEqual(
      Array.from({ length: 10 }, (_, i) => `Epoch ${i * 10}`));
    expect(lines).toContain('Test accuracy: 0.835');
    expect(lines[lines.length - 1]).toMatch(/^Trained 100 epochs in \d+\.\d{3} s$/);
  });

  it('saves a model whose predictions are the same, bit for bit, on a second run', async () => {
    expectOk(jsonAgain);
    const [a, b] = await Promise.all([loadModel(saveA), loadModel(saveB)]);
    const pa = a.predictProba(test.features, test.rows);
    const pb = b.predictProba(test.features, test.rows);
    expect(pa.length).toBe(test.rows); // two classes: P(class 1) per row
    expect(pa.every((p) => p > 0 && p < 1)).toBe(true);
    expect(Buffer.from(pa.buffer, pa.byteOffset, pa.byteLength).equals(Buffer.from(pb.buffer, pb.byteOffset, pb.byteLength))).toBe(true);
    expect(a.params).toEqual(b.params);
  });

  it('saves a model that scores the run\'s test accuracy, 0.835', async () => {
    const model = await loadModel(saveA);
    expect(model.evaluate(test.features, test.labels, test.rows).accuracy).toBe(SEED_TEST_ACCURACY);
    const classes = model.predictClasses(test.features, test.rows);
    const right = classes.reduce((s, c, i) => s + (c === test.labels[i] ? 1 : 0), 0);
    expect(right / test.rows).toBe(SEED_TEST_ACCURACY);
  });

  it('writes model.json with the format, spec, feature names, label and metrics, and no temporary files', () => {
    expect(readdirSync(saveA).sort()).toEqual(['model.json', 'weights.safetensors']);
    const m = readJson(path.join(saveA, 'model.json'));
    expect(m.format).toBe('quiver-model');
    expect(m.formatVersion).toBe(1);
    expect(m.spec.inputs).toBe(20);
    expect(m.spec.classes).toBe(2);
    expect(m.spec.layers.map((l) => [l.units, l.activation])).toEqual([[64, 'relu'], [1, 'linear']]);
    expect(m.features).toEqual(Array.from({ length: 20 }, (_, i) => `f${i}`));
    expect(m.label).toBe('label');
    expect(m.metrics?.testAccuracy).toBe(SEED_TEST_ACCURACY);
  });
});

describe('quiver train flags', () => {
  it.concurrent('trains two tanh layers in mini-batches of 100 for 3 epochs', async ({ expect }) => {
    const save = path.join(dir, 'tanh');
    const run = await quiver(['train', '--train', TRAIN, '--test', TEST, '--layers', '32,16', '--activation', 'tanh',
      '--batch-size', '100', '--epochs', '3', '--log-format', 'json', '--save', save]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const { epochs, end } = events(run);
    expect(epochs.map((e) => e.epoch)).toEqual([0, 1, 2]);
    expect(end.epochs).toBe(3);
    const m = readJson(path.join(save, 'model.json'));
    expect(m.spec.layers.map((l) => [l.units, l.activation])).toEqual([[32, 'tanh'], [16, 'tanh'], [1, 'linear']]);
  });

  it.concurrent('takes one activation per layer, and aliases (silu is swish)', async ({ expect }) => {
    const save = path.join(dir, 'per-layer');
    const run = await quiver(['train', '--train', TRAIN, '--layers', '8,8', '--activation', 'relu,silu', '--epochs', '1', '--save', save]);
    expect(run.status).toBe(0);
    const m = readJson(path.join(save, 'model.json'));
    expect(m.spec.layers.map((l) => l.activation)).toEqual(['relu', 'swish', 'linear']);
  });

  it.concurrent('applies --momentum: the first step is plain SGD\'s, the second goes further', async ({ expect }) => {
    const args = ['train', '--train', TRAIN, '--init-from', INIT, '--epochs', '3', '--log-format', 'json'];
    const [plain, heavy] = await Promise.all([quiver(args), quiver([...args, '--momentum', '0.9'])]);
    expect(heavy.stderr).toBe('');
    expect(heavy.status).toBe(0);
    const p = events(plain).epochs.map((e) => e.loss!);
    const h = events(heavy).epochs.map((e) => e.loss!);
    expect(h[0]).toBe(p[0]);
    expect(Math.abs(h[1]! - p[1]!)).toBeLessThan(1e-9);
    expect(h[2]).toBeLessThan(p[2]!);
  });

  it.concurrent('uses the --init initializer: heUniform starts from other weights than the default heNormal', async ({ expect }) => {
    const save = path.join(dir, 'he-uniform');
    const args = ['train', '--train', TRAIN, '--epochs', '1', '--log-format', 'json'];
    const [uniform, normal] = await Promise.all([quiver([...args, '--init', 'heUniform', '--save', save]), quiver(args)]);
    expect(uniform.status).toBe(0);
    const m = readJson(path.join(save, 'model.json'));
    expect(m.spec.layers[0]!.kernelInitializer).toBe('heUniform');
    expect(events(uniform).epochs[0]!.loss).not.toBe(events(normal).epochs[0]!.loss);
  });

  it.concurrent('trains with Adam, batch norm, dropout, clipping and a schedule, and saves batch norm\'s tensors', async ({ expect }) => {
    const save = path.join(dir, 'adam-bn');
    const run = await quiver(['train', '--train', TRAIN, '--test', TEST, '--layers', '32,16', '--optimizer', 'adam',
      '--batch-norm', '--dropout', '0.1,0', '--clip-norm', '1', '--lr-schedule', 'cosine', '--warmup-steps', '2',
      '--batch-size', '64', '--epochs', '8', '--log-format', 'json', '--save', save]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const { epochs, end } = events(run);
    expect(epochs[0]!.learningRate).toBeCloseTo(0.001, 12); // Adam's default rate, cosine at epoch 0
    expect(epochs[7]!.learningRate).toBeLessThan(0.0001);
    expect(end.testAccuracy as number).toBeGreaterThan(0.7); // well above the 0.5 of chance after 8 short epochs
    const m = readJson(path.join(save, 'model.json'));
    expect(m.spec.layers.map((l) => [l.batchNorm ?? false, l.dropout ?? 0])).toEqual([[true, 0.1], [true, 0], [false, 0]]);
    const model = await loadModel(save);
    expect(model.layout.tensors.map((t) => t.name)).toContain('layers.1.bn.runningVar');
  });

  it.concurrent('prints each hidden layer\'s diagnostics under the epoch lines in text mode', async ({ expect }) => {
    const run = await quiver(['train', '--train', TRAIN, '--layers', '8,4', '--epochs', '1']);
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^Epoch 0, Loss: \d\.\d{4}$/);
    expect(lines[1]).toMatch(/^  layer 0: active \d+\.\d%, dead \d+, pre-activation -?\d\.\d{3} ± \d\.\d{3}, grad norm \d\.\d{2}e[-+]\d+, update\/weight \d\.\d{2}e[-+]\d+$/);
    expect(lines[2]).toMatch(/^  layer 1: /);
  });

  it.concurrent('--plot draws the run\'s loss curve and per-layer gradient norms, as SVG or PNG', async ({ expect }) => {
    const svg = path.join(dir, 'run.svg');
    const png = path.join(dir, 'run.png');
    const [a, b] = await Promise.all([
      quiver(['train', '--train', TRAIN, '--layers', '8,4', '--epochs', '5', '--quiet', '--plot', svg]),
      quiver(['train', '--train', TRAIN, '--layers', '8', '--epochs', '5', '--quiet', '--plot', png]),
    ]);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toBe(''); // --quiet
    const text = readFileSync(svg, 'utf8');
    expect(xmlElements(text)[0]).toBe('svg');
    expect(text).toMatch(/gradient norm/i);
    expect(b.status, b.stderr).toBe(0);
    const bytes = readFileSync(png);
    expect(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect(bytes.length).toBeGreaterThan(1024);
  });

  it.concurrent('refuses a --plot file that is neither .png nor .svg before training', async ({ expect }) => {
    const r = await quiver(['train', '--train', TRAIN, '--plot', path.join(dir, 'x.jpg')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/x\.jpg": the name must end in \.svg or \.png \[E_CONFIG\]/);
  });

  it.concurrent('logs every --log-every epochs in text mode', async ({ expect }) => {
    const run = await quiver(['train', '--train', TRAIN, '--epochs', '120', '--log-every', '50']);
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n').filter((l) => l.startsWith('Epoch ')).map((l) => l.split(',')[0]))
      .toEqual(['Epoch 0', 'Epoch 50', 'Epoch 100']);
  });
});

describe('quiver train on bad input', () => {
  // Files written once; each case below points a run at one of them.
  const files: Record<string, string> = {};
  beforeAll(() => {
    files.csv = path.join(dir, 'data.csv');
    writeFileSync(files.csv, 'f0,f1,label\n1,2,0\n');
    const seed = readFileSync(TRAIN);
    files.cut = path.join(dir, 'cut.arrow');
    writeFileSync(files.cut, seed.subarray(0, seed.length >> 1));
    files.dir = path.join(dir, 'a-directory');
    mkdirSync(files.dir);
    files.noRows = writeArrow(dir, 'no-rows.arrow', { f0: [], label: [] });
    files.named = writeArrow(dir, 'named.arrow', {
      ...simpleColumns(4, 2), name: vectorFromArray(['a', 'b', 'c', 'd'], new Utf8()),
    });
    const spoilt = (name: string, column: string, row: number, value: number | null): string => {
      const cols = simpleColumns(10, 2);
      (cols[column] as (number | null)[])[row] = value;
      return writeArrow(dir, name, cols);
    };
    files.nan = spoilt('nan.arrow', 'f1', 5, NaN);
    files.inf = spoilt('inf.arrow', 'f0', 7, Infinity);
    files.nullFeature = spoilt('null-feature.arrow', 'f1', 3, null);
    files.nullLabel = spoilt('null-label.arrow', 'label', 4, null);
    files.train01 = writeArrow(dir, 'train01.arrow', simpleColumns(10, 2));
    files.test2 = writeArrow(dir, 'test2.arrow', simpleColumns(10, 2, (r) => (r === 6 ? 2 : r % 2)));
    files.testNoF1 = writeArrow(dir, 'test-no-f1.arrow', { f0: [1, 2], label: [0, 1] });
    files.seedCopy = path.join(dir, 'init copy.safetensors');
    copyFileSync(INIT, files.seedCopy);
  });

  const f = (name: string): () => string => () => files[name]!;
  type Case = { name: string; args: (string | (() => string))[]; code: string; message: RegExp };
  const cases: Case[] = [
    { name: 'an unknown activation', args: ['--activation', 'relux'], code: 'E_UNKNOWN_ACTIVATION', message: /"relux".*relu/ },
    { name: 'an unknown initializer', args: ['--init', 'heNormall'], code: 'E_UNKNOWN_INITIALIZER', message: /"heNormall".*heNormal/ },
    { name: 'a learning rate that is not a number', args: ['--lr', 'abc'], code: 'E_CONFIG', message: /--lr .*"abc"/ },
    { name: 'a learning rate of 0', args: ['--lr', '0'], code: 'E_CONFIG', message: /--lr must be a number > 0 \(got "0"\)/ },
    { name: 'zero epochs', args: ['--epochs', '0'], code: 'E_CONFIG', message: /--epochs .*"0"/ },
    { name: 'a batch size of 0', args: ['--batch-size', '0'], code: 'E_CONFIG', message: /--batch-size .*"0"/ },
    { name: 'a momentum of 1', args: ['--momentum', '1'], code: 'E_CONFIG', message: /--momentum/ },
    { name: 'an unknown log format', args: ['--log-format', 'xml'], code: 'E_CONFIG', message: /--log-format .*text, json/ },
    { name: 'a missing training file', args: ['--train', () => path.join(dir, 'missing.arrow')], code: 'E_NO_FILE', message: /missing\.arrow: no such file/ },
    { name: 'a directory as the training file', args: ['--train', f('dir')], code: 'E_NO_FILE', message: /a-directory: is a directory/ },
    { name: 'a CSV file', args: ['--train', f('csv')], code: 'E_NOT_ARROW', message: /data\.csv: not an Arrow/ },
    { name: 'a cut-off Arrow file', args: ['--train', f('cut')], code: 'E_CORRUPT_ARROW', message: /cut\.arrow: .*cut off/ },
    { name: 'a file with no rows', args: ['--train', f('noRows')], code: 'E_NO_ROWS', message: /no-rows\.arrow: has no rows/ },
    { name: 'a missing label column', args: ['--label', 'y'], code: 'E_NO_LABEL', message: /seed-train\.arrow: no label column "y"/ },
    { name: 'a string feature', args: ['--train', f('named'), '--features', 'f0,name'], code: 'E_NON_NUMERIC', message: /named\.arrow, column "name"/ },
    { name: 'a missing feature', args: ['--features', 'f0,f99'], code: 'E_NO_COLUMN', message: /no feature column "f99"/ },
    { name: 'a NaN feature', args: ['--train', f('nan')], code: 'E_NOT_FINITE', message: /nan\.arrow, column "f1", row 5: feature value NaN/ },
    { name: 'an infinite feature', args: ['--train', f('inf')], code: 'E_NOT_FINITE', message: /inf\.arrow, column "f0", row 7: feature value Infinity/ },
    { name: 'a null feature', args: ['--train', f('nullFeature')], code: 'E_NULL', message: /null-feature\.arrow, column "f1", row 3/ },
    { name: 'a null label', args: ['--train', f('nullLabel')], code: 'E_NULL_LABEL', message: /null-label\.arrow, column "label", row 4/ },
    {
      name: 'a test label outside the training classes', args: ['--train', f('train01'), '--test', f('test2')],
      code: 'E_LABEL_RANGE', message: /test2\.arrow, column "label", row 6: label 2 is not one of the task's classes 0\.\.1/,
    },
    { name: 'a test file without a training column', args: ['--train', f('train01'), '--test', f('testNoF1')], code: 'E_NO_COLUMN', message: /test-no-f1\.arrow: no feature column "f1"/ },
    {
      name: 'initial weights of the wrong shape', args: ['--layers', '32', '--init-from', f('seedCopy')],
      code: 'E_WEIGHTS_MISMATCH', message: /init copy\.safetensors: tensor layers\.0\.weight has shape \[64, 20\], the model needs \[32, 20\]/,
    },
    { name: 'missing initial weights', args: ['--init-from', () => path.join(dir, 'none.safetensors')], code: 'E_MODEL_FILE', message: /none\.safetensors: cannot read/ },
    { name: 'initial weights that are not safetensors', args: ['--init-from', f('csv')], code: 'E_SAFETENSORS', message: /data\.csv: not a valid safetensors/ },
    { name: 'an unknown optimizer', args: ['--optimizer', 'rmsprop'], code: 'E_CONFIG', message: /--optimizer must be one of sgd, adam, adamw \(got "rmsprop"\)/ },
    { name: 'Adam\'s betas with sgd', args: ['--beta1', '0.8'], code: 'E_CONFIG', message: /--beta1 set Adam's moments; they do not apply to --optimizer sgd/ },
    { name: 'momentum with adam', args: ['--optimizer', 'adam', '--momentum', '0.9'], code: 'E_CONFIG', message: /--momentum apply to --optimizer sgd, not adam/ },
    { name: 'Nesterov without momentum', args: ['--nesterov'], code: 'E_CONFIG', message: /nesterov needs a momentum > 0/ },
    { name: 'a dropout of 1', args: ['--dropout', '1'], code: 'E_CONFIG', message: /--dropout must be a number/ },
    { name: 'two dropouts for one layer', args: ['--dropout', '0.1,0.2'], code: 'E_CONFIG', message: /--dropout takes one probability or one per layer \(1 layers, got 2\)/ },
    { name: 'a clip norm of 0', args: ['--clip-norm', '0'], code: 'E_CONFIG', message: /--clip-norm must be a number > 0/ },
    { name: 'an unknown schedule', args: ['--lr-schedule', 'linear'], code: 'E_CONFIG', message: /--lr-schedule must be one of constant, step, exponential, cosine/ },
    { name: 'early stopping without validation rows', args: ['--early-stopping', '3'], code: 'E_CONFIG', message: /early stopping watches a validation loss/ },
  ];

  it.concurrent.for(cases.map((c, i) => ({ ...c, i })))('refuses $name: exit 2, one line with [$code], no model saved', async ({ args, code, message, i }, { expect }) => {
    const save = path.join(dir, `failed-${i}`);
    const given = args.map((a) => (typeof a === 'function' ? a() : a));
    const train = given.includes('--train') ? [] : ['--train', TRAIN];
    const run = await quiver(['train', ...train, '--epochs', '2', '--log-format', 'json', ...given, '--save', save]);
    expect(run.status).toBe(2);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^quiver: /);
    expect(lines[0]!.endsWith(` [${code}]`), lines[0]).toBe(true);
    expect(lines[0]).toMatch(message);
    expect(run.stderr).not.toContain('    at ');
    expect(run.stdout).toBe('');
    expect(existsSync(save)).toBe(false);
  });

  it.concurrent('--drop-invalid trains on the other rows and says how many it left out', async ({ expect }) => {
    const save = path.join(dir, 'dropped');
    const run = await quiver(['train', '--train', files.nan!, '--epochs', '2', '--drop-invalid', '--log-format', 'json', '--save', save]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^quiver: left out 1 rows of .*nan\.arrow with a null, NaN or infinite value \(--drop-invalid\)\n$/);
    expect(ndjson(run.stdout).at(-1)!.event).toBe('end');
    expect(existsSync(path.join(save, 'weights.safetensors'))).toBe(true);
  });

  it.concurrent('refuses an unknown flag with exit 2 and no stack', async ({ expect }) => {
    const run = await quiver(['train', '--train', TRAIN, '--bogus']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("unknown option '--bogus'");
    expect(run.stderr).not.toContain('    at ');
    expect(run.stdout).toBe('');
  });

  it.concurrent('refuses a train run without --train with exit 2', async ({ expect }) => {
    const run = await quiver(['train']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/required option '--train <file>'/);
  });

  it.concurrent.for(['1e30', '1e6'])('exits 3 on divergence at --lr %s with [E_DIVERGED], after printing the epochs before it, and saves the last finite weights', async (lr, { expect }) => {
    const save = path.join(dir, `diverged-${lr}`);
    const run = await quiver(['train', '--train', TRAIN, '--lr', lr, '--log-format', 'json', '--save', save]);
    expect(run.status).toBe(3);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^quiver: (the loss became (NaN|-?Infinity)|the update made a weight infinite or NaN) at epoch \d+, step \d+.*--clip-norm.*--lr.*\[E_DIVERGED\]\n$/);
    // Events stream as epochs end: the ones before the divergence are on stdout.
    const lines = ndjson(run.stdout);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((e) => e.event === 'epoch' || e.event === 'warning')).toBe(true);
    const model = await loadModel(save);
    expect(model.params.every((v) => Number.isFinite(v))).toBe(true);
    expect((readJson(path.join(save, 'model.json')).metrics as Record<string, unknown>).diverged).toMatch(/diverged/);
  });
});

describe('quiver train with stdout closed early', () => {
  it('finishes and saves when the reader of its log goes away (quiver train | head -1)', async () => {
    const save = path.join(dir, 'head');
    const { status, first } = await new Promise<{ status: number | null; first: string }>((resolve) => {
      const child = spawn(process.execPath, [MAIN, 'train', '--train', TRAIN, '--epochs', '300', '--log-format', 'json', '--save', save],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
      let first = '';
      child.stdout.once('data', (chunk: Buffer) => { first = chunk.toString('utf8').split('\n')[0]!; child.stdout.destroy(); });
      child.on('close', (code) => resolve({ status: code, first }));
    });
    expect(JSON.parse(first)).toMatchObject({ event: 'epoch', epoch: 0 });
    expect(status).toBe(0);
    expect(readJson(path.join(save, 'model.json')).metrics?.epochs).toBe(300);
  });
});

describe('quiver generate, then train', () => {
  let two: string;
  let three: string;
  beforeAll(async () => {
    two = path.join(dir, 'gen2.arrow');
    three = path.join(dir, 'gen3.arrow');
    const common = ['--rows', '500', '--features', '8', '--informative', '4', '--seed', '3'];
    const runs = await Promise.all([
      quiver(['generate', '--out', two, ...common]),
      quiver(['generate', '--out', three, ...common, '--classes', '3']),
    ]);
    for (const r of runs) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^wrote 500 rows x 9 columns to /);
    }
  });

  it('trains a binary model on a generated file', async () => {
    const save = path.join(dir, 'gen2-model');
    const run = await quiver(['train', '--train', two, '--epochs', '5', '--log-format', 'json', '--save', save]);
    expectOk(run);
    const { epochs, end } = events(run);
    expect(epochs).toHaveLength(5);
    expect(end).toMatchObject({ event: 'end', epochs: 5 });
    const m = readJson(path.join(save, 'model.json'));
    expect(m.spec.classes).toBe(2);
    expect(m.spec.loss).toBe('binaryCrossentropy');
    expect(m.features).toEqual(Array.from({ length: 8 }, (_, i) => `f${i}`));
  });

  it('trains a 3-class softmax model, better than chance, on a file generated with --classes 3', async () => {
    const save = path.join(dir, 'gen3-model');
    const run = await quiver(['train', '--train', three, '--epochs', '50', '--lr', '0.1', '--batch-size', '50',
      '--log-format', 'json', '--save', save]);
    expectOk(run);
    const { end } = events(run);
    expect(end.trainAccuracy as number).toBeGreaterThan(1 / 3);
    const m = readJson(path.join(save, 'model.json'));
    expect(m.spec.classes).toBe(3);
    expect(m.spec.loss).toBe('sparseCategoricalCrossentropy');
    expect(m.spec.layers[m.spec.layers.length - 1]!.units).toBe(3);
    const model = await loadModel(save);
    const data = await loadDataset(three);
    expect(model.predictProba(data.features, 1)).toHaveLength(3);
    expect(model.evaluate(data.features, data.labels, data.rows).accuracy).toBe(end.trainAccuracy);
  });

  it('writes the same file twice for the same seed', async () => {
    const again = path.join(dir, 'gen2-again.arrow');
    const run = await quiver(['generate', '--out', again, '--rows', '500', '--features', '8', '--informative', '4', '--seed', '3']);
    expect(run.status).toBe(0);
    expect(readFileSync(again).equals(readFileSync(two))).toBe(true);
  });

  it('refuses more informative columns than features with exit 2 and [E_CONFIG]', async () => {
    const out = path.join(dir, 'never.arrow');
    const run = await quiver(['generate', '--out', out, '--features', '8', '--informative', '9']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^quiver: .*--informative.*\[E_CONFIG\]\n$/);
    expect(existsSync(out)).toBe(false);
  });
});
