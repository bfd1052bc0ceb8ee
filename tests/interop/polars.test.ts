/**
 * Files written by Polars (nodejs-polars 0.25.2): IPC files uncompressed, LZ4 and ZSTD, and IPC
 * streams, each read by quiver with the values Polars was given and trained on through the CLI;
 * and quiver's predictions file read back by Polars, row for row.
 *
 * The frame has three chunks, which an IPC file keeps as three record batches.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import pl from 'nodejs-polars';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/io/modelFile.js';
import { loadDataset } from '../../src/pipeline/dataset.js';
import { openSource } from '../../src/pipeline/source.js';
import { removeDir, tempDir } from '../helpers/arrow.js';
import { MAIN, ensureBuilt, ndjson, quiver } from '../helpers/cli.js';

const CHUNK = 700;
const ROWS = 3 * CHUNK;
let dir: string;
/** The values the frame was built from, by column. */
const values = {
  a: Array.from({ length: ROWS }, (_, i) => Math.sin(i * 0.37) * 3),
  b: Array.from({ length: ROWS }, (_, i) => (i * 7) % 11 - 5),
  c: Array.from({ length: ROWS }, (_, i) => Math.fround(Math.cos(i * 0.11))),
  label: [] as string[],
};
values.label = values.a.map((a, i) => (a + 2 * values.c[i]! > 0.3 ? 'yes' : 'no'));
const files: Record<string, string> = {};

beforeAll(() => {
  ensureBuilt();
  dir = tempDir();
  const whole = pl.DataFrame({
    a: pl.Series('a', values.a, pl.Float64),
    b: pl.Series('b', values.b, pl.Int64),
    c: pl.Series('c', values.c, pl.Float32),
    label: pl.Series('label', values.label, pl.Utf8),
  }).withColumns(pl.col('label').cast(pl.Categorical).alias('label_cat'));
  const df = pl.concat([0, 1, 2].map((k) => whole.slice(k * CHUNK, CHUNK)), { rechunk: false, how: 'vertical' });
  expect(df.height).toBe(ROWS);
  for (const compression of ['uncompressed', 'lz4', 'zstd'] as const) {
    files[`file-${compression}`] = path.join(dir, `${compression}.arrow`);
    // Polars 0.25 refuses to write a Categorical of several chunks to an IPC file ("Dictionary
    // replacement detected"), so only the streams, which it writes as one batch, carry label_cat.
    df.drop('label_cat').writeIPC(files[`file-${compression}`]!, { compression });
    files[`stream-${compression}`] = path.join(dir, `${compression}.arrows`);
    df.writeIPCStream(files[`stream-${compression}`]!, { compression });
  }
});
afterAll(() => removeDir(dir));

const written = ['file-uncompressed', 'file-lz4', 'file-zstd', 'stream-uncompressed', 'stream-lz4', 'stream-zstd'];

describe('Arrow IPC written by Polars', () => {
  it('compresses when asked: LZ4 and ZSTD files are far smaller than the uncompressed one', () => {
    const size = (k: string): number => statSync(files[k]!).size;
    for (const k of ['file-lz4', 'file-zstd', 'stream-lz4', 'stream-zstd']) expect(size(k)).toBeLessThan(0.8 * size(k.replace(/-.*/, '-uncompressed')));
  });

  it.each(written)('%s: read batch by batch with the values Polars was given, string labels (and Categorical in streams) alike', async (key) => {
    const source = await openSource(files[key]!);
    expect(source.format).toBe(key.startsWith('file') ? 'ipc-file' : 'ipc-stream');
    const stream = key.startsWith('stream');
    // Polars writes strings as Utf8View in a file and as LargeUtf8 in a stream.
    expect(source.schema.fields.map((f) => `${f.name}: ${String(f.type)}`)).toEqual(['a: Float64', 'b: Int64', 'c: Float32',
      ...(stream ? ['label: LargeUtf8', 'label_cat: Dictionary<Uint32, LargeUtf8>'] : ['label: Utf8View'])]);
    let batches = 0;
    for await (const b of source.batches) batches += b.numRows > 0 ? 1 : 0;
    await source.close();
    expect(batches).toBe(stream ? 1 : 3); // Polars 0.25 writes a stream as one batch, whatever the chunks
    const d = await loadDataset(files[key]!);
    expect(d.rows).toBe(ROWS);
    expect(d.featureNames).toEqual(['a', 'b', 'c']);
    const want = new Float32Array(ROWS * 3);
    for (let r = 0; r < ROWS; r++) want.set([values.a[r]!, values.b[r]!, values.c[r]!], r * 3);
    expect(d.features).toEqual(want);
    const first = values.label[0]!;
    expect(d.classLabels).toEqual([first, first === 'yes' ? 'no' : 'yes']);
    expect(Array.from(d.labels, (c) => d.classLabels[c])).toEqual(values.label);
    if (stream) expect((await loadDataset(files[key]!, { label: 'label_cat' })).labels).toEqual(d.labels);
  });
});

describe('quiver train, predict and evaluate on Polars files', () => {
  let model: string;
  let trainRun: Record<string, unknown>;
  beforeAll(async () => {
    model = path.join(dir, 'model');
    const r = await quiver(['train', '--train', files['file-zstd']!, '--epochs', '40', '--batch-size', '64', '--lr', '0.05',
      '--layers', '16', '--log-format', 'json', '--save', model]);
    expect(r.status, r.stderr).toBe(0);
    trainRun = ndjson(r.stdout).at(-1)!;
  });

  it('trains on the ZSTD file and learns its labels', () => {
    expect(trainRun.event).toBe('end');
    console.log(`polars zstd: train accuracy ${trainRun.trainAccuracy}`);
    expect(trainRun.trainAccuracy).toBeGreaterThan(0.9);
  });

  it('trains the same model from the LZ4 IPC stream piped to stdin as from the ZSTD file, full batch', async () => {
    const fromFile = path.join(dir, 'full-file');
    const fromPipe = path.join(dir, 'full-pipe');
    const args = ['--epochs', '3', '--layers', '8', '--log-format', 'json'];
    const a = await quiver(['train', '--train', files['file-zstd']!, ...args, '--save', fromFile]);
    expect(a.status, a.stderr).toBe(0);
    execFileSync(process.execPath, [MAIN, 'train', '--train', '-', ...args, '--save', fromPipe], { input: readFileSync(files['stream-lz4']!), stdio: ['pipe', 'ignore', 'pipe'] });
    expect((await loadModel(fromPipe)).params).toEqual((await loadModel(fromFile)).params);
  });

  // nodejs-polars takes a string for a path only when it ends in .ipc (anything else is read as
  // the bytes themselves), so the stream is handed over as a Buffer.
  it.each(['preds.ipc', 'preds.arrows'])('writes %s, which Polars reads back: every row, the kept label, and the model\'s probabilities and classes', async (name) => {
    const out = path.join(dir, name);
    const r = await quiver(['predict', '--model', model, '--input', files['file-lz4']!, '--out', out, '--keep', 'label,b']);
    expect(r.status, r.stderr).toBe(0);
    const df = name.endsWith('.arrows') ? pl.readIPCStream(readFileSync(out)) : pl.readIPC(out);
    expect(df.height).toBe(ROWS);
    expect(df.columns).toEqual(['label', 'b', 'prediction', 'probability']);
    expect(df.getColumn('label').toArray()).toEqual(values.label);
    expect(df.getColumn('b').toArray().map(Number)).toEqual(values.b);
    const m = await loadModel(model);
    const data = await loadDataset(files['file-lz4']!);
    const p = m.predictProba(data.features, data.rows);
    const classes = m.predictClasses(data.features, data.rows);
    const got = df.getColumn('probability').toArray() as number[];
    let max = 0;
    for (let i = 0; i < ROWS; i++) max = Math.max(max, Math.abs(got[i]! - p[i]!));
    console.log(`polars reads ${name}: max |probability − predictProba| ${max}`);
    expect(max).toBeLessThan(1e-6);
    expect(df.getColumn('prediction').toArray()).toEqual(Array.from(classes, (c) => m.info.classLabels![c]));
  });

  it('evaluates the uncompressed stream to the accuracy of the predictions', async () => {
    const r = await quiver(['evaluate', '--model', model, '--input', files['stream-uncompressed']!, '--log-format', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const e = ndjson(r.stdout)[0]!;
    const m = await loadModel(model);
    const data = await loadDataset(files['file-uncompressed']!);
    const classes = m.predictClasses(data.features, data.rows);
    const right = Array.from(classes, (c) => m.info.classLabels![c]).filter((l, i) => l === values.label[i]).length;
    expect(e.rows).toBe(ROWS);
    expect(e.accuracy).toBe(right / ROWS);
  });
});
