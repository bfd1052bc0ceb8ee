import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/io/modelFile.js';
import { loadDataset } from '../../src/pipeline/dataset.js';
import { batches, removeDir, table, tempDir, writeArrow, type Column } from '../helpers/arrow.js';
import { DATA, MAIN, ROOT, ensureBuilt, ndjson, quiver, type Run } from '../helpers/cli.js';

const TRAIN = path.join(DATA, 'seed-train.arrow');
const TEST = path.join(DATA, 'seed-test.arrow');
const INIT = path.join(DATA, 'init-relu.safetensors');
/** The seed run's test accuracy, as the PyTorch reference has it (tests/fixtures/seed). */
const SEED_TEST_ACCURACY = 0.835;

let dir: string;
let seedModel: string;
let model3: string;
let data3: string;
beforeAll(async () => {
  ensureBuilt();
  dir = tempDir();
  seedModel = path.join(dir, 'seed');
  model3 = path.join(dir, 'three');
  data3 = path.join(dir, 'three.arrow');
  const [train, gen] = await Promise.all([
    quiver(['train', '--train', TRAIN, '--init-from', INIT, '--save', seedModel]),
    quiver(['generate', '--out', data3, '--rows', '300', '--features', '6', '--informative', '3', '--classes', '3', '--seed', '3', '--batch-rows', '128']),
  ]);
  expect(train.status, train.stderr).toBe(0);
  expect(gen.status, gen.stderr).toBe(0);
  const t3 = await quiver(['train', '--train', data3, '--epochs', '30', '--lr', '0.1', '--save', model3]);
  expect(t3.status, t3.stderr).toBe(0);
});
afterAll(() => { removeDir(dir); });

let n = 0;
/** A fresh, empty directory for one run's output: what is in it afterwards is what the run left. */
function outDir(): string {
  const d = path.join(dir, `out${n++}`);
  mkdirSync(d);
  return d;
}

function read(file: string): Table {
  return tableFromIPC(readFileSync(file));
}

/** The run succeeded with the one-line summary on stderr. */
function expectPredicted(r: Run, rows: number): void {
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toMatch(new RegExp(`^wrote ${rows} rows to .+ in \\d+\\.\\d{3} s\\n$`));
}

/** Exit 2 and one stderr line that ends in the code. */
function expectError(r: Run, code: string, message?: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^quiver: .*\\[${code}\\]$`));
  if (message) expect(lines[0]).toMatch(message);
}

describe('quiver predict on the seed data', () => {
  let test: Table;
  let out: Table;
  beforeAll(async () => {
    test = read(TEST);
    const file = path.join(outDir(), 'preds.arrow');
    expectPredicted(await quiver(['predict', '--model', seedModel, '--input', TEST, '--out', file]), 200);
    expect(readFileSync(file).subarray(0, 6).toString('latin1')).toBe('ARROW1');
    out = read(file);
  });

  it('writes 200 rows: the input columns unchanged, then prediction (Int32) and probability (Float32)', () => {
    expect(out.numRows).toBe(200);
    const names = test.schema.fields.map((f) => f.name);
    expect(out.schema.fields.map((f) => f.name)).toEqual([...names, 'prediction', 'probability']);
    expect(out.schema.fields.slice(-2).map((f) => String(f.type))).toEqual(['Int32', 'Float32']);
    for (const f of test.schema.fields) {
      expect(String(out.getChild(f.name)!.type)).toBe(String(f.type));
      expect([...out.getChild(f.name)!]).toEqual([...test.getChild(f.name)!]);
    }
  });

  it('gives the probabilities of loadModel(dir).predictProba, within 1e-6', async () => {
    const model = await loadModel(seedModel);
    const data = await loadDataset(TEST);
    const want = model.predictProba(data.features, data.rows);
    const got = out.getChild('probability')!.toArray() as Float32Array;
    let max = 0;
    for (let i = 0; i < 200; i++) max = Math.max(max, Math.abs(got[i]! - want[i]!));
    console.log(`predict vs predictProba: max |diff| ${max}`);
    expect(max).toBeLessThan(1e-6);
  });

  it('predicts the labels with the seed\'s test accuracy, 0.835', () => {
    const pred = [...out.getChild('prediction')!];
    const label = [...out.getChild('label')!];
    expect(pred.filter((p, i) => p === label[i]).length / 200).toBe(SEED_TEST_ACCURACY);
  });

  it('writes an IPC stream for .arrows', async () => {
    const file = path.join(outDir(), 'preds.arrows');
    expectPredicted(await quiver(['predict', '--model', seedModel, '--input', TEST, '--out', file]), 200);
    const bytes = readFileSync(file);
    expect(bytes.readUInt32LE(0)).toBe(0xffffffff);
    expect([...tableFromIPC(bytes).getChild('probability')!]).toEqual([...out.getChild('probability')!]);
  });

  it('streams to stdout for --out -', async () => {
    ensureBuilt();
    const { status, stdout, stderr } = await new Promise<{ status: number; stdout: Buffer; stderr: string }>((resolve) => {
      execFile(process.execPath, [MAIN, 'predict', '--model', seedModel, '--input', TEST, '--out', '-'],
        { cwd: ROOT, encoding: 'buffer', maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
          resolve({ status: error === null ? 0 : Number(error.code), stdout, stderr: stderr.toString() });
        });
    });
    expect(status, stderr).toBe(0);
    expect(stderr).toMatch(/^wrote 200 rows to stdout in/);
    expect(stdout.readUInt32LE(0)).toBe(0xffffffff);
    expect([...tableFromIPC(stdout).getChild('prediction')!]).toEqual([...out.getChild('prediction')!]);
  });

  it('carries over only the --keep columns, in that order', async () => {
    const file = path.join(outDir(), 'keep.arrow');
    expectPredicted(await quiver(['predict', '--model', seedModel, '--input', TEST, '--out', file, '--keep', 'f0,label']), 200);
    const t = read(file);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['f0', 'label', 'prediction', 'probability']);
    expect([...t.getChild('f0')!]).toEqual([...test.getChild('f0')!]);
    expect([...t.getChild('probability')!]).toEqual([...out.getChild('probability')!]);
  });
});

describe('quiver evaluate', () => {
  it('prints one JSON line on the seed test set: accuracy 0.835, a confusion matrix of 200 rows, auc in (0.5, 1]', async () => {
    const r = await quiver(['evaluate', '--model', seedModel, '--input', TEST, '--log-format', 'json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = ndjson(r.stdout);
    expect(lines).toHaveLength(1);
    const e = lines[0]!;
    console.log(`evaluate seed: ${r.stdout.trim()}`);
    expect(Object.keys(e)).toEqual(['event', 'loss', 'accuracy', 'precision', 'recall', 'f1', 'auc', 'confusion', 'rows']);
    expect(e.event).toBe('evaluate');
    expect(e.accuracy).toBe(SEED_TEST_ACCURACY);
    expect(e.rows).toBe(200);
    const confusion = e.confusion as number[][];
    expect(confusion).toHaveLength(2);
    expect(confusion.flat().reduce((a, b) => a + b)).toBe(200);
    expect(confusion[0]![0]! + confusion[1]![1]!).toBe(167);
    expect(e.auc).toBeGreaterThan(0.5);
    expect(e.auc).toBeLessThanOrEqual(1);
    expect(e.loss).toBeGreaterThan(0);
    for (const k of ['precision', 'recall', 'f1']) expect(e[k]).toBeGreaterThan(0.5);
  });

  it('takes the label column from --label, and prints a text report by default', async () => {
    const relabelled = writeArrow(dir, 'relabelled.arrow', (() => {
      const t = read(TEST);
      const cols: Record<string, Column> = {};
      for (const f of t.schema.fields) cols[f.name === 'label' ? 'y' : f.name] = t.getChild(f.name)!;
      return table(cols);
    })());
    const r = await quiver(['evaluate', '--model', seedModel, '--input', relabelled, '--label', 'y']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Evaluated 200 rows: loss \d\.\d{4}, accuracy 0\.8350\n/);
    expect(r.stdout).toMatch(/\nmacro avg +0\.\d{4} +0\.\d{4} +0\.\d{4} +200\n/);
    expect(r.stdout).toMatch(/\nROC AUC: 0\.\d{4}\n/);
    expect(r.stdout).toMatch(/Confusion matrix \(rows: true class, columns: predicted class\):/);
  });
});

describe('a 3-class model', () => {
  it('predicts three probability columns that sum to 1, and evaluates with a 3x3 confusion matrix and no auc', async () => {
    const file = path.join(outDir(), 'three.arrow');
    expectPredicted(await quiver(['predict', '--model', model3, '--input', data3, '--out', file, '--keep', 'label']), 300);
    const t = read(file);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['label', 'prediction', 'probability_0', 'probability_1', 'probability_2']);
    const p = [0, 1, 2].map((j) => t.getChild(`probability_${j}`)!.toArray() as Float32Array);
    const pred = [...t.getChild('prediction')!] as number[];
    let worst = 0;
    for (let r = 0; r < 300; r++) {
      worst = Math.max(worst, Math.abs(p[0]![r]! + p[1]![r]! + p[2]![r]! - 1));
      const argmax = [0, 1, 2].reduce((best, j) => (p[j]![r]! > p[best]![r]! ? j : best), 0);
      expect(pred[r]).toBe(argmax);
    }
    expect(worst).toBeLessThan(1e-6);
    const label = [...t.getChild('label')!];
    const accuracy = pred.filter((v, i) => v === label[i]).length / 300;
    const r = await quiver(['evaluate', '--model', model3, '--input', data3, '--log-format', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const e = ndjson(r.stdout)[0]!;
    expect(e).not.toHaveProperty('auc');
    expect((e.confusion as number[][]).map((row) => row.length)).toEqual([3, 3, 3]);
    expect(e.accuracy).toBe(accuracy);
  });
});

describe('bad input: one line with the code, exit 2, no output file and no temporary left', () => {
  const files: Record<string, string> = {};
  /** Seed-shaped columns f0..f19 and label for rows [from, from + rows); NaN in f3 at row `nanAt`. */
  function seedShaped(from: number, rows: number, nanAt = -1, label = (r: number): number => r % 2): Record<string, Column> {
    const cols: Record<string, Column> = {};
    for (let j = 0; j < 20; j++) cols[`f${j}`] = Array.from({ length: rows }, (_, i) => (from + i === nanAt && j === 3 ? NaN : Math.sin(from + i + j)));
    cols.label = Array.from({ length: rows }, (_, i) => label(from + i));
    return cols;
  }
  beforeAll(() => {
    const seed = readFileSync(TEST);
    files.cut = path.join(dir, 'cut.arrow');
    writeFileSync(files.cut, seed.subarray(0, seed.length >> 1));
    const stream = tableToIPC(read(TEST), 'stream');
    files.cutStream = path.join(dir, 'cut.arrows');
    writeFileSync(files.cutStream, stream.subarray(0, stream.length >> 1));
    files.csv = path.join(dir, 'data.arrow');
    writeFileSync(files.csv, 'f0,f1,label\n1,2,0\n');
    const noF19 = seedShaped(0, 10);
    delete noF19.f19;
    files.noF19 = writeArrow(dir, 'no-f19.arrow', noF19);
    // Three record batches of 10 rows; the NaN is in the third (row 22 of the file).
    files.nan = writeArrow(dir, 'nan.arrow', batches(table(seedShaped(0, 10)), table(seedShaped(10, 10)), table(seedShaped(20, 10, 22))));
    files.label2 = writeArrow(dir, 'label2.arrow', batches(table(seedShaped(0, 10)), table(seedShaped(10, 10, -1, (r) => (r === 13 ? 2 : r % 2)))));
    files.empty = writeArrow(dir, 'empty.arrow', seedShaped(0, 0));
  });

  const predictCases: { name: string; args: () => string[]; out?: string; code: string; message: RegExp }[] = [
    { name: 'a missing model directory', args: () => ['--model', path.join(dir, 'nope'), '--input', TEST], code: 'E_MODEL_FILE', message: /nope.*model\.json: cannot read \(no such file\)/ },
    { name: 'an input missing a feature column', args: () => ['--input', files.noF19!], code: 'E_NO_COLUMN', message: /no-f19\.arrow: no feature column "f19"/ },
    { name: 'a NaN in the 3rd record batch', args: () => ['--input', files.nan!], code: 'E_NOT_FINITE', message: /nan\.arrow, column "f3", row 22: feature value NaN/ },
    { name: 'a NaN in the 3rd record batch, to a stream', args: () => ['--input', files.nan!], out: 'preds.arrows', code: 'E_NOT_FINITE', message: /row 22/ },
    { name: 'an input that is not Arrow', args: () => ['--input', files.csv!], code: 'E_NOT_ARROW', message: /data\.arrow: not an Arrow IPC file/ },
    { name: 'a cut-off IPC file', args: () => ['--input', files.cut!], code: 'E_CORRUPT_ARROW', message: /cut\.arrow: .*cut off/ },
    { name: 'a cut-off IPC stream', args: () => ['--input', files.cutStream!], code: 'E_CORRUPT_ARROW', message: /cut\.arrows: .*cut off/ },
    { name: 'an input with no rows', args: () => ['--input', files.empty!], code: 'E_NO_ROWS', message: /empty\.arrow: has no rows/ },
    { name: 'a missing input', args: () => ['--input', path.join(dir, 'absent.arrow')], code: 'E_NO_FILE', message: /absent\.arrow: no such file/ },
    { name: 'a --keep column the input lacks', args: () => ['--input', TEST, '--keep', 'f0,id'], code: 'E_NO_COLUMN', message: /no column "id" to keep/ },
    { name: 'an --out name of no Arrow format', args: () => ['--input', TEST], out: 'preds.csv', code: 'E_CONFIG', message: /preds\.csv: cannot tell the Arrow format/ },
  ];
  for (const c of predictCases) {
    it(`predict: ${c.name} → ${c.code}`, async () => {
      const d = outDir();
      const args = c.args();
      const r = await quiver(['predict', ...(args.includes('--model') ? [] : ['--model', seedModel]), ...args, '--out', path.join(d, c.out ?? 'preds.arrow')]);
      expectError(r, c.code, c.message);
      expect(readdirSync(d)).toEqual([]);
    });
  }

  it('predict: an --out directory that does not exist → E_OUT_FILE', async () => {
    const r = await quiver(['predict', '--model', seedModel, '--input', TEST, '--out', path.join(dir, 'no', 'such', 'p.arrow')]);
    expectError(r, 'E_OUT_FILE', /p\.arrow: cannot write \(no such directory\)/);
  });

  const evaluateCases: { name: string; args: () => string[]; code: string; message: RegExp }[] = [
    { name: 'a label outside the model\'s classes', args: () => ['--input', files.label2!], code: 'E_LABEL_RANGE', message: /label2\.arrow, column "label", row 13: label 2 is not one of the model's classes 0, 1/ },
    { name: 'a missing label column', args: () => ['--input', TEST, '--label', 'y'], code: 'E_NO_LABEL', message: /no label column "y"/ },
    { name: 'a missing model directory', args: () => ['--model', path.join(dir, 'nope'), '--input', TEST], code: 'E_MODEL_FILE', message: /model\.json: cannot read/ },
    { name: 'an input missing a feature column', args: () => ['--input', files.noF19!], code: 'E_NO_COLUMN', message: /no feature column "f19"/ },
    { name: 'a NaN in the 3rd record batch', args: () => ['--input', files.nan!], code: 'E_NOT_FINITE', message: /row 22/ },
    { name: 'an input that is not Arrow', args: () => ['--input', files.csv!], code: 'E_NOT_ARROW', message: /not an Arrow IPC file/ },
    { name: 'a cut-off IPC file', args: () => ['--input', files.cut!], code: 'E_CORRUPT_ARROW', message: /cut off/ },
    { name: 'an input with no rows', args: () => ['--input', files.empty!], code: 'E_NO_ROWS', message: /has no rows/ },
    { name: 'an unknown --log-format', args: () => ['--input', TEST, '--log-format', 'yaml'], code: 'E_CONFIG', message: /--log-format must be one of text, json/ },
  ];
  for (const c of evaluateCases) {
    it(`evaluate: ${c.name} → ${c.code}`, async () => {
      const args = c.args();
      const r = await quiver(['evaluate', ...(args.includes('--model') ? [] : ['--model', seedModel]), ...args]);
      expectError(r, c.code, c.message);
    });
  }
});
