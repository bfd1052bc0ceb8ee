/**
 * The optimizer update over one weight shard, with the semantics of src/kernels/optim.ts, as one
 * loop: velocity and parameter are read once and written once. It gives the TypeScript kernel's
 * float32 results bit for bit: the arithmetic is float64, as JavaScript's, rounded once per store.
 */

/**
 * SGD with momentum as PyTorch defines it (dampening 0):  v ← μ·v + g;  p ← p − lr·v.
 * μ = 0, vOut = 0 or vIn = 0: p ← p − lr·g. Float64 inside, two lanes at a time, as the
 * TypeScript kernel computes (v is rounded to float32 only where it is stored). With sums ≠ 0,
 * adds Σ (new − old)², Σ old², Σ new² to the three float64 at sums.
 */
export function sgdUpdate(pOut: usize, pIn: usize, grad: usize, vOut: usize, vIn: usize,
                          n: i32, lr: f64, momentum: f64, sums: usize): void {
  const vlr = f64x2.splat(lr), vmu = f64x2.splat(momentum);
  const plain = momentum == 0 || vOut == 0 || vIn == 0;
  const end = <usize>n << 2, end2 = <usize>(n & ~1) << 2;
  // Σ (new − old)², Σ old², Σ new² (new as stored, in float32), while the values are in registers.
  let delta = f64x2.splat(0), old = f64x2.splat(0), neu = f64x2.splat(0);
  let i: usize = 0;
  for (; i < end2; i += 8) {
    let step = f64x2.promote_low_f32x4(v128.load64_zero(grad + i));
    if (!plain) {
      step = f64x2.add(f64x2.mul(vmu, f64x2.promote_low_f32x4(v128.load64_zero(vIn + i))), step);
      v128.store64_lane(vOut + i, f32x4.demote_f64x2_zero(step), 0);
    }
    const p = f64x2.promote_low_f32x4(v128.load64_zero(pIn + i));
    const q32 = f32x4.demote_f64x2_zero(f64x2.sub(p, f64x2.mul(vlr, step)));
    v128.store64_lane(pOut + i, q32, 0);
    if (sums != 0) {
      const q = f64x2.promote_low_f32x4(q32);
      const d = f64x2.sub(q, p);
      delta = f64x2.add(delta, f64x2.mul(d, d));
      old = f64x2.add(old, f64x2.mul(p, p));
      neu = f64x2.add(neu, f64x2.mul(q, q));
    }
  }
  let dTail: f64 = 0, oTail: f64 = 0, nTail: f64 = 0;
  if (i < end) {
    let v = <f64>load<f32>(grad + i);
    if (!plain) {
      v = momentum * <f64>load<f32>(vIn + i) + v;
      store<f32>(vOut + i, <f32>v);
    }
    const p = <f64>load<f32>(pIn + i);
    const q = <f32>(p - lr * v);
    store<f32>(pOut + i, q);
    dTail = (<f64>q - p) * (<f64>q - p);
    oTail = p * p;
    nTail = <f64>q * <f64>q;
  }
  if (sums != 0) {
    store<f64>(sums, load<f64>(sums) + f64x2.extract_lane(delta, 0) + f64x2.extract_lane(delta, 1) + dTail);
    store<f64>(sums + 8, load<f64>(sums + 8) + f64x2.extract_lane(old, 0) + f64x2.extract_lane(old, 1) + oTail);
    store<f64>(sums + 16, load<f64>(sums + 16) + f64x2.extract_lane(neu, 0) + f64x2.extract_lane(neu, 1) + nTail);
  }
}
