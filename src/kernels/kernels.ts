/**
 * The kernel set a step runs on: the TypeScript reference (`tsKernels`, below) or the
 * WebAssembly SIMD build (`loadWasmKernels` in ./wasm). The network's forward and backward call
 * nothing else, so the two are interchangeable and the tests hold one against the other.
 *
 * Both give the same results to about 1e-6 relative (the order of float32 roundings differs);
 * every thread of one run uses the same set, so a run stays bit-identical for any worker count.
 */
import { ACTIVATIONS, type ActivationName } from '../nn/activations.js';
import { denseBackward, denseForward } from './dense.js';
import { gemmStrided } from './gemm.js';
import { sgdUpdate } from './optim.js';
import { layerStats, sumSlots, sumSquaredDiff, sumSquares } from './reduce.js';
import type { Floats } from './types.js';

/** Which set: `--kernels ts|wasm`. */
export type KernelsName = 'ts' | 'wasm';
export const KERNELS_NAMES: readonly KernelsName[] = ['ts', 'wasm'];

export interface Kernels {
  readonly name: KernelsName;
  /** 'ts', or the wasm build: 'simd' (SIMD 128) or 'relaxed-simd' (with fused multiply-add). */
  readonly variant: 'ts' | 'simd' | 'relaxed-simd';
  /** out (m,n) = x (m,k) · wᵀ + b, with w (n,k), b (n) or null. */
  denseForward(out: Floats, x: Floats, w: Floats, b: Floats | null, m: number, n: number, k: number): void;
  /**
   * A whole dense layer: z (m,n) = x (m,k) · wᵀ + b, then a (m,n) = f(z) (alpha (n): prelu's
   * slopes). For 'linear', a is z and only z is written. The wasm set fuses the two.
   */
  denseActivationForward(z: Floats, a: Floats, x: Floats, w: Floats, b: Floats | null, activation: ActivationName,
                         alpha: Floats | null, m: number, n: number, k: number): void;
  /** a (m,n) = f(z); a may be z. */
  activationForward(activation: ActivationName, a: Floats, z: Floats, alpha: Floats | null, m: number, n: number): void;
  /** dz (m,n) = da · f'(z) (dz may alias da); dalpha (n) += ∂/∂alpha for prelu. */
  activationBackward(activation: ActivationName, dz: Floats, dalpha: Floats | null, da: Floats, z: Floats, a: Floats,
                     alpha: Floats | null, m: number, n: number): void;
  /** dx (m,k) += dy·w, dw (n,k) += dyᵀ·x, db (n) += Σ_rows dy; dx and db are skipped when null. */
  denseBackward(dx: Floats | null, dw: Floats, db: Floats | null, dy: Floats, x: Floats, w: Floats,
                m: number, n: number, k: number): void;
  /** out (m,n) = A (m,k) · B (k,n) [+ out]; A(i,p) = a[i·ars + p·acs], B(p,j) = b[p·brs + j·bcs]. */
  gemmStrided(out: Floats, a: Floats, b: Floats, m: number, n: number, k: number,
              ars: number, acs: number, brs: number, bcs: number, accumulate: boolean): void;
  /** out (n) = Σ_s slots[s·stride + i], in slot order; returns Σ out² (float64). */
  sumSlots(out: Floats, slots: Floats, stride: number, count: number, n: number): number;
  /** units (n) = rows where a (m,n) > 0, per unit; totals = [Σ units, Σ y, Σ y²] (see nn/diagnostics.ts). */
  layerStats(totals: Float64Array, units: Float64Array, a: Floats, y: Floats, m: number, n: number): void;
  /** Σ x² over n values, in float64. */
  sumSquares(x: Floats, n: number): number;
  /** Σ (a − b)² over n values, in float64. */
  sumSquaredDiff(a: Floats, b: Floats, n: number): number;
  /**
   * v ← μ·v + g; p ← p − lr·v (plain SGD when momentum is 0 or vOut/vIn are null); with `sums`
   * (3 float64), adds Σ (new − old)², Σ old², Σ new² to it.
   */
  sgdUpdate(pOut: Floats, pIn: Floats, grad: Floats, vOut: Floats | null, vIn: Floats | null,
            n: number, learningRate: number, momentum: number, sums?: Float64Array | null): void;
}

function activationForward(activation: ActivationName, a: Floats, z: Floats, alpha: Floats | null, m: number, n: number): void {
  if (activation !== 'linear' || a !== z) ACTIVATIONS[activation].forward(a, z, alpha, m, n);
}

/** The readable reference, on any Float32Array or Float64Array. */
export const tsKernels: Kernels = {
  name: 'ts',
  variant: 'ts',
  denseForward,
  denseActivationForward(z, a, x, w, b, activation, alpha, m, n, k) {
    denseForward(z, x, w, b, m, n, k);
    activationForward(activation, a, z, alpha, m, n);
  },
  activationForward,
  activationBackward(activation, dz, dalpha, da, z, a, alpha, m, n) {
    ACTIVATIONS[activation].backward(dz, dalpha, da, z, a, alpha, m, n);
  },
  denseBackward,
  gemmStrided,
  sumSlots,
  layerStats,
  sumSquares,
  sumSquaredDiff,
  sgdUpdate,
};
