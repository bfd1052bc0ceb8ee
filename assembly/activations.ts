/**
 * The activations of src/nn/activations.ts, four lanes at a time, with the semantics of the
 * TypeScript kernels in src/kernels/activations.ts: z is the pre-activation (m, n), a = f(z);
 * the backward *writes* dz = da · f'(z) (dz may alias da) and, for prelu, adds into dalpha (n).
 *
 * Each activation is one case of `activate` (forward) and `backprop` (backward), used by the loops
 * below, one loop per activation so the switch is taken once per call, and on single floats
 * (lane 0) for the tails. The forward GEMM (gemm.ts) runs activationForward on each block of rows
 * it has just finished, while the block is in cache. The TypeScript kernels compute in float64 and round
 * once; these compute in float32, within a few ulp (see math.ts; the tests hold them to 1e-5).
 *
 * The binding in src/kernels/wasm/index.ts maps ActivationName to these codes.
 */
import { expm1Neg, expNeg, maxNaN, minNaN, negAbs, sigmoid4, tanh4 } from './math';

export const LINEAR: i32 = 0;
export const RELU: i32 = 1;
export const LEAKY_RELU: i32 = 2;
export const PRELU: i32 = 3;
export const ELU: i32 = 4;
export const SWISH: i32 = 5;
export const GELU: i32 = 6;
export const TANH: i32 = 7;
export const SIGMOID: i32 = 8;

/** LEAKY_RELU_ALPHA and ELU_ALPHA of src/nn/activations.ts (PyTorch's defaults). */
const LEAKY_SLOPE: f32 = 0.01;
const ELU_ALPHA: f32 = 1;
/** √(2/π), and GELU's cubic coefficient (Hendrycks & Gimpel 2016). */
const GELU_C: f32 = 0.7978845608028654;
const GELU_K: f32 = 0.044715;
/**
 * GELU's argument is clamped to ±GELU_CLAMP where x³ enters: there σ(2c(x + kx³)) is already
 * exactly 0 or 1 in float32 (2c(20 + k·8000) ≈ 602), and x³ and x² stay finite for any float.
 */
const GELU_CLAMP: f32 = 20;

// @ts-ignore: decorator
@inline function positive(z: v128): v128 { return f32x4.gt(z, f32x4.splat(0)); }

/** 2c(x + kx³) with x clamped: σ of it is ½(1 + tanh(c(x + kx³))), GELU's gate. */
// @ts-ignore: decorator
@inline function geluArg(zc: v128): v128 {
  const cube = f32x4.mul(f32x4.mul(zc, zc), zc);
  return f32x4.mul(f32x4.splat(2 * GELU_C), f32x4.add(zc, f32x4.mul(f32x4.splat(GELU_K), cube)));
}

// @ts-ignore: decorator
@inline function geluClamp(z: v128): v128 {
  return minNaN(maxNaN(z, -GELU_CLAMP), GELU_CLAMP);
}

/**
 * a = f(z) on four lanes; `alpha` holds prelu's four slopes (ignored otherwise).
 * relu: max(0, z) (f32x4.max keeps NaN, gives +0 for −0, as ½(z + |z|) does).
 * gelu: ½z(1 + tanh u) = z·σ(2u), u = c(z + kz³): no cancellation in 1 + tanh u where u ≪ 0.
 */
// @ts-ignore: decorator
@inline export function activate(code: i32, z: v128, alpha: v128): v128 {
  switch (code) {
    case RELU: return f32x4.max(z, f32x4.splat(0));
    case LEAKY_RELU: return v128.bitselect(z, f32x4.mul(z, f32x4.splat(LEAKY_SLOPE)), positive(z));
    case PRELU: return v128.bitselect(z, f32x4.mul(alpha, z), positive(z));
    case ELU: {
      const e = f32x4.mul(f32x4.splat(ELU_ALPHA), expm1Neg(minNaN(z, 0)));
      return v128.bitselect(z, e, positive(z));
    }
    case SWISH: return f32x4.mul(z, sigmoid4(z));
    case GELU: return f32x4.mul(z, sigmoid4(geluArg(geluClamp(z))));
    case TANH: return tanh4(z);
    case SIGMOID: return sigmoid4(z);
    default: return z;
  }
}

/**
 * dz = da · f'(z) on four lanes (prelu's dalpha is the caller's). tanh and sigmoid take their
 * derivative from a = f(z), the others from z; pass zeros for the one not used.
 * swish' = σ(1 + z(1 − σ));  gelu' = s + 2z·s(1 − s)·c(1 + 3kz²), s = σ(2u), as ½(1 + tanh u) = s
 * and 1 − tanh²u = 4s(1 − s); σ and 1 − σ are each taken as a quotient (neither as 1 − the other).
 */
// @ts-ignore: decorator
@inline export function backprop(code: i32, da: v128, z: v128, a: v128, alpha: v128): v128 {
  const one = f32x4.splat(1);
  switch (code) {
    case RELU: return f32x4.mul(da, v128.and(positive(z), one)); // multiplied in: NaN in da stays NaN
    case LEAKY_RELU: return v128.bitselect(da, f32x4.mul(f32x4.splat(LEAKY_SLOPE), da), positive(z));
    case PRELU: return v128.bitselect(da, f32x4.mul(alpha, da), positive(z));
    case ELU: {
      const d = f32x4.mul(f32x4.mul(da, f32x4.splat(ELU_ALPHA)), expNeg(minNaN(z, 0)));
      return v128.bitselect(da, d, positive(z));
    }
    case SWISH: {
      const e = expNeg(negAbs(z)), pos = positive(z);
      const inv = f32x4.div(one, f32x4.add(one, e));
      const s = f32x4.mul(v128.bitselect(one, e, pos), inv), sc = f32x4.mul(v128.bitselect(e, one, pos), inv);
      return f32x4.mul(f32x4.mul(da, s), f32x4.add(one, f32x4.mul(z, sc)));
    }
    case GELU: {
      const zc = geluClamp(z), u = geluArg(zc);
      const e = expNeg(negAbs(u)), pos = positive(u);
      const inv = f32x4.div(one, f32x4.add(one, e));
      const s = f32x4.mul(v128.bitselect(one, e, pos), inv), sc = f32x4.mul(v128.bitselect(e, one, pos), inv);
      const poly = f32x4.add(one, f32x4.mul(f32x4.splat(3 * GELU_K), f32x4.mul(zc, zc)));
      const slope = f32x4.mul(f32x4.mul(f32x4.mul(zc, f32x4.mul(s, sc)), f32x4.splat(2 * GELU_C)), poly);
      return f32x4.mul(da, f32x4.add(s, slope));
    }
    case TANH: return f32x4.mul(da, f32x4.mul(f32x4.sub(one, a), f32x4.add(one, a))); // 1 − a², without losing bits near |a| = 1
    case SIGMOID: return f32x4.mul(f32x4.mul(da, a), f32x4.sub(one, a));
    default: return da;
  }
}

// One loop per activation: the code is a constant in each, so `activate` folds to its one case.
// @ts-ignore: decorator
@inline function forwardLoop(code: i32, a: usize, z: usize, end4: usize): void {
  const none = f32x4.splat(0);
  for (let i: usize = 0; i < end4; i += 16) v128.store(a + i, activate(code, v128.load(z + i), none));
}

/** a (m,n) = f(z) (m,n); alpha (n) for prelu (else 0); a may be z. */
export function activationForward(code: i32, a: usize, z: usize, alpha: usize, m: i32, n: i32): void {
  if (code == PRELU) { preluForward(a, z, alpha, m, n); return; }
  const end = <usize>m * n << 2, end4 = end & ~15;
  if (code == LINEAR) { if (a != z) memory.copy(a, z, end); return; }
  switch (code) {
    case RELU: forwardLoop(RELU, a, z, end4); break;
    case LEAKY_RELU: forwardLoop(LEAKY_RELU, a, z, end4); break;
    case ELU: forwardLoop(ELU, a, z, end4); break;
    case SWISH: forwardLoop(SWISH, a, z, end4); break;
    case GELU: forwardLoop(GELU, a, z, end4); break;
    case TANH: forwardLoop(TANH, a, z, end4); break;
    case SIGMOID: forwardLoop(SIGMOID, a, z, end4); break;
  }
  for (let i = end4; i < end; i += 4) v128.store32_lane(a + i, activate(code, v128.load32_zero(z + i), f32x4.splat(0)), 0);
}

/** prelu over (m, n): a = z where z > 0, alpha[j]·z otherwise. */
function preluForward(a: usize, z: usize, alpha: usize, m: i32, n: i32): void {
  const row = <usize>n << 2, row4 = row & ~15;
  for (let r = 0, o: usize = 0; r < m; r++, o += row) {
    let j: usize = 0;
    for (; j < row4; j += 16) v128.store(a + o + j, activate(PRELU, v128.load(z + o + j), v128.load(alpha + j)));
    for (; j < row; j += 4) {
      v128.store32_lane(a + o + j, activate(PRELU, v128.load32_zero(z + o + j), v128.load32_zero(alpha + j)), 0);
    }
  }
}

/** da, z and a at byte i, each loaded only where the activation's derivative needs it. */
// @ts-ignore: decorator
@inline function backwardLoop(code: i32, dz: usize, da: usize, z: usize, a: usize, end4: usize): void {
  const none = f32x4.splat(0);
  const usesA = code == TANH || code == SIGMOID;
  for (let i: usize = 0; i < end4; i += 16) {
    const g = v128.load(da + i);
    const d = usesA ? backprop(code, g, none, v128.load(a + i), none) : backprop(code, g, v128.load(z + i), none, none);
    v128.store(dz + i, d);
  }
}

/**
 * dz (m,n) = da · f'(z) (dz may alias da); for prelu, alpha (n) the slopes and dalpha (n) +=
 * Σ_rows da·z where z ≤ 0 (dalpha 0: not accumulated).
 */
export function activationBackward(code: i32, dz: usize, dalpha: usize, da: usize, z: usize, a: usize,
                                   alpha: usize, m: i32, n: i32): void {
  if (code == PRELU) { preluBackward(dz, dalpha, da, z, alpha, m, n); return; }
  const end = <usize>m * n << 2, end4 = end & ~15;
  if (code == LINEAR) { if (dz != da) memory.copy(dz, da, end); return; }
  switch (code) {
    case RELU: backwardLoop(RELU, dz, da, z, a, end4); break;
    case LEAKY_RELU: backwardLoop(LEAKY_RELU, dz, da, z, a, end4); break;
    case ELU: backwardLoop(ELU, dz, da, z, a, end4); break;
    case SWISH: backwardLoop(SWISH, dz, da, z, a, end4); break;
    case GELU: backwardLoop(GELU, dz, da, z, a, end4); break;
    case TANH: backwardLoop(TANH, dz, da, z, a, end4); break;
    case SIGMOID: backwardLoop(SIGMOID, dz, da, z, a, end4); break;
  }
  const none = f32x4.splat(0);
  for (let i = end4; i < end; i += 4) {
    const d = backprop(code, v128.load32_zero(da + i), v128.load32_zero(z + i), v128.load32_zero(a + i), none);
    v128.store32_lane(dz + i, d, 0);
  }
}

/**
 * prelu's backward over (m, n): dz = da where z > 0, alpha[j]·da otherwise, and dalpha[j] +=
 * da·z where z ≤ 0 (or NaN), row after row. Each addition is done as the TypeScript kernel does
 * it, the float32 product exact in float64, the sum rounded to float64 then float32, so dalpha
 * is the same bit for bit.
 */
function preluBackward(dz: usize, dalpha: usize, da: usize, z: usize, alpha: usize, m: i32, n: i32): void {
  const row = <usize>n << 2, row4 = row & ~15;
  for (let r = 0, o: usize = 0; r < m; r++, o += row) {
    let j: usize = 0;
    for (; j < row4; j += 16) {
      const g = v128.load(da + o + j), v = v128.load(z + o + j);
      v128.store(dz + o + j, backprop(PRELU, g, v, g, v128.load(alpha + j)));
      if (dalpha == 0) continue;
      const old = v128.load(dalpha + j);
      const gh = v128.shuffle<f32>(g, g, 2, 3, 0, 1), vh = v128.shuffle<f32>(v, v, 2, 3, 0, 1);
      const oh = v128.shuffle<f32>(old, old, 2, 3, 0, 1);
      const lo = f64x2.add(f64x2.promote_low_f32x4(old),
                           f64x2.mul(f64x2.promote_low_f32x4(g), f64x2.promote_low_f32x4(v)));
      const hi = f64x2.add(f64x2.promote_low_f32x4(oh),
                           f64x2.mul(f64x2.promote_low_f32x4(gh), f64x2.promote_low_f32x4(vh)));
      const sum = v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
      v128.store(dalpha + j, v128.bitselect(old, sum, positive(v))); // z > 0: nothing added
    }
    for (; j < row; j += 4) {
      const g = load<f32>(da + o + j), v = load<f32>(z + o + j);
      if (v > 0) {
        store<f32>(dz + o + j, g);
      } else {
        if (dalpha != 0) store<f32>(dalpha + j, <f32>(<f64>load<f32>(dalpha + j) + <f64>g * <f64>v));
        store<f32>(dz + o + j, load<f32>(alpha + j) * g);
      }
    }
  }
}
