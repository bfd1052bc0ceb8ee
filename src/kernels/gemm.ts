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

/**
 * out (m,n) = A (m,k) · B (k,n) [+ out], with A and B given by strides, so one kernel serves every
 * transpose: A(i,p) = a[i·ars + p·acs], B(p,j) = b[p·brs + j·bcs]; out is row-major (m,n).
 * Register-tiled: a 4×4 block of out lives in 16 locals while p runs, so each step loads 8 values
 * for 16 multiply-adds and out is stored once. Edges fall back to narrower loops.
 */
export function gemmStrided(out: Floats, a: Floats, b: Floats, m: number, n: number, k: number,
                            ars: number, acs: number, brs: number, bcs: number, accumulate: boolean): void {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    const a0 = i * ars, a1 = a0 + ars, a2 = a1 + ars, a3 = a2 + ars;
    for (let j = 0; j < n4; j += 4) {
      const b0 = j * bcs, b1 = b0 + bcs, b2 = b1 + bcs, b3 = b2 + bcs;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0, pa = 0, pb = 0; p < k; p++, pa += acs, pb += brs) {
        const x0 = a[a0 + pa]!, x1 = a[a1 + pa]!, x2 = a[a2 + pa]!, x3 = a[a3 + pa]!;
        const y0 = b[b0 + pb]!, y1 = b[b1 + pb]!, y2 = b[b2 + pb]!, y3 = b[b3 + pb]!;
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      store4(out, i * n + j, accumulate, c00, c01, c02, c03);
      store4(out, (i + 1) * n + j, accumulate, c10, c11, c12, c13);
      store4(out, (i + 2) * n + j, accumulate, c20, c21, c22, c23);
      store4(out, (i + 3) * n + j, accumulate, c30, c31, c32, c33);
    }
    for (let j = n4; j < n; j++) {
      const b0 = j * bcs;
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let p = 0, pa = 0, pb = 0; p < k; p++, pa += acs, pb += brs) {
        const y = b[b0 + pb]!;
        c0 += a[a0 + pa]! * y; c1 += a[a1 + pa]! * y; c2 += a[a2 + pa]! * y; c3 += a[a3 + pa]! * y;
      }
      store1(out, i * n + j, accumulate, c0);
      store1(out, (i + 1) * n + j, accumulate, c1);
      store1(out, (i + 2) * n + j, accumulate, c2);
      store1(out, (i + 3) * n + j, accumulate, c3);
    }
  }
  for (let i = m4; i < m; i++) {
    const a0 = i * ars;
    for (let j = 0; j < n4; j += 4) {
      const b0 = j * bcs, b1 = b0 + bcs, b2 = b1 + bcs, b3 = b2 + bcs;
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let p = 0, pa = 0, pb = 0; p < k; p++, pa += acs, pb += brs) {
        const x = a[a0 + pa]!;
        c0 += x * b[b0 + pb]!; c1 += x * b[b1 + pb]!; c2 += x * b[b2 + pb]!; c3 += x * b[b3 + pb]!;
      }
      store4(out, i * n + j, accumulate, c0, c1, c2, c3);
    }
    for (let j = n4; j < n; j++) {
      const b0 = j * bcs;
      let c = 0;
      for (let p = 0, pa = 0, pb = 0; p < k; p++, pa += acs, pb += brs) c += a[a0 + pa]! * b[b0 + pb]!;
      store1(out, i * n + j, accumulate, c);
    }
  }
}

function store4(out: Floats, o: number, accumulate: boolean, c0: number, c1: number, c2: number, c3: number): void {
  if (accumulate) {
    out[o] = out[o]! + c0; out[o + 1] = out[o + 1]! + c1; out[o + 2] = out[o + 2]! + c2; out[o + 3] = out[o + 3]! + c3;
  } else {
    out[o] = c0; out[o + 1] = c1; out[o + 2] = c2; out[o + 3] = c3;
  }
}

function store1(out: Floats, o: number, accumulate: boolean, c: number): void {
  out[o] = accumulate ? out[o]! + c : c;
}
