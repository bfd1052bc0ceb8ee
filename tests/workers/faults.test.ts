import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WorkerError } from '../../src/errors.js';
import { fit } from '../../src/pipeline/train.js';
import { createPool } from '../../src/workers/pool.js';
import { seedData, seedModel } from '../helpers/seed.js';

const failing = pathToFileURL(join(import.meta.dirname, '../fixtures/failing-worker.ts')).href;

describe('a worker that fails', () => {
  it.each(['throw', 'exit'] as const)('(%s at step 3) rejects fit with a WorkerError and leaves the parameters of step 2', async (how) => {
    const { train } = await seedData();
    const clean = await seedModel('relu');
    await fit(clean, train, { epochs: 3, workers: 'inline' }); // steps 0, 1, 2 (full batch: one per epoch)

    const model = await seedModel('relu');
    const pool = createPool({ workers: 2, filename: failing, workerData: { step: 3, how } });
    const started = performance.now();
    try {
      const error = await fit(model, train, { epochs: 10, pool }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(WorkerError);
      expect((error as WorkerError).code).toBe('E_WORKER');
      expect((error as WorkerError).message).toMatch(/during step 3\b.*after step 2/);
      expect(performance.now() - started).toBeLessThan(10_000); // no hang
      expect(Buffer.from(model.params.buffer).equals(Buffer.from(clean.params.buffer))).toBe(true);
    } finally {
      await pool.close();
    }
  });
});

describe('after fit resolves', () => {
  it('no pool thread keeps the process alive', () => {
    const script = `
      import { fit } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../src/pipeline/train.ts')).href)};
      import { seedData, seedModel } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../helpers/seed.ts')).href)};
      const { train } = await seedData();
      const h = await fit(await seedModel('relu'), train, { epochs: 3, workers: 2 });
      console.log('done', h.epochs.length);
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.error).toBeUndefined(); // a timeout would set it
    expect(r.stdout).toContain('done 3');
    expect(r.status).toBe(0);
  });
});
