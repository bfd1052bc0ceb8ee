/**
 * out (m,n) = A (m,k) · B (k,n) [+ out], A and B given by strides as in src/kernels/gemm.ts
 * (A(i,p) = a[i·ars + p·acs], B(p,j) = b[p·brs + j·bcs], out row-major), on f32x4.
 *
 * Nothing is packed: each shape goes to a micro-kernel that vectorises along a dimension in
 * which one operand is contiguous, so the kernels need no scratch memory (the arena is shared by
 * every thread, so a scratch area would need one slot per thread).
 *
 * - bcs = 1 (B rows contiguous: dy·w for dx, dyᵀ·x for dw): "broadcast" kernel, a 4×8 tile of
 *   out in eight vectors; per p it loads two vectors of B and splats four scalars of A, whatever
 *   A's strides (row-major A or Aᵀ alike; tile4x8n and tile4x8t address the two cheaply).
 * - ars = 1 (A columns contiguous, B not: aᵀ·bᵀ): the same kernel on outᵀ = Bᵀ·Aᵀ, storing
 *   transposed.
 * - acs = 1 and brs = 1 (both contiguous along k: the forward x·wᵀ): "dot" kernel, a 2×4 tile of
 *   dot products, each a vector along k, summed across lanes once at the end.
 * - anything else: a plain scalar loop.
 *
 * The tiles are as large as x64's sixteen vector registers allow once V8 takes its scratch
 * register and a temporary for each multiply. Unrolling p does not pay: TurboFan hoists every
 * load of the unrolled body and spills accumulators (measured: 10–20% slower).
 *
 * Each kernel blocks k (KC, KD) so the panel of B it walks stays in cache; a k block after the
 * first adds into out. Sums are float32 (the TypeScript reference sums in float64): the tests
 * hold the two within 1e-5 relative.
 *
 * Two fusions for the dense layer (dense.ts), so neither costs a sweep over memory of its own:
 * - the dot kernel can finish a layer's forward (`setEpilogue`): its tiles add the bias in
 *   registers as they store z, and each block of rows, once complete, gets a = f(z) while it is
 *   still in cache;
 * - the broadcast kernel can sum A's rows while it walks them (`colsum`): for the weight gradient
 *   dw += dyᵀ·x those are dy's columns, the bias gradient.
 */
import { activationForward, LINEAR } from './activations';
import { hsum, hsum4, loadPartial, madd, store1, store4 } from './simd';

/** k per block of the broadcast kernel: a 4×KC strip of A and a KC×8 strip of B stay in L1. */
const KC: i32 = 256;
/** Columns per block of the broadcast kernel: a KC×NC block of B stays in L2. */
const NC: i32 = 256;
/** k per block of the dot kernel: four rows of B (4·KD floats) stay in L1 while x rows stream. */
const KD: i32 = 512;
/** Rows per block of the dot kernel: MD rows of A (MD·KD floats) stay in L2. */
const MD: i32 = 64;

// @ts-ignore: decorator
@inline function bytes(elements: i32): usize { return <usize>elements << 2; }
// @ts-ignore: decorator
@inline function imin(a: i32, b: i32): i32 { return a < b ? a : b; }

export function gemm(out: usize, a: usize, b: usize, m: i32, n: i32, k: i32,
                     ars: i32, acs: i32, brs: i32, bcs: i32, accumulate: bool): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) memory.fill(out, 0, bytes(m) * n);
    return;
  }
  if (bcs == 1) {
    broadcast(out, bytes(n), 4, a, bytes(ars), bytes(acs), b, bytes(brs), m, n, k, accumulate, 0);
  } else if (ars == 1) {
    // outᵀ (n,m) = Bᵀ (n,k) · Aᵀ (k,m): Bᵀ(j,p) = b[j·bcs + p·brs], Aᵀ(p,i) = a[p·acs + i], stored at out[i·n + j].
    broadcast(out, 4, bytes(n), b, bytes(bcs), bytes(brs), a, bytes(acs), n, m, k, accumulate, 0);
  } else if (acs == 1 && brs == 1) {
    dot(out, bytes(n), a, bytes(ars), b, bytes(bcs), m, n, k, accumulate, false);
  } else {
    naive(out, a, b, m, n, k, bytes(ars), bytes(acs), bytes(brs), bytes(bcs), accumulate);
  }
}

/**
 * C (m,n) = A · B over byte strides; B(p,j) at b + p·brs + 4j (contiguous in j); C(i,j) stored
 * at o + i·ors + j·ocs. With colsum ≠ 0 (and ars = 4 bytes), also colsum (m) += Σ_p A(i,p), each
 * sum taken in order of p, right after the first column block's tiles have read that strip of A.
 */
export function broadcast(o: usize, ors: usize, ocs: usize, a: usize, ars: usize, acs: usize, b: usize, brs: usize,
                          m: i32, n: i32, k: i32, accumulate: bool, colsum: usize): void {
  for (let pc = 0; pc < k; pc += KC) {
    const kc = imin(KC, k - pc);
    const acc = accumulate || pc > 0;
    const ap = a + <usize>pc * acs, bp = b + <usize>pc * brs;
    for (let jc = 0; jc < n; jc += NC) {
      const je = imin(jc + NC, n);
      let i = 0;
      for (; i + 4 <= m; i += 4) {
        const oi = o + <usize>i * ors, ai = ap + <usize>i * ars;
        let j = jc;
        if (acs == 4) {
          for (; j + 8 <= je; j += 8) tile4x8n(oi + <usize>j * ocs, ors, ocs, ai, ars, bp + bytes(j), brs, kc, acc);
        } else if (ars == 4) {
          for (; j + 8 <= je; j += 8) tile4x8t(oi + <usize>j * ocs, ors, ocs, ai, acs, bp + bytes(j), brs, kc, acc);
        } else {
          for (; j + 8 <= je; j += 8) tile4x8(oi + <usize>j * ocs, ors, ocs, ai, ars, acs, bp + bytes(j), brs, kc, acc);
        }
        if (j + 4 <= je) { tile4x4(oi + <usize>j * ocs, ors, ocs, ai, ars, acs, bp + bytes(j), brs, kc, acc); j += 4; }
        for (; j < je; j++) tile4x1(oi + <usize>j * ocs, ors, ai, ars, acs, bp + bytes(j), brs, kc, acc);
        if (colsum != 0 && jc == 0) sum4(colsum + bytes(i), ai, acs, kc);
      }
      for (; i < m; i++) {
        const oi = o + <usize>i * ors, ai = ap + <usize>i * ars;
        let j = jc;
        for (; j + 8 <= je; j += 8) tile1x8(oi + <usize>j * ocs, ocs, ai, acs, bp + bytes(j), brs, kc, acc);
        if (j + 4 <= je) { tile1x4(oi + <usize>j * ocs, ocs, ai, acs, bp + bytes(j), brs, kc, acc); j += 4; }
        for (; j < je; j++) tile1x1(oi + <usize>j * ocs, ai, acs, bp + bytes(j), brs, kc, acc);
        if (colsum != 0 && jc == 0) sum1(colsum + bytes(i), ai, acs, kc);
      }
    }
  }
}

/** s (4) += Σ_{p<kc} A(0..3, p), A(i,p) at a + 4i + p·acs, added in order of p (float32, as the TypeScript kernel). */
function sum4(s: usize, a: usize, acs: usize, kc: i32): void {
  let c = v128.load(s);
  for (let p = 0, pa = a; p < kc; p++, pa += acs) c = f32x4.add(c, v128.load(pa));
  v128.store(s, c);
}

function sum1(s: usize, a: usize, acs: usize, kc: i32): void {
  let c = load<f32>(s);
  for (let p = 0, pa = a; p < kc; p++, pa += acs) c += load<f32>(pa);
  store<f32>(s, c);
}

/**
 * The 4×8 micro-kernel where A's columns are contiguous (ars = 4 bytes: A = dyᵀ for dw = dyᵀ·x):
 * the four scalars of A a step needs are adjacent, read at immediate offsets from one pointer.
 */
function tile4x8t(o: usize, ors: usize, ocs: usize, a: usize, acs: usize, b: usize, brs: usize,
                  kc: i32, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  let pa = a, pb = b;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let s = v128.load32_splat(pa);
    c00 = madd(s, b0, c00); c01 = madd(s, b1, c01);
    s = v128.load32_splat(pa, 4);
    c10 = madd(s, b0, c10); c11 = madd(s, b1, c11);
    s = v128.load32_splat(pa, 8);
    c20 = madd(s, b0, c20); c21 = madd(s, b1, c21);
    s = v128.load32_splat(pa, 12);
    c30 = madd(s, b0, c30); c31 = madd(s, b1, c31);
    pa += acs; pb += brs;
  }
  const o4 = ocs << 2;
  store4(o, ocs, c00, acc); store4(o + o4, ocs, c01, acc); o += ors;
  store4(o, ocs, c10, acc); store4(o + o4, ocs, c11, acc); o += ors;
  store4(o, ocs, c20, acc); store4(o + o4, ocs, c21, acc); o += ors;
  store4(o, ocs, c30, acc); store4(o + o4, ocs, c31, acc);
}

/** The same with four pointers into A's rows, moving together (acs = 4 bytes: A = dy for dx = dy·w). */
function tile4x8n(o: usize, ors: usize, ocs: usize, a: usize, ars: usize, b: usize, brs: usize,
                  kc: i32, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  let a0 = a, a1 = a0 + ars, a2 = a1 + ars, a3 = a2 + ars, pb = b;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let s = v128.load32_splat(a0);
    c00 = madd(s, b0, c00); c01 = madd(s, b1, c01);
    s = v128.load32_splat(a1);
    c10 = madd(s, b0, c10); c11 = madd(s, b1, c11);
    s = v128.load32_splat(a2);
    c20 = madd(s, b0, c20); c21 = madd(s, b1, c21);
    s = v128.load32_splat(a3);
    c30 = madd(s, b0, c30); c31 = madd(s, b1, c31);
    a0 += 4; a1 += 4; a2 += 4; a3 += 4; pb += brs;
  }
  const o4 = ocs << 2;
  store4(o, ocs, c00, acc); store4(o + o4, ocs, c01, acc); o += ors;
  store4(o, ocs, c10, acc); store4(o + o4, ocs, c11, acc); o += ors;
  store4(o, ocs, c20, acc); store4(o + o4, ocs, c21, acc); o += ors;
  store4(o, ocs, c30, acc); store4(o + o4, ocs, c31, acc);
}

/** The 4×8 micro-kernel for any strides of A: per p two loads of B, four splats of A, eight multiply-adds. */
function tile4x8(o: usize, ors: usize, ocs: usize, a: usize, ars: usize, acs: usize, b: usize, brs: usize,
                 kc: i32, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const a1 = a + ars, a2 = a1 + ars, a3 = a2 + ars;
  let pa: usize = 0, pb = b;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let s = v128.load32_splat(a + pa);
    c00 = madd(s, b0, c00); c01 = madd(s, b1, c01);
    s = v128.load32_splat(a1 + pa);
    c10 = madd(s, b0, c10); c11 = madd(s, b1, c11);
    s = v128.load32_splat(a2 + pa);
    c20 = madd(s, b0, c20); c21 = madd(s, b1, c21);
    s = v128.load32_splat(a3 + pa);
    c30 = madd(s, b0, c30); c31 = madd(s, b1, c31);
    pa += acs; pb += brs;
  }
  const o4 = ocs << 2;
  store4(o, ocs, c00, acc); store4(o + o4, ocs, c01, acc); o += ors;
  store4(o, ocs, c10, acc); store4(o + o4, ocs, c11, acc); o += ors;
  store4(o, ocs, c20, acc); store4(o + o4, ocs, c21, acc); o += ors;
  store4(o, ocs, c30, acc); store4(o + o4, ocs, c31, acc);
}

function tile4x4(o: usize, ors: usize, ocs: usize, a: usize, ars: usize, acs: usize, b: usize, brs: usize,
                 kc: i32, acc: bool): void {
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  const a1 = a + ars, a2 = a1 + ars, a3 = a2 + ars;
  let pa: usize = 0, pb = b;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb);
    c0 = madd(v128.load32_splat(a + pa), b0, c0);
    c1 = madd(v128.load32_splat(a1 + pa), b0, c1);
    c2 = madd(v128.load32_splat(a2 + pa), b0, c2);
    c3 = madd(v128.load32_splat(a3 + pa), b0, c3);
    pa += acs; pb += brs;
  }
  store4(o, ocs, c0, acc); o += ors;
  store4(o, ocs, c1, acc); o += ors;
  store4(o, ocs, c2, acc); o += ors;
  store4(o, ocs, c3, acc);
}

/** One column of four rows: scalar, for the last n mod 4 columns. */
function tile4x1(o: usize, ors: usize, a: usize, ars: usize, acs: usize, b: usize, brs: usize,
                 kc: i32, acc: bool): void {
  let c0: f32 = 0, c1: f32 = 0, c2: f32 = 0, c3: f32 = 0;
  const a1 = a + ars, a2 = a1 + ars, a3 = a2 + ars;
  let pa: usize = 0, pb = b;
  for (let p = 0; p < kc; p++) {
    const y = load<f32>(pb);
    c0 += load<f32>(a + pa) * y; c1 += load<f32>(a1 + pa) * y;
    c2 += load<f32>(a2 + pa) * y; c3 += load<f32>(a3 + pa) * y;
    pa += acs; pb += brs;
  }
  store1(o, c0, acc); store1(o + ors, c1, acc); store1(o + 2 * ors, c2, acc); store1(o + 3 * ors, c3, acc);
}

function tile1x8(o: usize, ocs: usize, a: usize, acs: usize, b: usize, brs: usize, kc: i32, acc: bool): void {
  let c0 = f32x4.splat(0), c1 = c0;
  let pa = a, pb = b;
  for (let p = 0; p < kc; p++) {
    const s = v128.load32_splat(pa);
    c0 = madd(s, v128.load(pb), c0); c1 = madd(s, v128.load(pb, 16), c1);
    pa += acs; pb += brs;
  }
  store4(o, ocs, c0, acc); store4(o + 4 * ocs, ocs, c1, acc);
}

function tile1x4(o: usize, ocs: usize, a: usize, acs: usize, b: usize, brs: usize, kc: i32, acc: bool): void {
  let c0 = f32x4.splat(0);
  let pa = a, pb = b;
  for (let p = 0; p < kc; p++) {
    c0 = madd(v128.load32_splat(pa), v128.load(pb), c0);
    pa += acs; pb += brs;
  }
  store4(o, ocs, c0, acc);
}

function tile1x1(o: usize, a: usize, acs: usize, b: usize, brs: usize, kc: i32, acc: bool): void {
  let c: f32 = 0;
  let pa = a, pb = b;
  for (let p = 0; p < kc; p++) { c += load<f32>(pa) * load<f32>(pb); pa += acs; pb += brs; }
  store1(o, c, acc);
}

// The epilogue of the dot kernel's stores when it finishes a dense layer's forward (setEpilogue).
// Globals are per instance and each thread instantiates its own, so they are thread-local.
/** b (n) added to the first k block's sums, or 0. */
let epBias: usize = 0;
/** prelu's alpha (n), or 0. */
let epAlpha: usize = 0;
/** a − z in bytes: a(i,j) is stored epDelta bytes past z(i,j) (wrapping: a may lie below z). */
let epDelta: usize = 0;
/** The activation's code (activations.ts); LINEAR: z only. */
let epCode: i32 = LINEAR;

/** What the next dot(…, epilogue = true) does at its stores: z = Σ + b, then a = f(z) at z + delta. */
export function setEpilogue(bias: usize, code: i32, alpha: usize, delta: usize): void {
  epBias = bias; epCode = code; epAlpha = alpha; epDelta = delta;
}

/**
 * Stores four sums r to out(i, j..j+3) at o; cj = 4j bytes, the column's offset into b.
 * ep false: out = r, or out += r when acc (plain GEMM). ep true: the same, but the first k block
 * (not acc) adds the bias: z = b + r, the order in which the TypeScript denseForward adds.
 */
// @ts-ignore: decorator
@inline function finish4(o: usize, cj: usize, r: v128, acc: bool, ep: bool): void {
  let z = acc ? f32x4.add(v128.load(o), r) : r;
  if (ep && !acc && epBias != 0) z = f32x4.add(v128.load(epBias + cj), r);
  v128.store(o, z);
}

/** finish4 for one sum. */
// @ts-ignore: decorator
@inline function finish1(o: usize, cj: usize, r: f32, acc: bool, ep: bool): void {
  let z = acc ? load<f32>(o) + r : r;
  if (ep && !acc && epBias != 0) z = load<f32>(epBias + cj) + r;
  store<f32>(o, z);
}

/**
 * C (m,n) = A · B with both contiguous along k: A(i,p) at a + i·ars + 4p, B(p,j) at b + j·bcs + 4p;
 * C(i,j) stored at o + i·ors + 4j (ors = 4n: the rows of C are contiguous). Loops: k block, then
 * MD rows of A, then four rows of B (which stay in L1) against every pair of those rows.
 *
 * With `epilogue` the dot kernel finishes a dense layer as setEpilogue said: the tiles add the
 * bias in registers, and in the last k block each block of ≤ MD complete rows of z (MD·n floats,
 * in L1 or L2) gets a = f(z) from activationForward's loop before the next block starts. Applying f
 * in each tile's registers instead measured slower (tanh's epilogue +50% at 4096×512×64, as slow
 * as a separate pass at 64×64×20): a tile holds two vectors, so f's dozen constants are rebuilt
 * for every two, and the tile's code grows with all nine cases; per strip of four columns it
 * was in between.
 */
export function dot(o: usize, ors: usize, a: usize, ars: usize, b: usize, bcs: usize,
                    m: i32, n: i32, k: i32, accumulate: bool, epilogue: bool): void {
  for (let pc = 0; pc < k; pc += KD) {
    const kc = imin(KD, k - pc);
    const acc = accumulate || pc > 0;
    const activateBlock = epilogue && pc + kc >= k && epCode != LINEAR;
    const ap = a + bytes(pc), bp = b + bytes(pc);
    for (let ic = 0; ic < m; ic += MD) {
      const ie = imin(ic + MD, m);
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        const cj = bytes(j), oj = o + cj, bj = bp + <usize>j * bcs;
        let i = ic;
        for (; i + 2 <= ie; i += 2) dot2x4(oj + <usize>i * ors, ors, ap + <usize>i * ars, ars, bj, bcs, kc, acc, epilogue, cj);
        if (i < ie) dot1x4(oj + <usize>i * ors, ap + <usize>i * ars, bj, bcs, kc, acc, epilogue, cj);
      }
      for (; j < n; j++) {
        const cj = bytes(j), oj = o + cj, bj = bp + <usize>j * bcs;
        for (let i = ic; i < ie; i++) dot1x1(oj + <usize>i * ors, ap + <usize>i * ars, bj, kc, acc, epilogue, cj);
      }
      if (activateBlock) activationForward(epCode, o + <usize>ic * ors + epDelta, o + <usize>ic * ors, epAlpha, ie - ic, n);
    }
  }
}

/** Two rows of A against four rows of B: eight lane-wise dot products, reduced once at the end. */
function dot2x4(o: usize, ors: usize, a: usize, ars: usize, b: usize, bcs: usize, kc: i32, acc: bool,
                ep: bool, cj: usize): void {
  let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  const a1 = a + ars, b1 = b + bcs, b2 = b1 + bcs, b3 = b2 + bcs;
  const end = bytes(kc & ~3);
  let p: usize = 0;
  for (; p < end; p += 16) {
    const x0 = v128.load(a + p), x1 = v128.load(a1 + p);
    let y = v128.load(b + p);
    c00 = madd(x0, y, c00); c10 = madd(x1, y, c10);
    y = v128.load(b1 + p);
    c01 = madd(x0, y, c01); c11 = madd(x1, y, c11);
    y = v128.load(b2 + p);
    c02 = madd(x0, y, c02); c12 = madd(x1, y, c12);
    y = v128.load(b3 + p);
    c03 = madd(x0, y, c03); c13 = madd(x1, y, c13);
  }
  const rem = kc & 3;
  if (rem != 0) {
    const x0 = loadPartial(a + p, rem), x1 = loadPartial(a1 + p, rem);
    let y = loadPartial(b + p, rem);
    c00 = madd(x0, y, c00); c10 = madd(x1, y, c10);
    y = loadPartial(b1 + p, rem);
    c01 = madd(x0, y, c01); c11 = madd(x1, y, c11);
    y = loadPartial(b2 + p, rem);
    c02 = madd(x0, y, c02); c12 = madd(x1, y, c12);
    y = loadPartial(b3 + p, rem);
    c03 = madd(x0, y, c03); c13 = madd(x1, y, c13);
  }
  finish4(o, cj, hsum4(c00, c01, c02, c03), acc, ep);
  finish4(o + ors, cj, hsum4(c10, c11, c12, c13), acc, ep);
}

function dot1x4(o: usize, a: usize, b: usize, bcs: usize, kc: i32, acc: bool, ep: bool, cj: usize): void {
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  const b1 = b + bcs, b2 = b1 + bcs, b3 = b2 + bcs;
  const end = bytes(kc & ~3);
  let p: usize = 0;
  for (; p < end; p += 16) {
    const x = v128.load(a + p);
    c0 = madd(x, v128.load(b + p), c0); c1 = madd(x, v128.load(b1 + p), c1);
    c2 = madd(x, v128.load(b2 + p), c2); c3 = madd(x, v128.load(b3 + p), c3);
  }
  const rem = kc & 3;
  if (rem != 0) {
    const x = loadPartial(a + p, rem);
    c0 = madd(x, loadPartial(b + p, rem), c0); c1 = madd(x, loadPartial(b1 + p, rem), c1);
    c2 = madd(x, loadPartial(b2 + p, rem), c2); c3 = madd(x, loadPartial(b3 + p, rem), c3);
  }
  finish4(o, cj, hsum4(c0, c1, c2, c3), acc, ep);
}

function dot1x1(o: usize, a: usize, b: usize, kc: i32, acc: bool, ep: bool, cj: usize): void {
  let c = f32x4.splat(0);
  const end = bytes(kc & ~3);
  let p: usize = 0;
  for (; p < end; p += 16) c = madd(v128.load(a + p), v128.load(b + p), c);
  const rem = kc & 3;
  if (rem != 0) c = madd(loadPartial(a + p, rem), loadPartial(b + p, rem), c);
  finish1(o, cj, hsum(c), acc, ep);
}

/** Any strides at all (none of the transposes of a contiguous matrix lands here). */
function naive(o: usize, a: usize, b: usize, m: i32, n: i32, k: i32,
               ars: usize, acs: usize, brs: usize, bcs: usize, acc: bool): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let c: f32 = 0;
      let pa = a + <usize>i * ars, pb = b + <usize>j * bcs;
      for (let p = 0; p < k; p++) { c += load<f32>(pa) * load<f32>(pb); pa += acs; pb += brs; }
      store1(o + bytes(i * n + j), c, acc);
    }
  }
}
