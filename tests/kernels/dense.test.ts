import { describe, expect, it } from 'vitest';
import { denseBackward, denseForward } from '../../src/kernels/dense.js';
import { gemm } from '../../src/kernels/gemm.js';
import { Prng } from '../../src/nn/prng.js';
import { maxDiff, randomArray } from '../helpers/random.js';

/** Shapes that exercise every unrolled loop's remainder, and the seed's. */
const SHAPES: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [4, 4, 4], [17, 9, 1], [7, 13, 20], [65, 3, 17], [800, 64, 20], [33, 1, 64]];

describe('dense kernels match the naive gemm', () => {
  it.each(SHAPES)('forward x(%i,k)·wᵀ + b for m=%i n=%i k=%i', (m, n, k) => {
    const rng = new Prng(m * 1000 + n * 10 + k);
    const x = randomArray(Float32Array, m * k, rng);
    const w = randomArray(Float32Array, n * k, rng);
    const b = randomArray(Float32Array, n, rng);
    const out = new Float32Array(m * n);
    denseForward(out, x, w, b, m, n, k);
    const ref = new Float32Array(m * n);
    for (let i = 0; i < m; i++) ref.set(b, i * n); // bias first, then accumulate the product
    gemm(ref, x, w, m, n, k, false, true, true);
    const d = maxDiff(out, ref);
    console.log(`denseForward ${m}x${n}x${k}: max rel diff ${d.rel.toExponential(2)}`);
    expect(d.rel).toBeLessThan(1e-6);

    denseForward(out, x, w, null, m, n, k);
    gemm(ref, x, w, m, n, k, false, true, false);
    expect(maxDiff(out, ref).rel).toBeLessThan(1e-6);
  });

  it.each(SHAPES)('backward accumulates dx, dw, db for m=%i n=%i k=%i', (m, n, k) => {
    const rng = new Prng(m + n + k);
    const x = randomArray(Float32Array, m * k, rng);
    const w = randomArray(Float32Array, n * k, rng);
    const dy = randomArray(Float32Array, m * n, rng);
    for (let i = 0; i < dy.length; i += 3) dy[i] = 0; // zero runs take the skip path
    const dx0 = randomArray(Float32Array, m * k, rng);
    const dw0 = randomArray(Float32Array, n * k, rng);
    const db0 = randomArray(Float32Array, n, rng);
    const dx = dx0.slice(), dw = dw0.slice(), db = db0.slice();
    denseBackward(dx, dw, db, dy, x, w, m, n, k);

    const rdx = dx0.slice(), rdw = dw0.slice();
    gemm(rdx, dy, w, m, k, n, false, false, true); // dx += dy (m,n) · w (n,k)
    gemm(rdw, dy, x, n, k, m, true, false, true); // dw += dyᵀ (n,m) · x (m,k)
    const rdb = db0.slice();
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) rdb[j] = rdb[j]! + dy[i * n + j]!;
    for (const [name, got, want] of [['dx', dx, rdx], ['dw', dw, rdw], ['db', db, rdb]] as const) {
      const d = maxDiff(got, want);
      console.log(`denseBackward ${m}x${n}x${k} ${name}: max rel diff ${d.rel.toExponential(2)}`);
      expect(d.rel).toBeLessThan(1e-5);
    }
  });

  it('backward leaves dx alone when it is null and db when the layer has no bias', () => {
    const rng = new Prng(5);
    const [m, n, k] = [6, 5, 4];
    const x = randomArray(Float32Array, m * k, rng), w = randomArray(Float32Array, n * k, rng);
    const dy = randomArray(Float32Array, m * n, rng);
    const dw = new Float32Array(n * k);
    expect(() => denseBackward(null, dw, null, dy, x, w, m, n, k)).not.toThrow();
    const ref = new Float32Array(n * k);
    gemm(ref, dy, x, n, k, m, true, false, false);
    expect(maxDiff(dw, ref).rel).toBeLessThan(1e-6);
  });
});

describe('gemm', () => {
  it('computes every transpose combination against an explicit triple loop', () => {
    const rng = new Prng(9);
    const [m, n, k] = [3, 4, 5];
    const a = randomArray(Float64Array, m * k, rng), b = randomArray(Float64Array, k * n, rng);
    const at = new Float64Array(k * m), bt = new Float64Array(n * k);
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) at[p * m + i] = a[i * k + p]!;
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bt[j * k + p] = b[p * n + j]!;
    const want = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) want[i * n + j] = want[i * n + j]! + a[i * k + p]! * b[p * n + j]!;
    for (const [ta, tb, A, B] of [[false, false, a, b], [true, false, at, b], [false, true, a, bt], [true, true, at, bt]] as const) {
      const out = new Float64Array(m * n).fill(1);
      gemm(out, A, B, m, n, k, ta, tb, true);
      expect(maxDiff(out.map((v) => v - 1), want).abs).toBeLessThan(1e-12);
    }
  });
});
