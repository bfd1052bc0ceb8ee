import { tsKernels, type Kernels } from '../kernels/kernels.js';
import {
  argmaxCorrect, binaryCorrect, binaryCrossentropyBackward, binaryCrossentropyForward,
  sparseCategoricalCrossentropyBackward, sparseCategoricalCrossentropyForward,
} from '../kernels/loss.js';
import type { Floats } from '../kernels/types.js';
import { fanIn, type ModelSpec } from './layers.js';
import { view, type ParamLayout } from './params.js';

/**
 * The network's forward and backward over one block of rows, on views into the arena (or any
 * Floats): the same code runs on the calling thread and in every worker.
 */

/** One layer's tensors inside a parameter-shaped vector: parameters or a gradient slot. */
export interface LayerViews {
  /** (nOut, nIn) */
  w: Floats;
  /** (nOut) or null without bias */
  b: Floats | null;
  /** (nOut), prelu only */
  alpha: Floats | null;
}

export function layerViews(vector: Floats, layout: ParamLayout): LayerViews[] {
  return layout.layers.map((l) => ({
    w: view(vector, l.weight),
    b: l.bias === null ? null : view(vector, l.bias),
    alpha: l.alpha === null ? null : view(vector, l.alpha),
  }));
}

/** Activations of one block of up to `rows` rows: the scratch a worker owns. */
export interface Workspace {
  rows: number;
  /** z[l] (rows, units_l): pre-activations. */
  z: Floats[];
  /** a[l] (rows, units_l): outputs; the same array as z[l] for linear layers (the logits). */
  a: Floats[];
  /** Two (rows, max units) buffers the backward pass ping-pongs between. */
  d: [Floats, Floats];
}

/** Floats of scratch for a block of `rows` rows. */
export function workspaceSize(spec: ModelSpec, rows: number): number {
  let size = 0;
  let widest = 0;
  for (const l of spec.layers) {
    size += rows * l.units * (l.activation === 'linear' ? 1 : 2);
    widest = Math.max(widest, l.units);
  }
  return size + 2 * rows * widest;
}

/** Lays a Workspace over `buffer` (workspaceSize floats). */
export function workspace(buffer: Floats, spec: ModelSpec, rows: number): Workspace {
  let offset = 0;
  const take = (n: number): Floats => { const v = buffer.subarray(offset, offset + n); offset += n; return v; };
  const z: Floats[] = [];
  const a: Floats[] = [];
  let widest = 0;
  for (const l of spec.layers) {
    const zl = take(rows * l.units);
    z.push(zl);
    a.push(l.activation === 'linear' ? zl : take(rows * l.units));
    widest = Math.max(widest, l.units);
  }
  return { rows, z, a, d: [take(rows * widest), take(rows * widest)] };
}

/** Forward of m ≤ ws.rows rows of x (m, inputs); returns the logits view (m, outputs). */
export function forward(spec: ModelSpec, params: LayerViews[], ws: Workspace, x: Floats, m: number,
                        kernels: Kernels = tsKernels): Floats {
  let input = x;
  spec.layers.forEach((l, i) => {
    const p = params[i]!;
    kernels.denseActivationForward(ws.z[i]!, ws.a[i]!, input, p.w, p.b, l.activation, p.alpha, m, l.units, fanIn(spec, i));
    input = ws.a[i]!;
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
 * Backward of the last `forward` over the same rows: grads += ∂(scale·Σ loss)/∂params.
 * With scale = 1/B the micro-shard's slot holds its share of the mean gradient of a global batch
 * of B rows, so summing the slots gives the batch gradient.
 */
export function backward(spec: ModelSpec, params: LayerViews[], grads: LayerViews[], ws: Workspace,
                         x: Floats, labels: Floats, m: number, scale: number, kernels: Kernels = tsKernels): void {
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
    const da = ws.d[1 - cur]!;
    da.fill(0, 0, m * k);
    kernels.denseBackward(da, g.w, g.b, dz, ws.a[i - 1]!, p.w, m, l.units, k);
    const prev = spec.layers[i - 1]!;
    kernels.activationBackward(prev.activation, da, grads[i - 1]!.alpha, da, ws.z[i - 1]!, ws.a[i - 1]!, params[i - 1]!.alpha, m, prev.units);
    cur = 1 - cur;
  }
}
