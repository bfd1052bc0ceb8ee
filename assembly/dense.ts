/**
 * The fully connected layer with the semantics of src/kernels/dense.ts and kernels.ts's
 * denseActivationForward. Weights are stored (nOut, nIn) = (n, k), as PyTorch's Linear stores
 * them. Pointers are byte offsets into the shared memory; 0 stands for null (no tensor lives in
 * the first 64 KiB).
 */
import { activationForward, LINEAR } from './activations';
import { broadcast, dot, gemm, setEpilogue } from './gemm';

/**
 * A whole dense layer's forward in one pass over the output:
 *   z (m,n) = x (m,k) · wᵀ + b,  a (m,n) = f(z),  with w (n,k), b (n) or 0, alpha (n) prelu's slopes.
 * The dot kernel's store adds b and applies f to each tile still in registers (gemm.ts's
 * epilogue), so z and a are written once each and never read back. LINEAR writes z only.
 */
export function denseForward(z: usize, a: usize, x: usize, w: usize, b: usize, code: i32, alpha: usize,
                             m: i32, n: i32, k: i32): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) { // z = b (or 0), a = f(z): no product to hang the epilogue on
    const row = <usize>n << 2;
    for (let i = 0; i < m; i++) {
      if (b != 0) memory.copy(z + <usize>i * row, b, row);
      else memory.fill(z + <usize>i * row, 0, row);
    }
    if (code != LINEAR) activationForward(code, a, z, alpha, m, n);
    return;
  }
  setEpilogue(b, code, alpha, a - z);
  // A = x: (i,p) at i·k + p.  B = wᵀ: (p,j) at j·k + p. Both contiguous along k: the dot kernel.
  dot(z, <usize>n << 2, x, <usize>k << 2, w, <usize>k << 2, m, n, k, false, true);
}

/**
 * Backward of denseForward; every output accumulates (+=).
 * dw (n,k) += dyᵀ (n,m) · x (m,k),  db (n) += Σ_rows dy   (one pass: db is summed from the
 *                                                           strips of dy the GEMM walks; db 0: skipped)
 * dx (m,k) += dy (m,n) · w (n,k)                           (skipped when dx is 0)
 * db's sums add the rows in order, so they are the TypeScript kernel's bit for bit.
 */
export function denseBackward(dx: usize, dw: usize, db: usize, dy: usize, x: usize, w: usize,
                              m: i32, n: i32, k: i32): void {
  if (n <= 0) return;
  if (k > 0 && m > 0) {
    // A = dyᵀ: (j,i) at i·n + j, so A's columns are dy's rows (ars = 4 bytes).  B = x: (i,p) at i·k + p.
    broadcast(dw, <usize>k << 2, 4, dy, 4, <usize>n << 2, x, <usize>k << 2, n, k, m, true, db);
  } else if (db != 0) { // k = 0 inputs: no product for the sums to ride on
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) store<f32>(db + (<usize>j << 2), load<f32>(db + (<usize>j << 2)) + load<f32>(dy + (<usize>(i * n + j) << 2)));
    }
  }
  // A = dy: (i,j) at i·n + j.  B = w: (j,p) at j·k + p.
  if (dx != 0) gemm(dx, dy, w, m, k, n, n, 1, k, 1, true);
}
