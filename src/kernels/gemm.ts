/**
 * The naive matrix product, kept as the reference every faster kernel is tested against and as
 * the fallback for shapes nothing else handles. Row-major throughout.
 *
 * out (m,n) = op(a) (m,k) · op(b) (k,n)  [+ out when accumulate]
 * op(a) = a (m,k), or aᵀ when transA (a stored (k,m)); op(b) = b (k,n), or bᵀ when transB (b stored (n,k)).
 */
import type { Floats } from './types.js';
export function gemm(out: Floats, a: Floats, b: Floats,
                     m: number, n: number, k: number,
                     transA: boolean, transB: boolean, accumulate: boolean): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = accumulate ? out[i * n + j]! : 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * m + i]! : a[i * k + p]!;
        const bv = transB ? b[j * k + p]! : b[p * n + j]!;
        acc += av * bv;
      }
      out[i * n + j] = acc;
    }
  }
}
