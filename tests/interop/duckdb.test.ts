/**
 * Parquet written by DuckDB (`@duckdb/node-api`) with `COPY (SELECT …) TO 'x.parquet' (FORMAT
 * PARQUET)`, as a data job writes it: read by quiver row group by row group with the values
 * DuckDB holds (DOUBLE, BIGINT, FLOAT, DECIMAL, BOOLEAN features and a VARCHAR label), and
 * trained on through the CLI, held in memory and streamed from disk alike.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/pipeline/dataset.js';
import { openSource } from '../../src/pipeline/source.js';
import { removeDir, tempDir } from '../helpers/arrow.js';
import { ensureBuilt, ndjson, quiver } from '../helpers/cli.js';

const ROWS = 6000;
const SELECT = `SELECT sin(i)::DOUBLE AS f0, (i % 7)::BIGINT AS f1, cos(i * 0.3)::FLOAT AS f2, (i % 13)::DECIMAL(6, 2) / 8 AS f3,
  ((i % 13)::DECIMAL(6, 2)) AS f4, (i % 3 = 0) AS flag,
  CASE WHEN sin(i) + 0.8 * cos(i * 0.3) > 0.1 THEN 'pos' ELSE 'neg' END AS label
  FROM range(${ROWS}) t(i) ORDER BY i`;

let dir: string;
let plain: string;
let grouped: string;
/** The rows as DuckDB gives them back: features f0..f4, flag, then the label. */
let rows: { features: number[]; label: string }[];

beforeAll(async () => {
  ensureBuilt();
  dir = tempDir();
  plain = path.join(dir, 'x.parquet');
  grouped = path.join(dir, 'groups.parquet');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(`COPY (${SELECT}) TO '${plain}' (FORMAT PARQUET)`);
    await conn.run(`COPY (${SELECT}) TO '${grouped}' (FORMAT PARQUET, ROW_GROUP_SIZE 2048, COMPRESSION zstd)`);
    const result = await conn.runAndReadAll(SELECT);
    rows = (result.getRowObjectsJS() as Record<string, unknown>[]).map((r) => ({
      features: ['f0', 'f1', 'f2', 'f3', 'f4'].map((k) => Number(r[k])).concat(r.flag ? 1 : 0),
      label: r.label as string,
    }));
  } finally {
    conn.closeSync();
    db.closeSync();
  }
});
afterAll(() => removeDir(dir));

describe('Parquet written by DuckDB', () => {
  it.each(['x.parquet', 'groups.parquet'])('%s: read by row group with the values DuckDB holds', async (name) => {
    const file = path.join(dir, name);
    expect(readFileSync(file).subarray(0, 4).toString('latin1')).toBe('PAR1');
    const source = await openSource(file);
    expect(source.format).toBe('parquet');
    if (name === 'groups.parquet') expect(source.batchCount).toBeGreaterThan(1);
    console.log(`${name}: ${source.batchCount} row groups; ${source.schema.fields.map((f) => `${f.name}: ${String(f.type)}`).join(', ')}`);
    await source.close();
    const d = await loadDataset(file);
    expect(d.rows).toBe(ROWS);
    expect(d.featureNames).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'flag']);
    expect(d.features).toEqual(Float32Array.from(rows.flatMap((r) => r.features)));
    expect(Array.from(d.labels, (c) => d.classLabels[c])).toEqual(rows.map((r) => r.label));
  });

  it('trains through the CLI, held in memory and streamed row group by row group to the same weights (full batch)', async () => {
    const args = ['--epochs', '5', '--layers', '8', '--log-format', 'json'];
    const [held, streamed] = await Promise.all([
      quiver(['train', '--train', grouped, ...args, '--save', path.join(dir, 'held')]),
      quiver(['train', '--train', grouped, '--cache-mb', '0', ...args, '--save', path.join(dir, 'streamed')]),
    ]);
    expect(held.status, held.stderr).toBe(0);
    expect(streamed.status, streamed.stderr).toBe(0);
    const weights = (d: string): Buffer => readFileSync(path.join(dir, d, 'weights.safetensors'));
    expect(weights('streamed').equals(weights('held'))).toBe(true);
  });

  it('learns the label from x.parquet and evaluates it with the same accuracy', async () => {
    const model = path.join(dir, 'model');
    const r = await quiver(['train', '--train', plain, '--epochs', '20', '--batch-size', '64', '--lr', '0.05', '--standardize',
      '--log-format', 'json', '--save', model]);
    expect(r.status, r.stderr).toBe(0);
    const end = ndjson(r.stdout).at(-1)!;
    console.log(`duckdb parquet: train accuracy ${end.trainAccuracy}`);
    expect(end.trainAccuracy).toBeGreaterThan(0.9);
    const e = await quiver(['evaluate', '--model', model, '--input', plain, '--log-format', 'json']);
    expect(e.status, e.stderr).toBe(0);
    const result = ndjson(e.stdout)[0]!;
    expect(result.rows).toBe(ROWS);
    expect(result.accuracy).toBeCloseTo(end.trainAccuracy as number, 10);
  });
});
