/**
 * The WebAssembly SIMD kernels, drop-in for the TypeScript ones: same names, same signatures, same
 * semantics (see each TypeScript kernel's doc comment), but every array must be a view into the
 * arena's shared memory, because the kernels read and write that memory directly, with no copy.
 *
 * The module is built from AssemblyScript (assembly/ at the repository root) by
 * scripts/build-wasm.mjs into dist/kernels/wasm/, beside this file's compiled form. Run from
 * dist/, this file finds it as ./kernels.wasm; run from source (vitest, tsx), as
 * ../../../dist/kernels/wasm/kernels.wasm, so `npm run build:wasm` (or `npm run build`) must have
 * run once. Where the engine validates relaxed SIMD (Node 20 behind
 * --experimental-wasm-relaxed-simd) the kernels-relaxed.wasm build, with fused multiply-adds, is
 * taken instead.
 *
 * const kernels = await loadWasmKernels(arena.memory) ?? tsKernels;   // tsKernels from ../kernels.ts
 */
import assert from 'node:assert';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ActivationName } from '../../nn/activations.js';
import { WASM_RESERVED_BYTES } from '../../workers/arena.js';
import type { Kernels } from '../kernels.js';
import type { Floats } from '../types.js';

/** The wasm kernel set: every array must be a view into the memory it was loaded on. */
export interface WasmKernels extends Kernels {
  readonly name: 'wasm';
  /** 'simd' (SIMD 128) or 'relaxed-simd' (SIMD 128 with relaxed SIMD's fused multiply-add). */
  readonly variant: 'simd' | 'relaxed-simd';
}

/**
 * Each activation's code in the wasm module (the constants at the top of assembly/activations.ts;
 * the tests run every one against its TypeScript kernel, so a mismatch cannot go unnoticed).
 */
export const ACTIVATION_CODES: Readonly<Record<ActivationName, number>> = {
  linear: 0, relu: 1, leakyRelu: 2, prelu: 3, elu: 4, swish: 5, gelu: 6, tanh: 7, sigmoid: 8,
};

/** The raw exports: byte offsets into the shared memory (0 for null), activation codes and sizes. */
interface Exports {
  dataEnd(): number;
  gemm(out: number, a: number, b: number, m: number, n: number, k: number,
       ars: number, acs: number, brs: number, bcs: number, accumulate: number): void;
  denseForward(z: number, a: number, x: number, w: number, b: number, activation: number, alpha: number,
               m: number, n: number, k: number): void;
  denseBackward(dx: number, dw: number, db: number, dy: number, x: number, w: number, m: number, n: number, k: number): void;
  activationForward(activation: number, a: number, z: number, alpha: number, m: number, n: number): void;
  activationBackward(activation: number, dz: number, dalpha: number, da: number, z: number, a: number, alpha: number,
                     m: number, n: number): void;
  sgdUpdate(pOut: number, pIn: number, grad: number, vOut: number, vIn: number, n: number, lr: number, momentum: number, sums: number): void;
  sumSlots(out: number, slots: number, stride: number, count: number, n: number): number;
  layerStats(totals: number, units: number, a: number, y: number, m: number, n: number): void;
  sumSquares(x: number, n: number): number;
  sumSquaredDiff(a: number, b: number, n: number): number;
}

// Feature probes, each the smallest module that uses the feature (a function returning v128).
/** i8x16.popcnt(i8x16.splat(0)): SIMD 128. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0,
  65, 0, 253, 15, 253, 98, 11]);
/** A shared memory and i32.atomic.load: threads. */
const THREADS_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1,
  10, 11, 1, 9, 0, 65, 0, 254, 16, 2, 0, 26, 11]);
/** f32x4.relaxed_madd of three i8x16.splat(0): relaxed SIMD. */
const RELAXED_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 19, 1, 17, 0,
  65, 0, 253, 15, 65, 0, 253, 15, 65, 0, 253, 15, 253, 133, 2, 11]);

/** Whether this engine runs relaxed SIMD (f32x4.relaxed_madd); on Node 20 only with --experimental-wasm-relaxed-simd. */
export function hasRelaxedSimd(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}

/** Whether this engine runs SIMD 128 on shared memory, which the kernels need. */
function hasSimdThreads(): boolean {
  return typeof SharedArrayBuffer === 'function' && WebAssembly.validate(SIMD_PROBE) && WebAssembly.validate(THREADS_PROBE);
}

/**
 * Where the built module may lie: beside this file when it runs from dist/, or in dist/ when it
 * runs from src/ (three levels up is the repository root in both layouts' terms).
 */
function candidates(file: string): URL[] {
  const beside = new URL(`./${file}`, import.meta.url);
  const inDist = new URL(`../../../dist/kernels/wasm/${file}`, import.meta.url);
  return beside.href === inDist.href ? [beside] : [beside, inDist];
}

interface Compiled { module: WebAssembly.Module; variant: WasmKernels['variant'] }

/** Compiled once per thread (each worker has its own copy of this module-level cache). */
let compiled: Promise<Compiled | string> | undefined;
let warned = false;

async function compile(): Promise<Compiled | string> {
  if (!hasSimdThreads()) return 'this engine lacks WebAssembly SIMD or threads';
  const wanted: [string, WasmKernels['variant']][] = hasRelaxedSimd()
    ? [['kernels-relaxed.wasm', 'relaxed-simd'], ['kernels.wasm', 'simd']]
    : [['kernels.wasm', 'simd']];
  for (const [file, variant] of wanted) {
    for (const url of candidates(file)) {
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = new Uint8Array(await readFile(url));
      } catch {
        continue;
      }
      if (variant === 'relaxed-simd' && !WebAssembly.validate(bytes)) break; // the plain build, then
      return { module: await WebAssembly.compile(bytes), variant };
    }
  }
  const tried = candidates('kernels.wasm').map((url) => fileURLToPath(url)).join(' or ');
  return `the wasm kernels are not built (no ${tried}; \`npm run build:wasm\` builds them)`;
}

/**
 * The WebAssembly kernels on `memory` (the arena's shared memory), or undefined, after one
 * warning, where they cannot run (no SIMD or threads in this engine, or the module was not built):
 * the caller then uses the TypeScript kernels, which give the same results to 1e-5.
 */
export async function loadWasmKernels(memory: WebAssembly.Memory): Promise<WasmKernels | undefined> {
  compiled ??= compile();
  const c = await compiled;
  if (typeof c === 'string') {
    if (!warned) {
      warned = true;
      process.emitWarning(`${c}: quiver uses its TypeScript kernels`, { code: 'QUIVER_NO_WASM_KERNELS' });
    }
    return undefined;
  }
  assert(memory.buffer instanceof SharedArrayBuffer, 'the wasm kernels need the arena\'s shared memory');
  const instance = await WebAssembly.instantiate(c.module, { env: { memory, abort } });
  const e = instance.exports as unknown as Exports;
  assert(e.dataEnd() <= WASM_RESERVED_BYTES,
    `the wasm kernels' static data ends at byte ${e.dataEnd()}, past the ${WASM_RESERVED_BYTES} the arena reserves`);
  return bind(e, memory.buffer, c.variant);
}

/** AssemblyScript's abort import; the kernels are built with --noAssert, so it is only a safeguard. */
function abort(_message: number, _file: number, line: number, column: number): never {
  throw new Error(`wasm kernel aborted at ${line}:${column}`);
}

/**
 * Wraps the exports with the TypeScript signatures; each view is checked to lie in `buffer`, the
 * memory's buffer when the kernels were loaded (the arena's memory never grows, so it stays the one).
 */
function bind(e: Exports, buffer: ArrayBufferLike, variant: WasmKernels['variant']): WasmKernels {
  const at = (v: Floats): number => {
    if (v.buffer !== buffer || !(v instanceof Float32Array)) notInArena();
    return v.byteOffset;
  };
  const atOrNull = (v: Floats | null): number => (v === null ? 0 : at(v));
  /** prelu's slopes must be there; every other activation ignores them. */
  const slopes = (activation: ActivationName, alpha: Floats | null): number =>
    activation === 'prelu' ? at(alpha ?? noAlpha()) : 0;
  const kernels: WasmKernels = {
    name: 'wasm',
    variant,
    denseForward(out, x, w, b, m, n, k) {
      e.denseForward(at(out), at(out), at(x), at(w), atOrNull(b), ACTIVATION_CODES.linear, 0, m, n, k);
    },
    denseActivationForward(z, a, x, w, b, activation, alpha, m, n, k) {
      // One pass: the GEMM's store adds b and applies the activation (assembly/gemm.ts's epilogue).
      e.denseForward(at(z), at(a), at(x), at(w), atOrNull(b), ACTIVATION_CODES[activation], slopes(activation, alpha), m, n, k);
      if (activation === 'linear' && a !== z) a.set(z.subarray(0, m * n));
    },
    activationForward(activation, a, z, alpha, m, n) {
      e.activationForward(ACTIVATION_CODES[activation], at(a), at(z), slopes(activation, alpha), m, n);
    },
    activationBackward(activation, dz, dalpha, da, z, a, alpha, m, n) {
      e.activationBackward(ACTIVATION_CODES[activation], at(dz), activation === 'prelu' ? atOrNull(dalpha) : 0,
        at(da), at(z), at(a), slopes(activation, alpha), m, n);
    },
    denseBackward(dx, dw, db, dy, x, w, m, n, k) {
      e.denseBackward(atOrNull(dx), at(dw), atOrNull(db), at(dy), at(x), at(w), m, n, k);
    },
    gemmStrided(out, a, b, m, n, k, ars, acs, brs, bcs, accumulate) {
      e.gemm(at(out), at(a), at(b), m, n, k, ars, acs, brs, bcs, accumulate ? 1 : 0);
    },
    sgdUpdate(pOut, pIn, grad, vOut, vIn, n, learningRate, momentum, sums = null) {
      if (sums !== null && sums.buffer !== buffer) notInArena();
      e.sgdUpdate(at(pOut), at(pIn), at(grad), atOrNull(vOut), atOrNull(vIn), n, learningRate, momentum, sums === null ? 0 : sums.byteOffset);
    },
    sumSlots(out, slots, stride, count, n) {
      return e.sumSlots(at(out), at(slots), stride, count, n);
    },
    sumSquares(x, n) {
      return e.sumSquares(at(x), n);
    },
    sumSquaredDiff(a, b, n) {
      return e.sumSquaredDiff(at(a), at(b), n);
    },
    layerStats(totals, units, a, y, m, n) {
      if (totals.buffer !== buffer || units.buffer !== buffer) notInArena();
      e.layerStats(totals.byteOffset, units.byteOffset, at(a), at(y), m, n);
    },
  };
  return kernels;
}

function noAlpha(): never {
  assert.fail('prelu needs its alpha (the per-unit slopes)');
}

function notInArena(): never {
  assert.fail('a wasm kernel was given an array that is not a view into the arena\'s shared memory');
}
