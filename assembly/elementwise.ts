/**
 * Element-wise kernels with the semantics of src/kernels/{activations,optim,reduce}.ts, four lanes
 * at a time. Each gives the TypeScript kernel's float32 results bit for bit: relu and its
 * derivative are exact, sumSlots adds in the same order, and sgdUpdate computes in float64 as
 * JavaScript does and rounds once.
 */

/** y = max(0, x); f32x4.max keeps NaN and gives +0 for −0, as ½(x + |x|) does. */
export function reluForward(y: usize, x: usize, n: i32): void {
  const zero = f32x4.splat(0);
  const end = <usize>n << 2, end4 = <usize>(n & ~3) << 2;
  let i: usize = 0;
  for (; i < end4; i += 16) v128.store(y + i, f32x4.max(v128.load(x + i), zero));
  for (; i < end; i += 4) store<f32>(y + i, max<f32>(load<f32>(x + i), 0));
}

/** dx = dy · [x > 0], multiplied in (so NaN or ∞ in dy where x ≤ 0 still gives NaN, as in the TypeScript kernel). */
export function reluBackward(dx: usize, dy: usize, x: usize, n: i32): void {
  const zero = f32x4.splat(0), one = f32x4.splat(1);
  const end = <usize>n << 2, end4 = <usize>(n & ~3) << 2;
  let i: usize = 0;
  for (; i < end4; i += 16) {
    const step = v128.and(f32x4.gt(v128.load(x + i), zero), one);
    v128.store(dx + i, f32x4.mul(v128.load(dy + i), step));
  }
  for (; i < end; i += 4) store<f32>(dx + i, load<f32>(dy + i) * (load<f32>(x + i) > 0 ? <f32>1 : <f32>0));
}

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

/** Floats of out summed per chunk: the chunk of out stays in L1 while every slot is added to it. */
const CHUNK: i32 = 1024;

/**
 * out (n) = Σ_{s<count} slots[s·stride + i], added in slot order with float32 rounding after each
 * addition (stride in floats), as the TypeScript kernel does.
 */
export function sumSlots(out: usize, slots: usize, stride: i32, count: i32, n: i32): void {
  const sb = <usize>stride << 2;
  for (let c = 0; c < n; c += CHUNK) {
    const len = <usize>(n - c < CHUNK ? n - c : CHUNK) << 2;
    const o = out + (<usize>c << 2), first = slots + (<usize>c << 2);
    memory.copy(o, first, len);
    const len4 = len & ~15;
    for (let s = 1, src = first + sb; s < count; s++, src += sb) {
      let i: usize = 0;
      for (; i < len4; i += 16) v128.store(o + i, f32x4.add(v128.load(o + i), v128.load(src + i)));
      for (; i < len; i += 4) store<f32>(o + i, load<f32>(o + i) + load<f32>(src + i));
    }
  }
}
