/**
 * The fully connected layer, llm.c style: outputs first, then inputs, then sizes; no allocation.
 * Weights are stored (nOut, nIn) = (n, k), as PyTorch's Linear stores them, so a PyTorch state
 * dict and quiver's safetensors need no transpose.
 *
 * The loops are unrolled by four along the dimension that lets each loaded value be used four
 * times; the products are the same as the naive `gemm` in ./gemm.ts, which the tests hold them to.
 * JavaScript accumulates in float64 and rounds once per stored element.
 */
import type { Floats } from './types.js';

/** out (m,n) = x (m,k) · wᵀ + b, with w (n,k), b (n) or null. */
export function denseForward(out: Floats, x: Floats, w: Floats,
                             b: Floats | null, m: number, n: number, k: number): void {
  const n4 = n - (n % 4);
  for (let i = 0; i < m; i++) {
    const xi = i * k;
    const oi = i * n;
    let j = 0;
    for (; j < n4; j += 4) {
      const w0 = j * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = 0; p < k; p++) {
        const xv = x[xi + p]!;
        s0 += xv * w[w0 + p]!;
        s1 += xv * w[w1 + p]!;
        s2 += xv * w[w2 + p]!;
        s3 += xv * w[w3 + p]!;
      }
      if (b !== null) {
        s0 += b[j]!; s1 += b[j + 1]!; s2 += b[j + 2]!; s3 += b[j + 3]!;
      }
      out[oi + j] = s0; out[oi + j + 1] = s1; out[oi + j + 2] = s2; out[oi + j + 3] = s3;
    }
    for (; j < n; j++) {
      const wj = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += x[xi + p]! * w[wj + p]!;
      out[oi + j] = b !== null ? s + b[j]! : s;
    }
  }
}

/**
 * Backward of denseForward; every output accumulates (+=), so gradients of a micro-shard add up.
 * dx (m,k) += dy (m,n) · w (n,k)        (skipped when dx is null: the first layer needs none)
 * dw (n,k) += dyᵀ (n,m) · x (m,k)
 * db (n)   += Σ_rows dy                  (skipped when db is null)
 */
export function denseBackward(dx: Floats | null, dw: Floats, db: Floats | null,
                              dy: Floats, x: Floats, w: Floats,
                              m: number, n: number, k: number): void {
  // dw: four rows of x at a time, so each dw element is loaded and stored once per four rows.
  const m4 = m - (m % 4);
  let i = 0;
  for (; i < m4; i += 4) {
    const x0 = i * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
    for (let j = 0; j < n; j++) {
      const g0 = dy[i * n + j]!, g1 = dy[(i + 1) * n + j]!, g2 = dy[(i + 2) * n + j]!, g3 = dy[(i + 3) * n + j]!;
      if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue; // dead ReLU rows cost nothing
      const wj = j * k;
      for (let p = 0; p < k; p++) {
        dw[wj + p] = dw[wj + p]! + (g0 * x[x0 + p]! + g1 * x[x1 + p]! + g2 * x[x2 + p]! + g3 * x[x3 + p]!);
      }
    }
  }
  for (; i < m; i++) {
    const xi = i * k;
    for (let j = 0; j < n; j++) {
      const g = dy[i * n + j]!;
      if (g === 0) continue;
      const wj = j * k;
      for (let p = 0; p < k; p++) dw[wj + p] = dw[wj + p]! + g * x[xi + p]!;
    }
  }
  if (db !== null) {
    for (let r = 0; r < m; r++) {
      const dr = r * n;
      for (let j = 0; j < n; j++) db[j] = db[j]! + dy[dr + j]!;
    }
  }
  if (dx !== null) {
    // dx row r: Σ_j dy[r,j] · w[j,:], four rows of w at a time.
    const n4 = n - (n % 4);
    for (let r = 0; r < m; r++) {
      const xr = r * k;
      const dr = r * n;
      let j = 0;
      for (; j < n4; j += 4) {
        const g0 = dy[dr + j]!, g1 = dy[dr + j + 1]!, g2 = dy[dr + j + 2]!, g3 = dy[dr + j + 3]!;
        if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
        const w0 = j * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        for (let p = 0; p < k; p++) {
          dx[xr + p] = dx[xr + p]! + (g0 * w[w0 + p]! + g1 * w[w1 + p]! + g2 * w[w2 + p]! + g3 * w[w3 + p]!);
        }
      }
      for (; j < n; j++) {
        const g = dy[dr + j]!;
        if (g === 0) continue;
        const wj = j * k;
        for (let p = 0; p < k; p++) dx[xr + p] = dx[xr + p]! + g * w[wj + p]!;
      }
    }
  }
}
