/**
 * Four-lane transcendentals for the activations: eˣ and eˣ − 1 on x ≤ 0, σ(x) and tanh(x) built
 * on them. Cephes' expf (S. L. Moshier) and XNNPACK's f32 vexp/velu/vsigmoid/vtanh kernels do
 * the same: Cody–Waite range reduction to t ∈ [−ln2/2, ln2/2], a degree-7 polynomial, a scale by
 * 2ⁿ built in the exponent bits. n is rounded as XNNPACK rounds it, by adding a "magic" float
 * whose last mantissa bits then hold n + 127, so 2ⁿ is those bits shifted into the exponent: two
 * instructions where f32x4.nearest and i32x4.trunc_sat_f32x4_s take seven on x64.
 *
 * Only x ≤ 0 is ever needed: σ(x) and tanh(x) are written in e^(−|x|), ELU takes eˣ only where
 * x ≤ 0. So 2ⁿ never overflows, and the one cut-off is the underflow at ln(FLT_MIN), below which
 * eˣ is flushed to 0 (the true value is a denormal < 1.2e−38). Error: ~2 ulp against the float64
 * functions of src/kernels/activations.ts, for eˣ − 1 relative to the result even near 0. NaN in,
 * NaN out (every clamp keeps a NaN). The polynomial's multiply-adds are fused in the relaxed-SIMD
 * build (simd.ts's madd); nothing relies on it.
 */

import { madd } from './simd';

/** ln(FLT_MIN): below it eˣ is a denormal, flushed to 0; at it, n = −126, the smallest normal scale. */
const EXP_CUTOFF: f32 = -87.33654;
/** Below it eˣ − 1 rounds to −1 in float32 (e^−17.33 = 2⁻²⁵). */
const EXPM1_CUTOFF: f32 = -17.328680;
const LOG2E: f32 = 1.44269504088896341;
/**
 * 1.5·2²³ + 127: x·log₂e + MAGIC rounds x·log₂e to an integer n (float32 has no bits below 1
 * there) and leaves n + 127 in the low mantissa bits; 1.5 keeps the sum in one binade for |n| < 2²².
 */
const MAGIC: f32 = 12583039;
/** ln 2 = LN2_HI + LN2_LO; LN2_HI has 9 significant bits, so n·LN2_HI is exact for |n| ≤ 2¹⁵. */
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
// Cephes expf's minimax polynomial: eᵗ − 1 = t + t²·P(t) on |t| ≤ ln2/2.
const P0: f32 = 5.0000001201e-1;
const P1: f32 = 1.6666665459e-1;
const P2: f32 = 4.1665795894e-2;
const P3: f32 = 8.3334519073e-3;
const P4: f32 = 1.3981999507e-3;
const P5: f32 = 1.9875691500e-4;

/**
 * max(x, c) and min(x, c) for a constant c that keep a NaN x: f32x4.pmax/pmin (b if a < b, else a)
 * are one maxps/minps on x64, where f32x4.max/min (NaN and ±0 exact both ways) take eight.
 */
// @ts-ignore: decorator
@inline export function maxNaN(x: v128, c: f32): v128 { return f32x4.pmax(x, f32x4.splat(c)); }
// @ts-ignore: decorator
@inline export function minNaN(x: v128, c: f32): v128 { return f32x4.pmin(x, f32x4.splat(c)); }

/** −|x|: the sign bit set (one OR, where f32x4.neg(f32x4.abs(x)) builds two masks on x64). */
// @ts-ignore: decorator
@inline export function negAbs(x: v128): v128 { return v128.or(x, i32x4.splat(0x80000000)); }

/** eᵗ − 1 = t + t²·P(t) for |t| ≤ ln2/2 (Horner, six constants). */
// @ts-ignore: decorator
@inline function expm1Reduced(t: v128): v128 {
  let p = madd(f32x4.splat(P5), t, f32x4.splat(P4));
  p = madd(p, t, f32x4.splat(P3));
  p = madd(p, t, f32x4.splat(P2));
  p = madd(p, t, f32x4.splat(P1));
  p = madd(p, t, f32x4.splat(P0));
  return madd(f32x4.mul(p, t), t, t);
}

/** t = x − n·ln2 in two steps (Cody–Waite), so t keeps the bits that x − n·0.6931… would lose. */
// @ts-ignore: decorator
@inline function reduce(x: v128, n: v128): v128 {
  return f32x4.sub(f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)));
}

/** 2ⁿ from the biased sum x·log₂e + MAGIC (n in [−126, 0]): its low bits n + 127, as an exponent. */
// @ts-ignore: decorator
@inline function pow2(biased: v128): v128 { return i32x4.shl(biased, 23); }

/** x·log₂e + MAGIC: n = round(x·log₂e) (ties to even) in its low bits. */
// @ts-ignore: decorator
@inline function biasedN(x: v128): v128 {
  return f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(MAGIC));
}

/** eˣ for x ≤ 0 (callers pass −|x| or min(x, 0); 2ⁿ would overflow past x = 88); 0 below ln(FLT_MIN). */
// @ts-ignore: decorator
@inline export function expNeg(x: v128): v128 {
  const xc = maxNaN(x, EXP_CUTOFF);
  const nb = biasedN(xc), n = f32x4.sub(nb, f32x4.splat(MAGIC));
  const e = f32x4.mul(f32x4.add(expm1Reduced(reduce(xc, n)), f32x4.splat(1)), pow2(nb));
  return v128.andnot(e, f32x4.lt(x, f32x4.splat(EXP_CUTOFF)));
}

/**
 * eˣ − 1 for x ≤ 0, relative-accurate near 0 (where eˣ − 1 loses every bit of x): with s = 2ⁿ,
 * eˣ − 1 = s·(eᵗ − 1) + (s − 1), as XNNPACK's ELU kernels compute it; n = 0 for |x| < ln2/2.
 */
// @ts-ignore: decorator
@inline export function expm1Neg(x: v128): v128 {
  const xc = maxNaN(x, EXPM1_CUTOFF);
  const nb = biasedN(xc), n = f32x4.sub(nb, f32x4.splat(MAGIC));
  const s = pow2(nb);
  return f32x4.add(f32x4.mul(expm1Reduced(reduce(xc, n)), s), f32x4.sub(s, f32x4.splat(1)));
}

/**
 * σ(x) = 1/(1 + e⁻ˣ) for x > 0, e/(1 + e) otherwise, with e = e^(−|x|) ≤ 1: neither overflows,
 * as in src/kernels/activations.ts's sigmoid; σ(−100) = 0, σ(100) = 1.
 */
// @ts-ignore: decorator
@inline export function sigmoid4(x: v128): v128 {
  const e = expNeg(negAbs(x));
  const num = v128.bitselect(f32x4.splat(1), e, f32x4.gt(x, f32x4.splat(0)));
  return f32x4.div(num, f32x4.add(e, f32x4.splat(1)));
}

/**
 * tanh(x) = −u/(u + 2)·sign(x), u = e^(−2|x|) − 1 ∈ (−1, 0]: relative-accurate near 0 (u ≈ −2|x|)
 * and exactly ±1 once e^(−2|x|) is below float32's resolution.
 */
// @ts-ignore: decorator
@inline export function tanh4(x: v128): v128 {
  const u = expm1Neg(f32x4.add(negAbs(x), negAbs(x)));
  const t = f32x4.div(u, f32x4.add(u, f32x4.splat(2))); // −tanh|x| (or +0 at x = 0)
  const sign = i32x4.splat(0x80000000);
  return v128.or(v128.andnot(t, sign), v128.and(x, sign));
}
