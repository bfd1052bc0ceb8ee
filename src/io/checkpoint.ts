/**
 * A checkpoint: one file, `checkpoint.safetensors`, in the run's --save directory, holding the
 * parameters, the optimizer's state and early stopping's best weights as tensors, and in its
 * `__metadata__` the rest of the TrainState (position in the data, sums of the epoch in
 * progress, events so far), the model spec and info, and the run's options.
 *
 * One file, so one rename makes it current: it is written under a temporary name, fsynced,
 * renamed over the previous one, and the directory fsynced, so a kill at any instant leaves
 * either the previous checkpoint or the new one, whole. A write that fails (a full disk, a
 * directory that cannot be written) removes its temporary file, leaves the previous
 * checkpoint as it was, and is a CheckpointError (E_CHECKPOINT_WRITE).
 */
import { open, rename, rm, mkdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ModelFileError, QuiverError } from '../errors.js';
import type { ModelSpec } from '../nn/layers.js';
import type { ModelInfo } from '../nn/model.js';
import { paramLayout } from '../nn/params.js';
import type { TrainState } from '../pipeline/trainState.js';
import { quiverVersion } from './modelFile.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const FORMAT = 'quiver-checkpoint';
const VERSION = 1;

/** A checkpoint could not be written (exit status 2); the previous one is intact. */
export class CheckpointError extends QuiverError {}

/** What a checkpoint holds. */
export interface Checkpoint {
  spec: ModelSpec;
  info: ModelInfo;
  /** The options of the run, as the caller gave them (the CLI's flags), to resume with. */
  options: Record<string, unknown>;
  state: TrainState;
}

/** The file operations a write uses; tests substitute failing ones. */
export interface CheckpointIo {
  write(path: string, bytes: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

const fsIo: CheckpointIo = {
  async write(path, bytes) {
    const fh = await open(path, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  rename,
};

type Meta = Omit<TrainState, 'params' | 'optimizerState' | 'best'> & { best: Omit<TrainState['best'], 'params'> };

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const { params, optimizerState, best, ...rest } = c.state;
  const size = params.length;
  const tensor = (data: Float32Array): Tensor => ({ dtype: 'F32', shape: [size], data });
  const tensors: [string, Tensor][] = [['params', tensor(params)], ...optimizerState.map((v, i): [string, Tensor] => [`optimizer.${i}`, tensor(v)])];
  if (best.params !== null) tensors.push(['best', tensor(best.params)]);
  const meta: Meta = { ...rest, best: { loss: best.loss, epoch: best.epoch, since: best.since } };
  return encodeSafetensors(tensors, {
    quiver: JSON.stringify({ format: FORMAT, version: VERSION, quiverVersion: quiverVersion(), spec: c.spec, info: c.info, options: c.options, state: meta }),
  });
}

/** Writes the checkpoint into `dir` (made if missing), replacing the previous one only once whole. */
export async function writeCheckpoint(dir: string, c: Checkpoint, io: CheckpointIo = fsIo): Promise<void> {
  const target = join(dir, CHECKPOINT_FILE);
  const temp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await mkdir(dir, { recursive: true });
    await io.write(temp, encodeCheckpoint(c));
    await io.rename(temp, target);
  } catch (e) {
    await rm(temp, { force: true }).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOSPC' ? 'the disk is full' : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'the directory cannot be written'
      : code ?? (e as Error).message;
    throw new CheckpointError('E_CHECKPOINT_WRITE',
      `file ${target}: cannot write the checkpoint (${why}); the previous checkpoint, if any, is intact`, { cause: e });
  }
  await syncDir(dir);
}

/** fsync on the directory makes the rename itself durable (POSIX); not every platform allows it. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try { await fh.sync(); } finally { await fh.close(); }
  } catch {
    // Windows cannot open a directory; the rename is as durable as the platform makes it.
  }
}

/** Reads and checks `dir`'s checkpoint. */
export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  const file = join(dir, CHECKPOINT_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError('E_NO_CHECKPOINT', `file ${file}: no checkpoint to resume from (${code === 'ENOENT' ? 'no such file' : code}); ` +
      'train with --save DIR --checkpoint-every N to write one', { cause: e });
  }
  const bad = (why: string): ModelFileError => new ModelFileError('E_CHECKPOINT', `file ${file}: not a usable checkpoint (${why})`);
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  let parsed: { format?: unknown; version?: unknown; spec: ModelSpec; info: ModelInfo; options: Record<string, unknown>; state: Meta };
  try {
    parsed = JSON.parse(metadata.quiver ?? '') as typeof parsed;
  } catch {
    throw bad('its metadata is not quiver\'s');
  }
  if (parsed.format !== FORMAT) throw bad(`format ${JSON.stringify(parsed.format)}`);
  if (parsed.version !== VERSION) throw bad(`version ${String(parsed.version)}, this quiver reads ${VERSION}`);
  const size = paramLayout(parsed.spec).size;
  const vector = (name: string): Float32Array => {
    const t = tensors.get(name);
    if (t === undefined) throw bad(`no tensor ${name}`);
    if (t.dtype !== 'F32' || t.data.length !== size) throw bad(`tensor ${name} has ${t.data.length} values, the model has ${size} parameters`);
    return Float32Array.from(t.data);
  };
  const s = parsed.state;
  const optimizerState: Float32Array[] = [];
  for (let i = 0; tensors.has(`optimizer.${i}`); i++) optimizerState.push(vector(`optimizer.${i}`));
  return {
    spec: parsed.spec, info: parsed.info, options: parsed.options,
    state: { ...s, params: vector('params'), optimizerState, best: { ...s.best, params: tensors.has('best') ? vector('best') : null } },
  };
}
