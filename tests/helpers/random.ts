import { Prng } from '../../src/nn/prng.js';

/** n uniform values in [-scale, scale), in float32 or float64. */
export function randomArray<T extends Float32Array | Float64Array>(ctor: { new (n: number): T }, n: number, rng: Prng, scale = 1): T {
  const a = new ctor(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-scale, scale);
  return a;
}

/** Largest |a − b| over the arrays, and the largest |b| (to make it relative). */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { abs: number; rel: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    abs = Math.max(abs, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { abs, rel: abs / Math.max(scale, 1e-30) };
}
