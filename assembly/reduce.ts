/**
 * The sum of the gradient slots, with the semantics of src/kernels/reduce.ts: added in slot
 * order with a float32 rounding after each addition, so the result is the TypeScript kernel's
 * bit for bit, and does not depend on how many threads share the reduction.
 */

/** Floats of out summed per chunk: the chunk of out stays in L1 while every slot is added to it. */
const CHUNK: i32 = 1024;

/**
 * out (n) = Σ_{s<count} slots[s·stride + i], added in slot order with float32 rounding after each
 * addition (stride in floats), as the TypeScript kernel does; returns Σ out² in float64.
 */
export function sumSlots(out: usize, slots: usize, stride: i32, count: i32, n: i32): f64 {
  const sb = <usize>stride << 2;
  let sq = f64x2.splat(0);
  let tail: f64 = 0;
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
    // Σ out² of the finished chunk, still in L1: the gradient's squared norm, for free.
    let i: usize = 0;
    for (; i < len4; i += 16) {
      const v = v128.load(o + i);
      const lo = f64x2.promote_low_f32x4(v), hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
      sq = f64x2.add(sq, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
    }
    for (; i < len; i += 4) { const v = <f64>load<f32>(o + i); tail += v * v; }
  }
  return f64x2.extract_lane(sq, 0) + f64x2.extract_lane(sq, 1) + tail;
}

/**
 * One hidden layer's diagnostics over (m, n) outputs a and pre-activations y (float32), with the
 * semantics of layerStats in src/kernels/reduce.ts: units[j] (float64) = rows where a > 0;
 * totals (float64) = [Σ units, Σ y, Σ y²]. Sums are taken in float64, two lanes at a time.
 */
export function layerStats(totals: usize, units: usize, a: usize, y: usize, m: i32, n: i32): void {
  const one = f32x4.splat(1.0);
  const zero = f32x4.splat(0.0);
  const n4 = n & ~3;
  memory.fill(units, 0, <usize>n << 3);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0), q0 = f64x2.splat(0), q1 = f64x2.splat(0);
  let sTail: f64 = 0, qTail: f64 = 0;
  for (let r = 0; r < m; r++) {
    const ar = a + (<usize>(r * n) << 2), yr = y + (<usize>(r * n) << 2);
    let j = 0;
    for (; j < n4; j += 4) {
      const on = v128.and(f32x4.gt(v128.load(ar + (<usize>j << 2)), zero), one);
      const u = units + (<usize>j << 3);
      v128.store(u, f64x2.add(v128.load(u), f64x2.promote_low_f32x4(on)));
      v128.store(u + 16, f64x2.add(v128.load(u + 16), f64x2.promote_low_f32x4(i32x4.shuffle(on, on, 2, 3, 0, 1))));
      const v = v128.load(yr + (<usize>j << 2));
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
      s0 = f64x2.add(s0, lo);
      s1 = f64x2.add(s1, hi);
      q0 = f64x2.add(q0, f64x2.mul(lo, lo));
      q1 = f64x2.add(q1, f64x2.mul(hi, hi));
    }
    for (; j < n; j++) {
      if (load<f32>(ar + (<usize>j << 2)) > 0) store<f64>(units + (<usize>j << 3), load<f64>(units + (<usize>j << 3)) + 1);
      const v = <f64>load<f32>(yr + (<usize>j << 2));
      sTail += v;
      qTail += v * v;
    }
  }
  let active: f64 = 0;
  for (let j = 0; j < n; j++) active += load<f64>(units + (<usize>j << 3));
  const s = f64x2.add(s0, s1), q = f64x2.add(q0, q1);
  store<f64>(totals, active);
  store<f64>(totals + 8, f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1) + sTail);
  store<f64>(totals + 16, f64x2.extract_lane(q, 0) + f64x2.extract_lane(q, 1) + qTail);
}

/** Σ x² over n float32 values, in float64 (two lanes, then their sum). */
export function sumSquares(x: usize, n: i32): f64 {
  const n4 = n & ~3;
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = 0;
  for (; i < n4; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
    s0 = f64x2.add(s0, f64x2.mul(lo, lo));
    s1 = f64x2.add(s1, f64x2.mul(hi, hi));
  }
  let tail: f64 = 0;
  for (; i < n; i++) { const v = <f64>load<f32>(x + (<usize>i << 2)); tail += v * v; }
  const s = f64x2.add(s0, s1);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1) + tail;
}

/** Σ (a − b)² over n float32 values, the difference taken in float64. */
export function sumSquaredDiff(a: usize, b: usize, n: i32): f64 {
  const n4 = n & ~3;
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = 0;
  for (; i < n4; i += 4) {
    const va = v128.load(a + (<usize>i << 2)), vb = v128.load(b + (<usize>i << 2));
    const lo = f64x2.sub(f64x2.promote_low_f32x4(va), f64x2.promote_low_f32x4(vb));
    const hi = f64x2.sub(f64x2.promote_low_f32x4(i32x4.shuffle(va, va, 2, 3, 0, 1)), f64x2.promote_low_f32x4(i32x4.shuffle(vb, vb, 2, 3, 0, 1)));
    s0 = f64x2.add(s0, f64x2.mul(lo, lo));
    s1 = f64x2.add(s1, f64x2.mul(hi, hi));
  }
  let tail: f64 = 0;
  for (; i < n; i++) { const d = <f64>load<f32>(a + (<usize>i << 2)) - <f64>load<f32>(b + (<usize>i << 2)); tail += d * d; }
  const s = f64x2.add(s0, s1);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1) + tail;
}
