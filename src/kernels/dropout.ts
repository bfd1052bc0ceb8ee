/**
 * Inverted dropout (Srivastava et al. 2014, JMLR 15): out = a · keep / (1 − p), keep ∈ {0, 1}
 * with P(keep = 0) = p. The mask is not stored: it is a hash of (seed, element index), so the
 * backward pass recomputes it, any thread computes the same mask for the same rows, and a run's
 * masks are fixed by its seed and step number alone.
 */
import type { Floats } from './types.js';

/** murmur3's 32-bit finalizer: every input bit flips each output bit with probability ~½. */
export function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The mask's seed for one layer of one step: mixes the run's seed, the step and the layer. */
export function dropoutSeed(runSeed: number, step: number, layer: number): number {
  return fmix32(fmix32(runSeed ^ 0x2545f491) ^ fmix32(Math.imul(step, 0x9e3779b1) + layer));
}

/** keep / (1 − p) for element `index` (its row in the batch × units + unit). */
function factor(seed: number, index: number, p: number, scale: number): number {
  return fmix32(seed ^ Math.imul(index, 0x9e3779b1)) / 4294967296 >= p ? scale : 0;
}

/** out (m,n) = a · mask / (1 − p) over rows rowStart … rowStart + m − 1 of the batch. */
export function dropoutForward(out: Floats, a: Floats, p: number, seed: number, rowStart: number, m: number, n: number): void {
  const scale = 1 / (1 - p);
  const first = rowStart * n;
  for (let i = 0; i < m * n; i++) out[i] = a[i]! * factor(seed, first + i, p, scale);
}

/** da (m,n) = dout · mask / (1 − p), the same mask as the forward's; da may alias dout. */
export function dropoutBackward(da: Floats, dout: Floats, p: number, seed: number, rowStart: number, m: number, n: number): void {
  const scale = 1 / (1 - p);
  const first = rowStart * n;
  for (let i = 0; i < m * n; i++) da[i] = dout[i]! * factor(seed, first + i, p, scale);
}
