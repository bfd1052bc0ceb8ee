/**
 * What every system in a benchmark is given, so that each trains the same network on the same
 * rows in the same order from the same initial weights:
 *
 *   a TrainJob: an MLP of `hidden` ReLU layers and one logit (binary cross-entropy on it), its
 *   initial weights layer by layer in PyTorch's (nOut, nIn) orientation, the training rows in
 *   the order quiver's first epoch reads them, batch size, epochs and the SGD learning rate.
 *
 * Peers (tfjs, PyTorch) take the rows in the given order without a shuffle of their own; quiver
 * shuffles its data with its own seeded permutation, which `quiverOrder` reproduces, so every
 * system sees the same batches and their losses agree to float rounding.
 */
import { cpus } from 'node:os';
import { Model, Prng, type Dataset } from '../../src/index.js';
import { epochRng } from '../../src/pipeline/trainState.js';

/** One dense layer's initial values: weight (nOut, nIn) row-major, bias (nOut). */
export interface LayerInit { nOut: number; nIn: number; weight: Float32Array; bias: Float32Array }

export interface TrainJob {
  /** The workload's name in tables and --json rows: W1, W2, W3. */
  workload: string;
  inputs: number;
  /** Units of each hidden (ReLU) layer; one output logit follows. */
  hidden: number[];
  /** hidden.length + 1 layers. */
  layers: LayerInit[];
  /** (rows, inputs) row-major, in the order the batches take them. */
  features: Float32Array;
  /** (rows) 0/1. */
  labels: Float32Array;
  rows: number;
  /** Rows per step; equal to rows for a full batch. */
  batch: number;
  epochs: number;
  learningRate: number;
}

/** The three products of a dense layer's step: forward, input gradient, weight gradient (see quiverGemm). */
export type GemmShape = 'forward' | 'inputGrad' | 'weightGrad';

/** What a peer reports for a TrainJob. */
export interface TrainResult {
  /** Seconds of each timed run (the training steps only). */
  seconds: number[];
  /** Mean training loss over the last epoch's steps (each step's loss before its update), of the last run. */
  epochLoss: number;
  /** The library and how it ran, one line. */
  note: string;
  /** With an Evaluation: the mean loss over the training rows at the final weights. */
  finalLoss?: number;
  /** With an Evaluation: the accuracy on its rows at the final weights. */
  testAccuracy?: number;
}

/** Rows to evaluate on after training, outside the timing (the seed's test set). */
export interface Evaluation { features: Float32Array; labels: Float32Array; rows: number }

/** The weights of `model`, layer by layer: its parameters are laid out (nOut, nIn) then (nOut). */
export function layerInits(model: Model): LayerInit[] {
  return model.layout.layers.map((l) => {
    if (l.bias === null || l.alpha !== null || l.bn !== null) throw new Error('a benchmark layer is dense + bias, nothing else');
    const [nOut, nIn] = l.weight.shape as [number, number];
    return {
      nOut, nIn,
      weight: model.params.slice(l.weight.offset, l.weight.offset + l.weight.length),
      bias: model.params.slice(l.bias.offset, l.bias.offset + l.bias.length),
    };
  });
}

/**
 * The rows of `data` in the order fit() reads them in epoch 0 with seed `seed`: memoryRows
 * shuffles an identity permutation with epochRng(seed, 0) whenever a batch is smaller than the
 * data. (Later epochs reshuffle; the benchmarks that shuffle run one epoch.)
 */
export function quiverOrder(data: Dataset, seed: number, shuffled: boolean): { features: Float32Array; labels: Float32Array } {
  if (!shuffled) return { features: data.features, labels: data.labels };
  const order = Uint32Array.from({ length: data.rows }, (_, i) => i);
  const rng: Prng = epochRng(seed, 0);
  rng.shuffle(order);
  const n = data.featureNames.length;
  const features = new Float32Array(data.rows * n);
  const labels = new Float32Array(data.rows);
  order.forEach((src, r) => {
    features.set(data.features.subarray(src * n, (src + 1) * n), r * n);
    labels[r] = data.labels[src]!;
  });
  return { features, labels };
}

/**
 * The untimed warm-up before a peer's timed runs: `rows` undefined is a whole run of the job
 * (the seed's, a fraction of a second), 0 none, else one epoch over the first `rows` rows.
 */
export function warmUpJob(job: TrainJob, rows: number | undefined): TrainJob | undefined {
  if (rows === undefined) return job;
  if (rows === 0) return undefined;
  const n = Math.min(rows, job.rows);
  return { ...job, rows: n, epochs: 1, features: job.features.subarray(0, n * job.inputs), labels: job.labels.subarray(0, n) };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The warm-up, then `runs` timed runs; each run's seconds and the last run's result. */
export async function repeat<T extends { seconds: number }>(runs: number, once: () => Promise<T>, warmUp?: () => Promise<unknown>): Promise<{ seconds: number[]; last: T }> {
  if (warmUp !== undefined) await warmUp();
  let last: T | undefined;
  const seconds: number[] = [];
  for (let r = 0; r < runs; r++) {
    last = await once();
    seconds.push(last.seconds);
  }
  return { seconds, last: last! };
}

/** Repetitions of `run` that take at least `minSeconds`, after one untimed call. */
export function calibrate(run: () => void, minSeconds: number): number {
  run();
  for (let reps = 1; ; reps *= 2) {
    const t = performance.now();
    for (let r = 0; r < reps; r++) run();
    if ((performance.now() - t) / 1000 >= minSeconds) return reps;
  }
}

/** Billions of operations per second of `reps` calls of `run`, `ops` each. */
export function gigaRate(run: () => void, reps: number, ops: number): number {
  const t = performance.now();
  for (let r = 0; r < reps; r++) run();
  return (ops * reps) / ((performance.now() - t) / 1000) / 1e9;
}

/** "2 × AMD EPYC, node v20…", for the foot of a table. */
export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown cpu'}, node ${process.version}`;
}

/** 12,345 */
export function thousands(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}
