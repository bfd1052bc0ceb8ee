import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint, type Checkpoint } from '../../src/io/checkpoint.js';
import { CheckpointError } from '../../src/io/checkpoint.js';
import { removeDir, tempDir } from '../helpers/arrow.js';
import { DATA, MAIN, ROOT, ensureBuilt, ndjson, quiver } from '../helpers/cli.js';

/**
 * Runs that survive: a run killed with SIGKILL at a random instant, then resumed from its last
 * checkpoint, saves the same weights.safetensors, byte for byte, as the run never interrupted.
 */
let dir: string;
beforeAll(() => { ensureBuilt(); dir = tempDir(); });
afterAll(() => { removeDir(dir); });

const TRAIN = path.join(DATA, 'seed-train.arrow');
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * Starts `quiver train args`, and kills it with SIGKILL once its stdout holds `afterEpochs` epoch
 * events and a checkpoint exists: in the middle of whatever it is doing then.
 */
function killDuringRun(args: string[], save: string, afterEpochs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let killed = false;
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const epochs = out.split('\n').filter((l) => l.includes('"event":"epoch"')).length;
      if (!killed && epochs >= afterEpochs && existsSync(path.join(save, CHECKPOINT_FILE))) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', () => {
      if (!killed) reject(new Error(`the run ended before it could be killed:\n${out.slice(-500)}`));
      else resolve(out.split('\n').filter((l) => l.includes('"event":"epoch"')).length);
    });
  });
}

describe('quiver train --resume after SIGKILL', () => {
  const cases = [
    { name: 'full batch, 1 worker', args: ['--epochs', '400', '--checkpoint-every', '3'], workers: '1', resumeWorkers: '1' },
    { name: 'full batch, 2 workers', args: ['--epochs', '400', '--checkpoint-every', '3'], workers: '2', resumeWorkers: '2' },
    { name: 'mini-batch with Adam, batch norm and dropout, 1 worker', args: ['--epochs', '120', '--batch-size', '100', '--optimizer', 'adam', '--batch-norm', '--dropout', '0.2', '--checkpoint-every', '5s'], workers: '1', resumeWorkers: '1' },
    { name: 'mini-batch with momentum, 2 workers, resumed on 1', args: ['--epochs', '120', '--batch-size', '128', '--momentum', '0.9', '--lr', '0.05', '--checkpoint-every', '3s'], workers: '2', resumeWorkers: '1' },
  ];

  it.each(cases)('$name: the same weights, byte for byte, as the run never interrupted', async ({ args, workers, resumeWorkers }) => {
    const common = ['train', '--train', TRAIN, '--layers', '32', '--log-format', 'json', ...args];
    const whole = path.join(dir, `whole-${Math.random().toString(36).slice(2)}`);
    const cut = path.join(dir, `cut-${Math.random().toString(36).slice(2)}`);
    const [reference, epochsBeforeKill] = await Promise.all([
      quiver([...common, '--workers', workers, '--save', whole]),
      killDuringRun([...common, '--workers', workers, '--save', cut], cut, 20),
    ]);
    expect(reference.status, reference.stderr).toBe(0);
    expect(existsSync(path.join(cut, 'weights.safetensors'))).toBe(false); // killed before the end
    const resumed = await quiver(['train', '--resume', cut, '--workers', resumeWorkers, '--log-format', 'json']);
    expect(resumed.status, resumed.stderr).toBe(0);
    const events = ndjson(resumed.stdout);
    console.log(`killed after ${epochsBeforeKill} epoch events; resumed at epoch ${String(events[0]!.epoch)}`);
    expect(events[0]!.epoch as number).toBeGreaterThan(0);
    expect(events[0]!.epoch as number).toBeLessThanOrEqual(epochsBeforeKill);
    expect(events[events.length - 1]!.event).toBe('end');
    expect(sha(path.join(cut, 'weights.safetensors'))).toBe(sha(path.join(whole, 'weights.safetensors')));
    expect(readdirSync(cut).sort()).toEqual(['model.json', 'weights.safetensors']); // the checkpoint is gone once complete
  });

  it('Ctrl-C writes a checkpoint where it stopped (exit 130), and resuming from it gives the uninterrupted weights', async () => {
    const common = ['train', '--train', TRAIN, '--epochs', '300', '--batch-size', '200', '--log-format', 'json', '--checkpoint-every', '1000'];
    const whole = path.join(dir, 'sigint-whole');
    const cut = path.join(dir, 'sigint-cut');
    const reference = await quiver([...common, '--save', whole]);
    const status = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [MAIN, ...common, '--save', cut], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let lines = 0;
      child.stdout.on('data', (b: Buffer) => {
        lines += b.toString().split('\n').length - 1;
        if (lines >= 10 && lines < 1e9) { lines = 1e9; child.kill('SIGINT'); }
      });
      child.on('close', (code) => resolve(code));
    });
    expect(status).toBe(130);
    expect(existsSync(path.join(cut, CHECKPOINT_FILE))).toBe(true);
    const resumed = await quiver(['train', '--resume', cut, '--log-format', 'json']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(sha(path.join(cut, 'weights.safetensors'))).toBe(sha(path.join(whole, 'weights.safetensors')));
    expect(reference.status).toBe(0);
  });
});

describe('quiver train --resume refuses', () => {
  let save: string;
  beforeAll(async () => {
    save = path.join(dir, 'for-refusals');
    const child = spawn(process.execPath, [MAIN, 'train', '--train', TRAIN, '--epochs', '100000', '--checkpoint-every', '1', '--save', save, '--log-format', 'json'], { cwd: ROOT });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (existsSync(path.join(save, CHECKPOINT_FILE))) { clearInterval(poll); child.kill('SIGKILL'); resolve(); }
      }, 20);
    });
  });

  it('a flag that differs from the checkpoint\'s, naming both values', async () => {
    const r = await quiver(['train', '--resume', save, '--lr', '0.5']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^quiver: --lr 0\.5 differs from the run being resumed from .*for-refusals \(not set\).*\[E_RESUME_MISMATCH\]\n$/);
    const r2 = await quiver(['train', '--resume', save, '--epochs', '5']);
    expect(r2.stderr).toMatch(/--epochs 5 differs .* \(100000\).*\[E_RESUME_MISMATCH\]/);
  });

  it('a directory without a checkpoint', async () => {
    const r = await quiver(['train', '--resume', path.join(dir, 'nothing-here')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/nothing-here\/checkpoint\.safetensors: no checkpoint to resume from.*\[E_NO_CHECKPOINT\]/);
  });

  it('--checkpoint-every without --save', async () => {
    const r = await quiver(['train', '--train', TRAIN, '--checkpoint-every', '2']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--checkpoint-every writes into the --save directory.*\[E_CONFIG\]/);
  });
});

describe('checkpoint writes that fail', () => {
  let save: string;
  let before: Checkpoint;
  beforeAll(async () => {
    save = path.join(dir, 'writes');
    const r = await quiver(['train', '--train', TRAIN, '--epochs', '6', '--optimizer', 'adam', '--save', save, '--checkpoint-every', '1', '--workers', 'inline']);
    expect(r.status).toBe(0);
    // A finished run removes its checkpoint; write one the way the run does, from its model.
    const { loadModel } = await import('../../src/io/modelFile.js');
    const model = await loadModel(save);
    before = {
      spec: model.spec, info: model.info, options: { train: TRAIN },
      state: {
        epoch: 3, step: 0, globalStep: 3, params: model.params, optimizerState: [model.params.map((v) => v / 2), model.params.map((v) => v * v)],
        events: [], epochLoss: 0, epochCorrect: 0, epochRows: 0, epochOutputGradNorm: 0,
        diagnostics: { totals: [], rows: 0, steps: 0, normSteps: 0, gradNorm: [], updateRatio: [] },
        best: { loss: null, epoch: -1, since: 0, params: null }, seconds: 1,
      },
    };
    await writeCheckpoint(save, before);
  });
  const next = (): Checkpoint => ({ ...before, state: { ...before.state, epoch: 4, globalStep: 4, params: before.state.params.map((v) => v + 1) } });
  const files = (): string[] => readdirSync(save).filter((f) => f.startsWith(CHECKPOINT_FILE));

  it('a kill after the temporary file exists but before the rename leaves the previous checkpoint loadable', async () => {
    writeFileSync(path.join(save, `${CHECKPOINT_FILE}.tmp-99999-deadbeef`), Buffer.alloc(100, 7)); // what the kill leaves
    const c = await readCheckpoint(save);
    expect(c.state.epoch).toBe(3);
    expect(Buffer.from(c.state.params.buffer).equals(Buffer.from(before.state.params.buffer))).toBe(true);
  });

  it.each([
    ['ENOSPC', /the disk is full/],
    ['EACCES', /the directory cannot be written/],
  ])('%s while writing: E_CHECKPOINT_WRITE, no temporary file left, the previous checkpoint intact', async (code, why) => {
    const failing = {
      async write(file: string, bytes: Uint8Array) {
        writeFileSync(file, bytes.subarray(0, 10)); // a part written, then the disk fills up
        throw Object.assign(new Error(`${code}: simulated`), { code });
      },
      async rename() { throw new Error('never reached'); },
    };
    const tempsBefore = files().length;
    const e = await writeCheckpoint(save, next(), failing).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as CheckpointError).code).toBe('E_CHECKPOINT_WRITE');
    expect((e as Error).message).toMatch(why);
    expect((e as Error).message).toMatch(/checkpoint\.safetensors/);
    expect(files().length).toBe(tempsBefore);
    expect((await readCheckpoint(save)).state.epoch).toBe(3);
  });

  it('a --save path that cannot be a directory stops the run with E_CHECKPOINT_WRITE and exit 2', async () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    const r = await quiver(['train', '--train', TRAIN, '--epochs', '5', '--checkpoint-every', '1', '--save', path.join(file, 'run')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/a-file\/run\/checkpoint\.safetensors: cannot write the checkpoint.*\[E_CHECKPOINT_WRITE\]/);
  });
});
