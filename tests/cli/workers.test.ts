import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATA, MAIN, ROOT, ensureBuilt, ndjson, quiver } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'quiver-cli-workers-'));
const seedArgs = ['train', '--train', join(DATA, 'seed-train.arrow'), '--init-from', join(DATA, 'init-relu.safetensors')];

describe('quiver train --workers', () => {
  it('saves byte-identical weights inline and on 1 and 2 workers, mini-batch and shuffled', async () => {
    const files: Buffer[] = [];
    for (const w of ['inline', '1', '2']) {
      const save = join(dir, `w-${w}`);
      const r = await quiver([...seedArgs, '--epochs', '5', '--batch-size', '64', '--workers', w, '--save', save]);
      expect(r.status, r.stderr).toBe(0);
      files.push(readFileSync(join(save, 'weights.safetensors')));
    }
    expect(files[1]!.equals(files[0]!)).toBe(true);
    expect(files[2]!.equals(files[0]!)).toBe(true);
  });

  it('refuses --workers 0 and --workers many with E_CONFIG', async () => {
    for (const bad of ['0', 'many', '1.5']) {
      const r = await quiver([...seedArgs, '--workers', bad]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--workers must be an integer >= 1.*\[E_CONFIG\]/);
    }
  });

  it('trains with --hogwild', async () => {
    const r = await quiver([...seedArgs, '--epochs', '20', '--batch-size', '100', '--workers', '2', '--hogwild', '--lr', '0.05', '--log-format', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const events = ndjson(r.stdout);
    expect(events.at(-1)!['loss'] as number).toBeLessThan(events[0]!['loss'] as number);
  });
});

describe('Ctrl-C', () => {
  it('stops after the current step, saves what was trained, and exits 130', async () => {
    ensureBuilt();
    const save = join(dir, 'interrupted');
    const child = spawn(process.execPath, [MAIN, ...seedArgs, '--epochs', '100000', '--log-format', 'json', '--save', save], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.split('\n').length > 20) resolve(); // some epochs in
    }));
    child.kill('SIGINT');
    const code = await exited;
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted, stopping after the current step/);
    const events = ndjson(stdout);
    const end = events.at(-1)!;
    expect(end['event']).toBe('end');
    expect(end['interrupted']).toBe(true);
    expect(end['epochs'] as number).toBeLessThan(100000);
    expect(readdirSync(save).sort()).toEqual(['model.json', 'weights.safetensors']);
  });
});
