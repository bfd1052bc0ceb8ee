import { batchNormBackward, batchNormForwardEval, batchNormForwardTrain } from '../kernels/batchnorm.js';
import { dropoutBackward, dropoutForward, dropoutSeed } from '../kernels/dropout.js';
import { tsKernels, type Kernels } from '../kernels/kernels.js';
import {
  argmaxCorrect, binaryCorrect, binaryCrossentropyBackward, binaryCrossentropyForward,
  sparseCategoricalCrossentropyBackward, sparseCategoricalCrossentropyForward,
} from '../kernels/loss.js';
import type { Floats } from '../kernels/types.js';
import { fanIn, type DenseLayerSpec, type ModelSpec } from './layers.js';
import { view, type ParamLayout } from './params.js';

/**
 * The network's forward and backward over one block of rows, on views into the arena (or any
 * Floats): the same code runs on the calling thread and in every worker.
 *
 * A layer: z = x·Wᵀ + b → [batch norm: y = BN(z)] → a = f(y) → [dropout: o = a·mask/(1−p)].
 * Without batch norm y is z; without dropout (or at evaluation) o is a.
 */

/** One layer's tensors inside a parameter-shaped vector: parameters or a gradient slot. */
export interface LayerViews {
  /** (nOut, nIn) */
  w: Floats;
  /** (nOut) or null without bias */
  b: Floats | null;
  /** (nOut), prelu only */
  alpha: Floats | null;
  /** (nOut) each, batch-norm layers only. In a gradient slot, runningMean/runningVar hold the micro-shard's statistics. */
  bn: { gamma: Floats; beta: Floats; runningMean: Floats; runningVar: Floats } | null;
}

export function layerViews(vector: Floats, layout: ParamLayout): LayerViews[] {
  return layout.layers.map((l) => ({
    w: view(vector, l.weight),
    b: l.bias === null ? null : view(vector, l.bias),
    alpha: l.alpha === null ? null : view(vector, l.alpha),
    bn: l.bn === null ? null : {
      gamma: view(vector, l.bn.gamma), beta: view(vector, l.bn.beta),
      runningMean: view(vector, l.bn.runningMean), runningVar: view(vector, l.bn.runningVar),
    },
  }));
}

/**
 * Training-mode forward: batch norm on the micro-shard's own statistics, dropout on. The masks
 * depend on (seed, step, layer, row within the batch) only.
 */
export interface TrainPass {
  seed: number;
  step: number;
  /** First row of these rows within the step's batch. */
  rowStart: number;
}

/** Activations of one block of up to `rows` rows: the scratch a worker owns. */
export interface Workspace {
  rows: number;
  /** z[l] (rows, units_l): x·Wᵀ + b. */
  z: Floats[];
  /** y[l] (rows, units_l): the activation's input, batch-normalized z (the same array as z without batch norm). */
  y: Floats[];
  /** a[l] (rows, units_l): outputs; the same array as y for linear layers (the logits). */
  a: Floats[];
  /** o[l] (rows, units_l): outputs after dropout (the same array as a without dropout). */
  o: Floats[];
  /** Batch statistics (units_l) of the last training forward, batch-norm layers only (else empty). */
  mean: Floats[];
  variance: Floats[];
  /** Two (rows, max units) buffers the backward pass ping-pongs between. */
  d: [Floats, Floats];
}

const hasDropout = (l: DenseLayerSpec): boolean => (l.dropout ?? 0) > 0;

/** Floats of scratch for a block of `rows` rows. */
export function workspaceSize(spec: ModelSpec, rows: number): number {
  let size = 0;
  let widest = 0;
  for (const l of spec.layers) {
    const block = rows * l.units;
    size += block; // z
    if (l.batchNorm) size += block + 2 * l.units;
    if (l.activation !== 'linear') size += block;
    if (hasDropout(l)) size += block;
    widest = Math.max(widest, l.units);
  }
  return size + 2 * rows * widest;
}

/** Lays a Workspace over `buffer` (workspaceSize floats). */
export function workspace(buffer: Floats, spec: ModelSpec, rows: number): Workspace {
  let offset = 0;
  const take = (n: number): Floats => { const v = buffer.subarray(offset, offset + n); offset += n; return v; };
  const ws: Workspace = { rows, z: [], y: [], a: [], o: [], mean: [], variance: [], d: [buffer, buffer] };
  let widest = 0;
  for (const l of spec.layers) {
    const block = rows * l.units;
    const z = take(block);
    const y = l.batchNorm ? take(block) : z;
    const a = l.activation === 'linear' ? y : take(block);
    ws.z.push(z);
    ws.y.push(y);
    ws.a.push(a);
    ws.o.push(hasDropout(l) ? take(block) : a);
    ws.mean.push(l.batchNorm ? take(l.units) : buffer.subarray(0, 0));
    ws.variance.push(l.batchNorm ? take(l.units) : buffer.subarray(0, 0));
    widest = Math.max(widest, l.units);
  }
  ws.d = [take(rows * widest), take(rows * widest)];
  return ws;
}

/** What layer i feeds the next one: its dropout output while training, else its activation. */
function output(spec: ModelSpec, ws: Workspace, i: number, train: TrainPass | undefined): Floats {
  return train !== undefined && hasDropout(spec.layers[i]!) ? ws.o[i]! : ws.a[i]!;
}

/**
 * Forward of m ≤ ws.rows rows of x (m, inputs); returns the logits view (m, outputs). With
 * `train`, batch norm uses these rows' statistics and dropout is on; without, batch norm uses
 * the running statistics and dropout is off (evaluation and prediction).
 */
export function forward(spec: ModelSpec, params: LayerViews[], ws: Workspace, x: Floats, m: number,
                        kernels: Kernels = tsKernels, train?: TrainPass): Floats {
  let input = x;
  spec.layers.forEach((l, i) => {
    const p = params[i]!;
    const n = l.units;
    if (p.bn === null) {
      kernels.denseActivationForward(ws.z[i]!, ws.a[i]!, input, p.w, p.b, l.activation, p.alpha, m, n, fanIn(spec, i));
    } else {
      kernels.denseForward(ws.z[i]!, input, p.w, p.b, m, n, fanIn(spec, i));
      if (train !== undefined) {
        batchNormForwardTrain(ws.y[i]!, ws.mean[i]!, ws.variance[i]!, ws.z[i]!, p.bn.gamma, p.bn.beta, m, n);
      } else {
        batchNormForwardEval(ws.y[i]!, ws.z[i]!, p.bn.gamma, p.bn.beta, p.bn.runningMean, p.bn.runningVar, m, n);
      }
      kernels.activationForward(l.activation, ws.a[i]!, ws.y[i]!, p.alpha, m, n);
    }
    if (train !== undefined && hasDropout(l)) {
      dropoutForward(ws.o[i]!, ws.a[i]!, l.dropout!, dropoutSeed(train.seed, train.step, i), train.rowStart, m, n);
    }
    input = output(spec, ws, i, train);
  });
  return ws.z[spec.layers.length - 1]!;
}

/** Loss summed over the m rows and the number predicted right, from the logits of `forward`. */
export function lossSum(spec: ModelSpec, logits: Floats, labels: Floats, m: number): { loss: number; correct: number } {
  if (spec.loss === 'binaryCrossentropy') {
    return { loss: binaryCrossentropyForward(logits, labels, m), correct: binaryCorrect(logits, labels, m) };
  }
  return {
    loss: sparseCategoricalCrossentropyForward(logits, labels, m, spec.classes),
    correct: argmaxCorrect(logits, labels, m, spec.classes),
  };
}

/**
 * Backward of the last `forward` over the same rows (with the same `train`): grads +=
 * ∂(scale·Σ loss)/∂params. With scale = 1/B the micro-shard's slot holds its share of the mean
 * gradient of a global batch of B rows, so summing the slots gives the batch gradient.
 */
export function backward(spec: ModelSpec, params: LayerViews[], grads: LayerViews[], ws: Workspace,
                         x: Floats, labels: Floats, m: number, scale: number, kernels: Kernels = tsKernels,
                         train?: TrainPass): void {
  const last = spec.layers.length - 1;
  let cur = 0;
  if (spec.loss === 'binaryCrossentropy') {
    binaryCrossentropyBackward(ws.d[0], ws.z[last]!, labels, m, scale);
  } else {
    sparseCategoricalCrossentropyBackward(ws.d[0], ws.z[last]!, labels, m, spec.classes, scale);
  }
  for (let i = last; i >= 0; i--) {
    const l = spec.layers[i]!;
    const p = params[i]!;
    const g = grads[i]!;
    const dz = ws.d[cur];
    const k = fanIn(spec, i);
    if (i === 0) {
      kernels.denseBackward(null, g.w, g.b, dz, x, p.w, m, l.units, k);
      break;
    }
    // d goes back through layer i−1: dropout, activation, batch norm, each in place.
    const d = ws.d[1 - cur]!;
    d.fill(0, 0, m * k);
    kernels.denseBackward(d, g.w, g.b, dz, output(spec, ws, i - 1, train), p.w, m, l.units, k);
    const prev = spec.layers[i - 1]!;
    const pp = params[i - 1]!;
    if (train !== undefined && hasDropout(prev)) {
      dropoutBackward(d, d, prev.dropout!, dropoutSeed(train.seed, train.step, i - 1), train.rowStart, m, k);
    }
    kernels.activationBackward(prev.activation, d, grads[i - 1]!.alpha, d, ws.y[i - 1]!, ws.a[i - 1]!, pp.alpha, m, k);
    if (pp.bn !== null) {
      const gb = grads[i - 1]!.bn!;
      batchNormBackward(d, gb.gamma, gb.beta, d, ws.z[i - 1]!, ws.mean[i - 1]!, ws.variance[i - 1]!, pp.bn.gamma, m, k);
    }
    cur = 1 - cur;
  }
}

/**
 * Writes this micro-shard's batch-norm statistics into its gradient slot, where the running
 * statistics' "gradients" would be: weight·mean and weight·var (unbiased, as PyTorch's running
 * variance takes it), weight = the shard's share of the batch's rows. Summing the slots then
 * gives the rows-weighted mean of the shards' statistics, which the update folds into the
 * running statistics with momentum 0.1 (see kernels/optim.ts).
 */
export function batchNormStatistics(spec: ModelSpec, grads: LayerViews[], ws: Workspace, m: number, weight: number): void {
  spec.layers.forEach((l, i) => {
    const g = grads[i]!.bn;
    if (g === null) return;
    const unbiased = m > 1 ? m / (m - 1) : 1;
    for (let j = 0; j < l.units; j++) {
      g.runningMean[j] = weight * ws.mean[i]![j]!;
      g.runningVar[j] = weight * ws.variance[i]![j]! * unbiased;
    }
  });
}
