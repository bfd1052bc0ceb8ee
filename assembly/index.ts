/**
 * quiver's WebAssembly SIMD kernels (the entry asc compiles; see scripts/build-wasm.mjs).
 * Every export takes byte offsets into the imported shared memory and sizes, and allocates
 * nothing; src/kernels/wasm/index.ts wraps them with the TypeScript kernels' signatures.
 */
export { gemm } from './gemm';
export { denseForward, denseBackward } from './dense';
export { activationForward, activationBackward } from './activations';
export { sgdUpdate } from './optim';
export { sumSlots, layerStats, sumSquares, sumSquaredDiff } from './reduce';

/**
 * End of the module's static data in the shared memory: the loader checks it lies inside the
 * arena's reserved first 64 KiB (WASM_RESERVED_BYTES), where no tensor is placed.
 */
export function dataEnd(): usize { return __heap_base; }
