/**
 * out (n) = Σ_{s=0}^{count−1} slots[s·stride + i], added in slot order and rounded to float32
 * after each addition, always. The order is the same whatever the number of workers, which is
 * what makes a run's weights bit-identical for any worker count. `slots` starts at this shard's
 * first element in slot 0; slots are walked one at a time so every pass is contiguous.
 */
import type { Floats } from './types.js';
export function sumSlots(out: Floats, slots: Floats, stride: number, count: number, n: number): void {
  for (let i = 0; i < n; i++) out[i] = slots[i]!;
  for (let s = 1; s < count; s++) {
    const o = s * stride;
    for (let i = 0; i < n; i++) out[i] = out[i]! + slots[o + i]!;
  }
}

/** Σ x² over n values, in float64. */
export function sumSquares(x: Floats, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) { const v = x[i]!; s += v * v; }
  return s;
}
