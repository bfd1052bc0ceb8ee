/**
 * The fully connected layer with the semantics of src/kernels/dense.ts. Weights are stored
 * (nOut, nIn) = (n, k), as PyTorch's Linear stores them. Pointers are byte offsets into the shared
 * memory; 0 stands for null (no tensor lives in the first 64 KiB).
 */
import { gemm } from './gemm';

/** out (m,n) = x (m,k) · wᵀ + b, with w (n,k), b (n) or 0 for none. */
export function denseForward(out: usize, x: usize, w: usize, b: usize, m: i32, n: i32, k: i32): void {
  const row = <usize>n << 2;
  if (b != 0) for (let i = 0; i < m; i++) memory.copy(out + <usize>i * row, b, row);
  // A = x: (i,p) at i·k + p.  B = wᵀ: (p,j) at j·k + p.
  gemm(out, x, w, m, n, k, k, 1, 1, k, b != 0);
}

/**
 * Backward of denseForward; every output accumulates (+=).
 * dx (m,k) += dy (m,n) · w (n,k)        (skipped when dx is 0)
 * dw (n,k) += dyᵀ (n,m) · x (m,k)
 * db (n)   += Σ_rows dy                  (skipped when db is 0)
 */
export function denseBackward(dx: usize, dw: usize, db: usize, dy: usize, x: usize, w: usize,
                              m: i32, n: i32, k: i32): void {
  // A = dyᵀ: (j,i) at i·n + j.  B = x: (i,p) at i·k + p.
  gemm(dw, dy, x, n, k, m, 1, n, k, 1, true);
  if (db != 0) columnSums(db, dy, m, n);
  // A = dy: (i,j) at i·n + j.  B = w: (j,p) at j·k + p.
  if (dx != 0) gemm(dx, dy, w, m, k, n, n, 1, k, 1, true);
}

/** db (n) += Σ_rows dy (m,n), rows added in order, so the sums are those of the TypeScript kernel bit for bit. */
function columnSums(db: usize, dy: usize, m: i32, n: i32): void {
  const row = <usize>n << 2;
  const end4 = <usize>(n & ~3) << 2;
  let j: usize = 0;
  for (; j < end4; j += 16) {
    let s = v128.load(db + j);
    for (let r = 0, p = dy + j; r < m; r++, p += row) s = f32x4.add(s, v128.load(p));
    v128.store(db + j, s);
  }
  for (; j < row; j += 4) {
    let s = load<f32>(db + j);
    for (let r = 0, p = dy + j; r < m; r++, p += row) s += load<f32>(p);
    store<f32>(db + j, s);
  }
}
