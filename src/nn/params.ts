import type { Floats } from '../kernels/types.js';
import { ACTIVATIONS } from './activations.js';
import { fanIn, type ModelSpec } from './layers.js';
import { initialize } from './initializers.js';
import { PRELU_ALPHA_INIT } from './activations.js';
import type { Prng } from './prng.js';

/**
 * What a tensor is. Every role but the running statistics is learned by the optimizer; the
 * running statistics (PyTorch's "buffers") are moving averages of batch-norm's batch statistics,
 * updated in the same pass as the parameters but never by the optimizer.
 */
export type TensorRole = 'weight' | 'bias' | 'alpha' | 'gamma' | 'beta' | 'runningMean' | 'runningVar';

/** Where one tensor lives in the flat parameter vector (in floats). */
export interface TensorSlice {
  /** safetensors key, e.g. "layers.0.weight". */
  name: string;
  offset: number;
  length: number;
  /** PyTorch orientation: weight (nOut, nIn), bias (nOut), alpha (nOut), batch norm's (nOut). */
  shape: number[];
  role: TensorRole;
  /** Index of the layer it belongs to. */
  layer: number;
}

/** Whether the optimizer learns this tensor (all but batch norm's running statistics). */
export function trainable(t: TensorSlice): boolean {
  return t.role !== 'runningMean' && t.role !== 'runningVar';
}

/** Batch norm's four tensors, each (nOut). */
export interface BatchNormParams {
  gamma: TensorSlice;
  beta: TensorSlice;
  runningMean: TensorSlice;
  runningVar: TensorSlice;
}

export interface LayerParams {
  weight: TensorSlice;
  bias: TensorSlice | null;
  /** prelu's learned slopes. */
  alpha: TensorSlice | null;
  bn: BatchNormParams | null;
}

export interface ParamLayout {
  layers: LayerParams[];
  /** Every tensor in order: layer by layer, W then b then extras. */
  tensors: TensorSlice[];
  /** Total floats. */
  size: number;
}

/** The flat layout of a model's parameters, computed from the spec alone. */
export function paramLayout(spec: ModelSpec): ParamLayout {
  const tensors: TensorSlice[] = [];
  let offset = 0;
  const slice = (layer: number, role: TensorRole, key: string, shape: number[]): TensorSlice => {
    const length = shape.reduce((a, b) => a * b, 1);
    const t = { name: `layers.${layer}.${key}`, offset, length, shape, role, layer };
    offset += length;
    tensors.push(t);
    return t;
  };
  const layers = spec.layers.map((l, i): LayerParams => ({
    weight: slice(i, 'weight', 'weight', [l.units, fanIn(spec, i)]),
    bias: l.useBias ? slice(i, 'bias', 'bias', [l.units]) : null,
    alpha: ACTIVATIONS[l.activation].learnsAlpha ? slice(i, 'alpha', 'alpha', [l.units]) : null,
    bn: l.batchNorm === true ? {
      gamma: slice(i, 'gamma', 'bn.gamma', [l.units]),
      beta: slice(i, 'beta', 'bn.beta', [l.units]),
      runningMean: slice(i, 'runningMean', 'bn.runningMean', [l.units]),
      runningVar: slice(i, 'runningVar', 'bn.runningVar', [l.units]),
    } : null,
  }));
  return { layers, tensors, size: offset };
}

/** A view of one tensor inside a parameter-shaped vector (parameters, a gradient slot, ...). */
export function view<T extends Floats>(vector: T, t: TensorSlice): T {
  return vector.subarray(t.offset, t.offset + t.length) as T;
}

/** Draws the initial parameters into `out`, layer by layer, W then b, from `rng`. */
export function initParams(out: Float32Array, spec: ModelSpec, layout: ParamLayout, rng: Prng): void {
  spec.layers.forEach((l, i) => {
    const p = layout.layers[i]!;
    initialize(view(out, p.weight), l.kernelInitializer, fanIn(spec, i), l.units, rng);
    if (p.bias !== null) initialize(view(out, p.bias), l.biasInitializer, fanIn(spec, i), l.units, rng);
    if (p.alpha !== null) view(out, p.alpha).fill(PRELU_ALPHA_INIT);
    if (p.bn !== null) {
      // PyTorch's BatchNorm1d: gamma 1, beta 0, running mean 0, running variance 1.
      view(out, p.bn.gamma).fill(1);
      view(out, p.bn.beta).fill(0);
      view(out, p.bn.runningMean).fill(0);
      view(out, p.bn.runningVar).fill(1);
    }
  });
}
