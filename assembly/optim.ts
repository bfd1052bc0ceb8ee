/**
 * The optimizer update over one weight shard, with the semantics of src/kernels/optim.ts, as one
 * loop: velocity and parameter are read once and written once. It gives the TypeScript kernel's
 * float32 results bit for bit: the arithmetic is float64, as JavaScript's, rounded once per store.
 */

/**
 * SGD with momentum as PyTorch defines it (dampening 0):  v ← μ·v + g;  p ← p − lr·v.
 * μ = 0, vOut = 0 or vIn = 0: p ← p − lr·g. Float64 inside, two lanes at a time, as the
 * TypeScript kernel computes (v is rounded to float32 only where it is stored).
 */
export function sgdUpdate(pOut: usize, pIn: usize, grad: usize, vOut: usize, vIn: usize,
                          n: i32, lr: f64, momentum: f64): void {
  const vlr = f64x2.splat(lr), vmu = f64x2.splat(momentum);
  const end = <usize>n << 2, end2 = <usize>(n & ~1) << 2;
  let i: usize = 0;
  if (momentum == 0 || vOut == 0 || vIn == 0) {
    for (; i < end2; i += 8) {
      const p = f64x2.promote_low_f32x4(v128.load64_zero(pIn + i));
      const g = f64x2.promote_low_f32x4(v128.load64_zero(grad + i));
      v128.store64_lane(pOut + i, f32x4.demote_f64x2_zero(f64x2.sub(p, f64x2.mul(vlr, g))), 0);
    }
    if (i < end) store<f32>(pOut + i, <f32>(<f64>load<f32>(pIn + i) - lr * <f64>load<f32>(grad + i)));
    return;
  }
  for (; i < end2; i += 8) {
    const v = f64x2.add(f64x2.mul(vmu, f64x2.promote_low_f32x4(v128.load64_zero(vIn + i))),
                        f64x2.promote_low_f32x4(v128.load64_zero(grad + i)));
    v128.store64_lane(vOut + i, f32x4.demote_f64x2_zero(v), 0);
    const p = f64x2.promote_low_f32x4(v128.load64_zero(pIn + i));
    v128.store64_lane(pOut + i, f32x4.demote_f64x2_zero(f64x2.sub(p, f64x2.mul(vlr, v))), 0);
  }
  if (i < end) {
    const v = momentum * <f64>load<f32>(vIn + i) + <f64>load<f32>(grad + i);
    store<f32>(vOut + i, <f32>v);
    store<f32>(pOut + i, <f32>(<f64>load<f32>(pIn + i) - lr * v));
  }
}
