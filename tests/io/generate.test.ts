import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC, type Table } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { makeClassification, writeClassificationArrow, type MakeClassificationOptions } from '../../src/io/generate.js';

const base: MakeClassificationOptions = { rows: 1000, features: 8, informative: 4, classes: 2, seed: 42 };

let dir: string;
beforeEach(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'quiver-')); });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

async function writeAndRead(options: MakeClassificationOptions, name = 'data.arrow'): Promise<Table> {
  const file = path.join(dir, name);
  await writeClassificationArrow(file, options);
  return tableFromIPC(await readFile(file));
}

/** All rows of makeClassification, concatenated. */
function collect(options: MakeClassificationOptions): { features: Float32Array; labels: Int32Array } {
  const features: number[] = [];
  const labels: number[] = [];
  for (const batch of makeClassification(options)) {
    expect(batch.features.length).toBe(batch.rows * options.features);
    features.push(...batch.features);
    labels.push(...batch.labels);
  }
  return { features: Float32Array.from(features), labels: Int32Array.from(labels) };
}

/** Column j of a row-major (rows, features) matrix, as float64. */
function column(x: Float32Array, features: number, j: number): Float64Array {
  return Float64Array.from({ length: x.length / features }, (_, r) => x[r * features + j]!);
}

/** rms(y - X b) / rms(y) for the least-squares b, by the normal equations and Gaussian elimination. */
function relativeResidual(xs: Float64Array[], y: Float64Array): number {
  const k = xs.length;
  const a = xs.map((xi) => [...xs.map((xj) => dot(xi, xj)), dot(xi, y)]);
  for (let p = 0; p < k; p++) {
    for (let i = p + 1; i < k; i++) {
      const f = a[i]![p]! / a[p]![p]!;
      for (let j = p; j <= k; j++) a[i]![j]! -= f * a[p]![j]!;
    }
  }
  const b = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let s = a[i]![k]!;
    for (let j = i + 1; j < k; j++) s -= a[i]![j]! * b[j]!;
    b[i] = s / a[i]![i]!;
  }
  const residual = y.map((yr, r) => yr - xs.reduce((s, xi, i) => s + xi[r]! * b[i]!, 0));
  return Math.sqrt(dot(residual, residual) / dot(y, y));
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

describe('writeClassificationArrow', () => {
  it('writes f0…f{n-1} as Float32 and label as Int32, one record batch per batchRows rows', async () => {
    const table = await writeAndRead({ ...base, batchRows: 300 });
    expect(table.numRows).toBe(1000);
    expect(table.batches.map((b) => b.numRows)).toEqual([300, 300, 300, 100]);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'label']);
    expect(table.schema.fields.map((f) => String(f.type))).toEqual([...Array(8).fill('Float32'), 'Int32']);
    expect(table.getChild('label')!.nullCount).toBe(0);
  });

  it('writes the same rows that makeClassification yields', async () => {
    const table = await writeAndRead(base);
    const { features, labels } = collect(base);
    for (let j = 0; j < base.features; j++) {
      expect(table.getChild(`f${j}`)!.toArray()).toEqual(Float32Array.from(column(features, base.features, j)));
    }
    expect(table.getChild('label')!.toArray()).toEqual(labels);
  });

  it('writes byte-identical files for the same seed, and different ones for another seed', async () => {
    const write = async (name: string, seed: number): Promise<Buffer> => {
      await writeClassificationArrow(path.join(dir, name), { ...base, seed });
      return readFile(path.join(dir, name));
    };
    const [a, b, c] = [await write('a.arrow', 7), await write('b.arrow', 7), await write('c.arrow', 8)];
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it('reports progress after each batch and leaves no temp file behind', async () => {
    const done: number[] = [];
    await writeClassificationArrow(path.join(dir, 'data.arrow'), { ...base, batchRows: 400 }, (n) => done.push(n));
    expect(done).toEqual([400, 800, 1000]);
    expect(readdirSync(dir)).toEqual(['data.arrow']);
  });

  it('removes the temp file when the rename fails, and throws E_CONFIG naming --out', async () => {
    const target = path.join(dir, 'taken');
    mkdirSync(target);
    mkdirSync(path.join(target, 'inside'));
    const error = await writeClassificationArrow(target, base).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('E_CONFIG');
    expect((error as ConfigError).message).toMatch(/^generate: cannot write --out .*taken/);
    expect(readdirSync(dir)).toEqual(['taken']);
  });

  it('creates no file at all when the options are bad', async () => {
    await expect(writeClassificationArrow(path.join(dir, 'x.arrow'), { ...base, rows: 0 })).rejects.toThrow(ConfigError);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('makeClassification', () => {
  it('yields the same rows whatever batchRows is', () => {
    const reference = collect({ ...base, batchRows: 65536 });
    for (const batchRows of [1, 7, 333]) {
      const other = collect({ ...base, batchRows });
      expect(other.features).toEqual(reference.features);
      expect(other.labels).toEqual(reference.labels);
    }
  });

  it('labels every row with a class in [0, classes), each class appearing', () => {
    const { labels } = collect({ ...base, informative: 3, classes: 3, clustersPerClass: 2 });
    expect(labels.every((y) => y >= 0 && y < 3)).toBe(true);
    expect(new Set(labels).size).toBe(3);
  });

  it('balances two classes roughly evenly', () => {
    const { labels } = collect({ ...base, rows: 4000, flipY: 0 });
    const ones = labels.reduce((s, y) => s + y, 0) / labels.length;
    expect(ones).toBeGreaterThan(0.4);
    expect(ones).toBeLessThan(0.6);
  });

  it('makes redundant columns exact linear combinations of the informative ones, and noise not', () => {
    const options = { ...base, redundant: 2, repeated: 1, shuffle: false };
    const { features } = collect(options);
    const informative = [0, 1, 2, 3].map((j) => column(features, 8, j));
    const residual = (j: number): number => relativeResidual(informative, column(features, 8, j));
    console.log(`redundant residuals ${residual(4).toExponential(2)} ${residual(5).toExponential(2)}, noise ${residual(7).toFixed(3)}`);
    expect(residual(4)).toBeLessThan(1e-5);
    expect(residual(5)).toBeLessThan(1e-5);
    expect(residual(7)).toBeGreaterThan(0.9);
    const repeated = column(features, 8, 6);
    expect([0, 1, 2, 3, 4, 5].some((j) => column(features, 8, j).every((v, r) => v === repeated[r]))).toBe(true);
  });

  it('separates the classes by their centroids when classSep is large, and not when it is 0', () => {
    const accuracy = (classSep: number): number => {
      const options = { rows: 2000, features: 2, informative: 2, redundant: 0, classes: 2, clustersPerClass: 1,
        flipY: 0, classSep, seed: 3 };
      const { features, labels } = collect(options);
      const mean = [0, 1].map((c) => [0, 1].map((j) => {
        const xs = column(features, 2, j).filter((_, r) => labels[r] === c);
        return xs.reduce((s, v) => s + v, 0) / xs.length;
      }));
      const d2 = (r: number, c: number): number =>
        (features[2 * r]! - mean[c]![0]!) ** 2 + (features[2 * r + 1]! - mean[c]![1]!) ** 2;
      return labels.filter((y, r) => (d2(r, 1) < d2(r, 0) ? 1 : 0) === y).length / labels.length;
    };
    console.log(`nearest-centroid accuracy: classSep 2 ${accuracy(2).toFixed(3)}, classSep 0 ${accuracy(0).toFixed(3)}`);
    expect(accuracy(2)).toBeGreaterThan(0.7);
    expect(accuracy(0)).toBeLessThan(0.65);
  });

  it('applies shift then scale to every feature', () => {
    const plain = collect({ ...base, shuffle: false }).features;
    const moved = collect({ ...base, shuffle: false, shift: 3, scale: -2 }).features;
    const worst = moved.reduce((m, v, i) => Math.max(m, Math.abs(v - Math.fround((plain[i]! + 3) * -2))), 0);
    expect(worst).toBeLessThan(1e-4);
  });

  it.each<[Partial<MakeClassificationOptions>, RegExp]>([
    [{ rows: 0 }, /^generate: --rows must be an integer >= 1 \(got 0\)$/],
    [{ rows: 2.5 }, /--rows must be an integer >= 1 \(got 2\.5\)/],
    [{ features: 0 }, /--features must be an integer >= 1 \(got 0\)/],
    [{ informative: 0 }, /--informative must be an integer >= 1 \(got 0\)/],
    [{ redundant: 3, repeated: 2 }, /--informative \+ --redundant \+ --repeated must be <= --features \(got 4 \+ 3 \+ 2 = 9 > 8\)/],
    [{ classes: 1 }, /--classes must be an integer >= 2 \(got 1\)/],
    [{ informative: 2, classes: 3 }, /--classes \* --clusters-per-class must be <= 2 \*\* --informative.*\(got 3 \* 2 > 2 \*\* 2\)/],
    [{ flipY: 1.5 }, /--flip-y must be between 0 and 1 \(got 1\.5\)/],
    [{ flipY: Number.NaN }, /--flip-y must be between 0 and 1 \(got NaN\)/],
    [{ batchRows: 0 }, /--batch-rows must be an integer >= 1 \(got 0\)/],
    [{ classSep: Infinity }, /--class-sep must be a finite number \(got Infinity\)/],
  ])('rejects %o with E_CONFIG', (bad, message) => {
    const run = (): unknown => makeClassification({ ...base, ...bad }).next();
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message);
    try { run(); } catch (e) { expect((e as ConfigError).code).toBe('E_CONFIG'); }
  });

  it('fits the default redundant count to the room --features leaves', () => {
    const { features } = collect({ rows: 10, features: 5, informative: 4, classes: 2, seed: 1 });
    expect(features.length).toBe(50);
  });
});
