import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeClassificationArrow } from '../../src/io/generate.js';
import { ensureBuilt } from '../helpers/cli.js';

/**
 * Training streams: a file several times larger than the process's whole peak memory trains
 * without being read into memory. Measured in a child process running the compiled library, as
 * a user's would (its own peak RSS: Node and apache-arrow alone take about 70 MB), on a 300 MB
 * file with a 64 → 16 → 1 network.
 */
describe('streamed training', () => {
  it('trains one epoch of a 300 MB file with a peak RSS far below the file size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quiver-mem-'));
    const file = join(dir, 'big.arrow');
    await writeClassificationArrow(file, { rows: 1_150_000, features: 64, informative: 16, classes: 2, seed: 1, batchRows: 16_384 });
    const bytes = statSync(file).size;
    expect(bytes).toBeGreaterThan(290e6);
    ensureBuilt();
    const src = (p: string): string => JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../dist', p)).href);
    const script = `
      const { trainingRows } = await import(${src('pipeline/open.js')});
      const { fit } = await import(${src('pipeline/train.js')});
      const { Model } = await import(${src('nn/model.js')});
      const { mlp, hiddenLayer } = await import(${src('nn/layers.js')});
      const rows = await trainingRows(${JSON.stringify(file)});
      const model = Model.init(mlp({ inputs: 64, layers: [hiddenLayer({ units: 16 })] }), 1);
      const h = await fit(model, rows, { epochs: 1, batchSize: 256, workers: 'inline' });
      console.log(JSON.stringify({ rss: process.resourceUsage().maxRSS * 1024, rows: rows.rows, acc: h.end.trainAccuracy }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { rss: number; rows: number; acc: number };
    console.log(`file ${(bytes / 1e6).toFixed(0)} MB, ${r.rows} rows: peak RSS ${(r.rss / 1e6).toFixed(0)} MB, train accuracy ${r.acc.toFixed(3)}`);
    expect(r.rows).toBe(1_150_000);
    expect(r.acc).toBeGreaterThan(0.6);
    expect(r.rss).toBeLessThan(0.8 * bytes); // reading the file in whole would take more than all of it
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);
});
