/**
 * The fully connected layer, llm.c style: outputs first, then inputs, then sizes; no allocation.
 * Weights are stored (nOut, nIn) = (n, k), as PyTorch's Linear stores them, so a PyTorch state
 * dict and quiver's safetensors need no transpose.
 *
 * All three products go through the register-tiled gemmStrided, each with the strides of its
 * transpose; the tests hold them to the naive `gemm`. JavaScript accumulates each dot product
 * in float64 and rounds once when it is stored.
 */
import type { Floats } from './types.js';
import { gemmStrided } from './gemm.js';

/** out (m,n) = x (m,k) · wᵀ + b, with w (n,k), b (n) or null. */
export function denseForward(out: Floats, x: Floats, w: Floats, b: Floats | null, m: number, n: number, k: number): void {
  if (b !== null) {
    for (let i = 0; i < m; i++) for (let j = 0, o = i * n; j < n; j++) out[o + j] = b[j]!;
  }
  // A = x: (i,p) at i·k + p.  B = wᵀ: (p,j) at j·k + p.
  gemmStrided(out, x, w, m, n, k, k, 1, 1, k, b !== null);
}

/**
 * Backward of denseForward; every output accumulates (+=), so gradients of a micro-shard add up.
 * dx (m,k) += dy (m,n) · w (n,k)        (skipped when dx is null: the first layer needs none)
 * dw (n,k) += dyᵀ (n,m) · x (m,k)
 * db (n)   += Σ_rows dy                  (skipped when db is null)
 */
export function denseBackward(dx: Floats | null, dw: Floats, db: Floats | null, dy: Floats, x: Floats, w: Floats,
                              m: number, n: number, k: number): void {
  // A = dyᵀ: (j,i) at i·n + j.  B = x: (i,p) at i·k + p.
  gemmStrided(dw, dy, x, n, k, m, 1, n, k, 1, true);
  if (db !== null) {
    for (let r = 0; r < m; r++) {
      const dr = r * n;
      for (let j = 0; j < n; j++) db[j] = db[j]! + dy[dr + j]!;
    }
  }
  // A = dy: (i,j) at i·n + j.  B = w: (j,p) at j·k + p.
  if (dx !== null) gemmStrided(dx, dy, w, m, k, n, n, 1, k, 1, true);
}
