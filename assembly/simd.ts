/**
 * Small helpers the kernels share. Pointers are byte offsets into the imported (shared) memory;
 * every helper is inlined, so a kernel's hot loop holds nothing but loads, multiply-adds and stores.
 */

/**
 * c + a·b on four lanes: one fused multiply-add (f32x4.relaxed_madd) when the module is built
 * with relaxed SIMD, else a rounded multiply then a rounded add, which every SIMD engine has.
 */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** [Σa, Σb, Σc, Σd]: the four horizontal sums, in one vector, with six shuffles and three adds. */
// @ts-ignore: decorator
@inline export function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  // ab = [a0+a2, b0+b2, a1+a3, b1+b3], cd likewise; then fold the halves.
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/** Σ of the four lanes of v. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  const h = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(h, 0) + f32x4.extract_lane(h, 1);
}

/**
 * The `rem` (1–3) floats at p in the low lanes, zeros above. Reads exactly 4·rem bytes, so the
 * tail of a tensor that ends at the end of memory does not trap.
 */
// @ts-ignore: decorator
@inline export function loadPartial(p: usize, rem: i32): v128 {
  if (rem == 1) return v128.load32_zero(p);
  const lo = v128.load64_zero(p);
  return rem == 2 ? lo : v128.load32_lane(p, lo, 2, 8);
}

/**
 * Four results to o, o + ocs, o + 2·ocs, o + 3·ocs (ocs in bytes; 4 = contiguous, one vector
 * store), added to what is there when `acc`.
 */
// @ts-ignore: decorator
@inline export function store4(o: usize, ocs: usize, v: v128, acc: bool): void {
  if (ocs == 4) {
    v128.store(o, acc ? f32x4.add(v128.load(o), v) : v);
  } else {
    store1(o, f32x4.extract_lane(v, 0), acc);
    store1(o + ocs, f32x4.extract_lane(v, 1), acc);
    store1(o + 2 * ocs, f32x4.extract_lane(v, 2), acc);
    store1(o + 3 * ocs, f32x4.extract_lane(v, 3), acc);
  }
}

// @ts-ignore: decorator
@inline export function store1(o: usize, v: f32, acc: bool): void {
  store<f32>(o, acc ? load<f32>(o) + v : v);
}
