/**
 * GFLOP/s of the three products a dense layer's step needs, on one thread: the WebAssembly SIMD
 * kernels against the TypeScript gemmStrided, both on the same views of one shared memory.
 *
 *   forward      out (m,n) = x (m,k) · wᵀ, w (n,k)
 *   input grad   dx (m,k) += dy (m,n) · w (n,k)
 *   weight grad  dw (n,k) += dyᵀ (n,m) · x (m,k)
 *
 * Sizes: 512³, and the layers of bench/scaling.ts's workloads at its micro-batch of 64 rows.
 * A product is 2·m·n·k flops; each figure is the median of 5 timed runs of ≥ 0.2 s each, after a
 * warm-up. The wasm module is the one loadWasmKernels picks (relaxed SIMD only with
 * --experimental-wasm-relaxed-simd).
 *
 * Then two wasm-only tables:
 * - a dense layer's forward with bias and activation, fused (denseActivationForward: the GEMM's
 *   tiles add b, and f runs on each block of rows as it is finished) against unfused (denseForward,
 *   then activationForward over all of z), in GFLOP/s of the product, timed in turn; on the sizes
 *   above, the seed's layer (64 rows of 20 → 64), and a z too large for L2;
 * - the activations alone over 64 × 512 floats (in L2), in GB/s of the arrays each touches:
 *   forward reads z and writes a (8 bytes a float), backward reads da and z or a, writes dz (12).
 *
 * ```sh
 * npm run build:wasm && node --import tsx bench/gemm.ts
 * node --import tsx bench/gemm.ts --quick        # 512³ only, 3 runs
 * node --experimental-wasm-relaxed-simd --import tsx bench/gemm.ts
 * ```
 */
import { gemmStrided } from '../src/kernels/gemm.js';
import { loadWasmKernels, type Kernels } from '../src/kernels/wasm/index.js';
import type { ActivationName } from '../src/nn/activations.js';
import { Prng } from '../src/nn/prng.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const RUNS = quick ? 3 : 5;
const MIN_SECONDS = 0.2;

/** [label, m (rows), n (units out), k (units in)] */
const SIZES: [string, number, number, number][] = [
  ['512³', 512, 512, 512],
  ...(quick ? [] : [
    ['W2 784→512, 64 rows', 64, 512, 784],
    ['W2 512→512, 64 rows', 64, 512, 512],
    ['W3 256→256, 64 rows', 64, 256, 256],
  ] as [string, number, number, number][]),
];

const FUSED_SIZES: [string, number, number, number][] = [
  ...SIZES, ['seed 20→64, 64 rows', 64, 64, 20],
  ...(quick ? [] : [['4096 rows of 64→512 (z past L2)', 4096, 512, 64]] as [string, number, number, number][]),
];
const FUSED: ActivationName[] = ['relu', 'tanh', 'gelu'];
/** Floats per activation array in the elementwise table: 64 rows of 512, as in W2's layers. */
const ELEMENTS = 64 * 512;

const maxFloats = Math.max(
  ...SIZES.map(([, m, n, k]) => (m * k + n * k + m * n) * 2),
  ...FUSED_SIZES.map(([, m, n, k]) => m * k + n * k + n + 2 * m * n),
  4 * ELEMENTS,
) + 1024;
const memory = new WebAssembly.Memory({ initial: Math.ceil((65536 + maxFloats * 4 + 4096) / 65536) + 1,
  maximum: 65536, shared: true });
const wasm = await loadWasmKernels(memory);
if (wasm === undefined) throw new Error('the wasm kernels did not load (see the warning above)');

const rng = new Prng(7);
let at = 65536;
function view(n: number): Float32Array {
  const v = new Float32Array(memory.buffer, at, n);
  at += Math.ceil((n * 4) / 64) * 64;
  for (let i = 0; i < n; i++) v[i] = rng.uniform(-1, 1);
  return v;
}

type Gemm = Kernels['gemmStrided'];
const PRODUCTS: [string, (g: Gemm, m: number, n: number, k: number) => () => void][] = [
  ['forward x·wᵀ', (g, m, n, k) => { const x = view(m * k), w = view(n * k), out = view(m * n);
    return () => g(out, x, w, m, n, k, k, 1, 1, k, false); }],
  ['input grad dy·w', (g, m, n, k) => { const dy = view(m * n), w = view(n * k), dx = view(m * k);
    return () => g(dx, dy, w, m, k, n, n, 1, k, 1, true); }],
  ['weight grad dyᵀ·x', (g, m, n, k) => { const dy = view(m * n), x = view(m * k), dw = view(n * k);
    return () => g(dw, dy, x, n, k, m, 1, n, k, 1, true); }],
];

/** Operations per second of run (flops or bytes per call), the median of RUNS timed runs. */
function gflops(run: () => void, flops: number): number {
  run();
  let reps = 1;
  for (;;) { // calibrate: enough repetitions for MIN_SECONDS
    const t = performance.now();
    for (let r = 0; r < reps; r++) run();
    if ((performance.now() - t) / 1000 >= MIN_SECONDS) break;
    reps *= 2;
  }
  const rates: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    for (let r = 0; r < reps; r++) run();
    rates.push((flops * reps) / ((performance.now() - t) / 1000) / 1e9);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

/**
 * Operations per second of each run, timed in turn (a, b, a, b, …) so that both see the same
 * load on a shared machine: the median over 3·RUNS turns each.
 */
function interleaved(runs: (() => void)[], ops: number): number[] {
  for (const run of runs) run();
  let reps = 1;
  for (;;) { // calibrate on the first: enough repetitions for MIN_SECONDS / 4
    const t = performance.now();
    for (let r = 0; r < reps; r++) runs[0]!();
    if ((performance.now() - t) / 1000 >= MIN_SECONDS / 4) break;
    reps *= 2;
  }
  const rates: number[][] = runs.map(() => []);
  for (let i = 0; i < 3 * RUNS; i++) {
    runs.forEach((run, v) => {
      const t = performance.now();
      for (let r = 0; r < reps; r++) run();
      rates[v]!.push((ops * reps) / ((performance.now() - t) / 1000) / 1e9);
    });
  }
  return rates.map((r) => r.sort((a, b) => a - b)[Math.floor(r.length / 2)]!);
}

console.log(`wasm variant: ${wasm.variant}; one thread; median of ${RUNS} runs\n`);
console.log('| size | product | TypeScript GFLOP/s | wasm GFLOP/s | wasm / TS |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const [label, m, n, k] of SIZES) {
  for (const [name, setup] of PRODUCTS) {
    at = 65536;
    const flops = 2 * m * n * k;
    const ts = gflops(setup(gemmStrided, m, n, k), flops);
    at = 65536;
    const w = gflops(setup(wasm.gemmStrided, m, n, k), flops);
    console.log(`| ${label} | ${name} | ${ts.toFixed(2)} | ${w.toFixed(2)} | ${(w / ts).toFixed(1)}× |`);
  }
}

console.log(`\n| size | dense forward + bias + activation | fused GFLOP/s | unfused GFLOP/s | fused / unfused |`);
console.log('| --- | --- | ---: | ---: | ---: |');
for (const [label, m, n, k] of FUSED_SIZES) {
  for (const activation of quick ? ['relu' as const] : FUSED) {
    at = 65536;
    const x = view(m * k), w = view(n * k), b = view(n), z = view(m * n), a = view(m * n);
    const [fused, unfused] = interleaved([
      () => wasm.denseActivationForward(z, a, x, w, b, activation, null, m, n, k),
      () => { wasm.denseForward(z, x, w, b, m, n, k); wasm.activationForward(activation, a, z, null, m, n); },
    ], 2 * m * n * k) as [number, number];
    console.log(`| ${label} | ${activation} | ${fused.toFixed(2)} | ${unfused.toFixed(2)} | ${(fused / unfused).toFixed(2)}× |`);
  }
}

console.log(`\n| activation (${ELEMENTS} floats) | forward GB/s | backward GB/s |`);
console.log('| --- | ---: | ---: |');
for (const activation of ['relu', 'leakyRelu', 'elu', 'swish', 'gelu', 'tanh', 'sigmoid'] as ActivationName[]) {
  at = 65536;
  const z = view(ELEMENTS), a = view(ELEMENTS), da = view(ELEMENTS), dz = view(ELEMENTS);
  for (let i = 0; i < ELEMENTS; i++) z[i] = 8 * z[i]!; // over ±8: both sides of every activation
  const forward = gflops(() => wasm.activationForward(activation, a, z, null, 64, 512), 8 * ELEMENTS);
  const backward = gflops(() => wasm.activationBackward(activation, dz, null, da, z, a, null, 64, 512), 12 * ELEMENTS);
  console.log(`| ${activation} | ${forward.toFixed(1)} | ${backward.toFixed(1)} |`);
}
