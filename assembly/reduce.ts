/**
 * The sum of the gradient slots, with the semantics of src/kernels/reduce.ts: added in slot
 * order with a float32 rounding after each addition, so the result is the TypeScript kernel's
 * bit for bit, and does not depend on how many threads share the reduction.
 */

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
