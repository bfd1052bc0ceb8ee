/**
 * quiver's GEMM alone, for the benchmarks: the three products of a dense layer's step on the
 * TypeScript or the WebAssembly kernels. Kept apart from ./quiver.ts so that a worker thread
 * (./parallelThread.ts) can load it without the whole library.
 */
import { tsKernels, type Kernels, type KernelsName } from '../../src/kernels/kernels.js';
import { loadWasmKernels } from '../../src/kernels/wasm/index.js';
import { WASM_RESERVED_BYTES } from '../../src/workers/arena.js';
import type { GemmShape } from './workload.js';

/**
 * One product of a dense layer at (m rows, n units out, k units in) on quiver's kernels, the
 * arrays views of one shared memory (the wasm kernels read it in place):
 *   forward      out (m,n) = x (m,k) · wᵀ, w (n,k)
 *   input grad   dx (m,k) += dy (m,n) · w (n,k)
 *   weight grad  dw (n,k) += dyᵀ (n,m) · x (m,k)
 */
export async function quiverGemm(kernels: KernelsName, shape: GemmShape, m: number, n: number, k: number,
                                 rand: (count: number) => Float32Array): Promise<{ run: () => void; note: string }> {
  const floats = m * k + n * k + m * n;
  const reserved = WASM_RESERVED_BYTES; // the wasm kernels' own static data sits below this
  const memory = new WebAssembly.Memory({ initial: Math.ceil((reserved + floats * 4 + 3 * 64) / 65536) + 1, maximum: 65536, shared: true });
  let g: Kernels = tsKernels;
  if (kernels === 'wasm') {
    const wasm = await loadWasmKernels(memory);
    if (wasm === undefined) throw new Error('the wasm kernels did not load (see the warning above)');
    g = wasm;
  }
  let at = reserved;
  const view = (count: number): Float32Array => {
    const v = new Float32Array(memory.buffer, at, count);
    v.set(rand(count));
    at += Math.ceil((count * 4) / 64) * 64;
    return v;
  };
  const note = `${g.name === 'ts' ? 'the TypeScript' : `the WebAssembly (${g.variant})`} gemmStrided`;
  if (shape === 'forward') {
    const x = view(m * k), w = view(n * k), out = view(m * n);
    return { run: () => g.gemmStrided(out, x, w, m, n, k, k, 1, 1, k, false), note };
  }
  if (shape === 'inputGrad') {
    const dy = view(m * n), w = view(n * k), dx = view(m * k);
    return { run: () => g.gemmStrided(dx, dy, w, m, k, n, n, 1, k, 1, true), note };
  }
  const dy = view(m * n), x = view(m * k), dw = view(n * k);
  return { run: () => g.gemmStrided(dw, dy, x, n, k, m, 1, n, k, 1, true), note };
}
