/**
 * How much parallel arithmetic the machine gives right now: the WebAssembly GEMM (256³, x·wᵀ)
 * on one thread, then on `threads` worker threads at once, started together; the ratio of their
 * summed GFLOP/s to one thread's.
 *
 * Why: on a virtual machine the cores the guest sees may share physical cores (SMT siblings) or
 * be taken by a neighbour, and then two threads of SIMD arithmetic run no faster than one. On
 * this project's 2-core VM the ratio moved between about 1.0 and 2.0 from one minute to the
 * next, which bounds what any multi-threaded row can show; the benchmarks print it beside
 * those rows.
 *
 * Each thread runs ./parallelThread.ts.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { quiverGemm } from './quiverGemm.js';

const SIZE = 256;

/** GFLOP/s of the wasm GEMM at SIZE³ over `seconds`, after one untimed product. */
export async function gemmRate(seconds: number, start?: Int32Array): Promise<number> {
  let seed = 1;
  const rand = (count: number): Float32Array => Float32Array.from({ length: count }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1);
  const g = await quiverGemm('wasm', 'forward', SIZE, SIZE, SIZE, rand);
  g.run();
  if (start !== undefined) {
    Atomics.add(start, 1, 1); // ready
    Atomics.wait(start, 0, 0); // go
  }
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let i = 0; i < 8; i++) g.run();
    reps += 8;
  }
  return (2 * SIZE ** 3 * reps) / ((performance.now() - t0) / 1000) / 1e9;
}

export interface ParallelCapacity {
  threads: number;
  /** GFLOP/s of one thread alone. */
  one: number;
  /** GFLOP/s of each thread when all run at once. */
  each: number[];
  /** Σ each ÷ one: `threads` where the cores are truly separate, toward 1 where they share. */
  ratio: number;
}

/** The GEMM on one thread, then on `threads` at once; about 2 × `seconds`. */
export async function parallelCapacity(threads: number, seconds = 1): Promise<ParallelCapacity> {
  const one = await gemmRate(seconds);
  const start = new Int32Array(new SharedArrayBuffer(8));
  const workerData = { file: fileURLToPath(new URL('./parallelThread.ts', import.meta.url)), seconds, start };
  const entry = new URL('./thread.cjs', import.meta.url);
  const workers = Array.from({ length: threads }, () => new Worker(entry, { workerData, execArgv: ['--import', 'tsx'] }));
  const rates = workers.map((w) => new Promise<number>((resolve, reject) => {
    w.once('message', (rate: number) => resolve(rate));
    w.once('error', reject);
  }));
  while (Atomics.load(start, 1) < threads) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(start, 0, 1);
  Atomics.notify(start, 0);
  const each = await Promise.all(rates);
  await Promise.all(workers.map((w) => w.terminate()));
  return { threads, one, each, ratio: each.reduce((a, b) => a + b, 0) / one };
}

/** "2 threads of GEMM at once: 1.93× one thread (32.1 GFLOP/s alone; 31.0 + 30.9 together)" */
export function describeCapacity(c: ParallelCapacity): string {
  return `${c.threads} threads of wasm GEMM at once: ${c.ratio.toFixed(2)}× one thread `
    + `(${c.one.toFixed(1)} GFLOP/s alone; ${c.each.map((x) => x.toFixed(1)).join(' + ')} together)`;
}
