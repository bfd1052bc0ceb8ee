/**
 * out (n) = Σ_{s=0}^{count−1} slots[s·stride + i], added in slot order and rounded to float32
 * after each addition, always. The order is the same whatever the number of workers, which is
 * what makes a run's weights bit-identical for any worker count. `slots` starts at this shard's
 * first element in slot 0; slots are walked one at a time so every pass is contiguous.
 * Returns Σ out², the summed gradient's squared norm, in float64.
 */
import type { Floats } from './types.js';
export function sumSlots(out: Floats, slots: Floats, stride: number, count: number, n: number): number {
  for (let i = 0; i < n; i++) out[i] = slots[i]!;
  for (let s = 1; s < count; s++) {
    const o = s * stride;
    for (let i = 0; i < n; i++) out[i] = out[i]! + slots[o + i]!;
  }
  return sumSquares(out, n);
}

/** Σ x² over n values, in float64. */
export function sumSquares(x: Floats, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) { const v = x[i]!; s += v * v; }
  return s;
}

/**
 * One hidden layer's diagnostics over (m, n) outputs a and pre-activations y: units (n) = the
 * rows where each unit's output is > 0; totals = [Σ units, Σ y, Σ y²], in float64.
 */
export function layerStats(totals: Float64Array, units: Float64Array, a: Floats, y: Floats, m: number, n: number): void {
  units.fill(0, 0, n);
  let sum = 0;
  let sumSq = 0;
  for (let r = 0; r < m; r++) {
    const o = r * n;
    for (let j = 0; j < n; j++) {
      units[j] += a[o + j]! > 0 ? 1 : 0;
      const v = y[o + j]!;
      sum += v;
      sumSq += v * v;
    }
  }
  let active = 0;
  for (let j = 0; j < n; j++) active += units[j]!;
  totals[0] = active;
  totals[1] = sum;
  totals[2] = sumSq;
}

/** Σ (a − b)² over n values, in float64. */
export function sumSquaredDiff(a: Floats, b: Floats, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) { const d = a[i]! - b[i]!; s += d * d; }
  return s;
}
