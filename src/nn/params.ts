import type { Floats } from '../kernels/types.js';
import { ACTIVATIONS } from './activations.js';
import { fanIn, type ModelSpec } from './layers.js';
import { initialize } from './initializers.js';
import { PRELU_ALPHA_INIT } from './activations.js';
import type { Prng } from './prng.js';

/** Where one tensor lives in the flat parameter vector (in floats). */
export interface TensorSlice {
  /** safetensors key, e.g. "layers.0.weight". */
  name: string;
  offset: number;
  length: number;
  /** PyTorch orientation: weight (nOut, nIn), bias (nOut), alpha (nOut). */
  shape: number[];
}

export interface LayerParams {
  weight: TensorSlice;
  bias: TensorSlice | null;
  /** prelu's learned slopes. */
  alpha: TensorSlice | null;
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
  const slice = (name: string, shape: number[]): TensorSlice => {
    const length = shape.reduce((a, b) => a * b, 1);
    const t = { name, offset, length, shape };
    offset += length;
    tensors.push(t);
    return t;
  };
  const layers = spec.layers.map((l, i) => ({
    weight: slice(`layers.${i}.weight`, [l.units, fanIn(spec, i)]),
    bias: l.useBias ? slice(`layers.${i}.bias`, [l.units]) : null,
    alpha: ACTIVATIONS[l.activation].learnsAlpha ? slice(`layers.${i}.alpha`, [l.units]) : null,
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
  });
}
