#!/usr/bin/env node
/**
 * Builds the WebAssembly SIMD kernels from the AssemblyScript sources in assembly/ into
 * dist/kernels/wasm/, next to the compiled loader (dist/kernels/wasm/index.js), which finds them
 * there; run from source (vitest, tsx), the loader looks in the same folder of dist/.
 *
 *   kernels.wasm          SIMD 128 + threads (shared memory): what every Node ≥ 20 runs
 *   kernels-relaxed.wasm  the same with relaxed SIMD's fused multiply-add, picked by the loader
 *                         only where the engine validates relaxed SIMD (on Node 20, behind
 *                         --experimental-wasm-relaxed-simd)
 *
 * Both import their memory (env.memory, shared, up to 4 GiB) and place their static data from
 * address 0; the build fails if that data would reach WASM_RESERVED_BYTES (64 KiB), where the
 * arena's first tensor starts. `npm run build` runs this first, and `prepare` runs `build`, so
 * `npm ci` on a clean clone builds the kernels.
 *
 * Usage: node scripts/build-wasm.mjs [--wat]   (--wat also writes the text form beside each)
 */
import asc from 'assemblyscript/asc';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = 'dist/kernels/wasm';
const RESERVED_BYTES = 65536; // WASM_RESERVED_BYTES in src/workers/arena.ts
const wat = process.argv.includes('--wat');

const common = [
  'assembly/index.ts',
  '--baseDir', root,
  '-O3', '--noAssert',
  '--runtime', 'stub', // the kernels never allocate
  '--enable', 'simd', '--enable', 'threads', // bulk-memory is on by default
  '--importMemory', '--sharedMemory', '--noExportMemory',
  '--initialMemory', '1', '--maximumMemory', '65536',
  '--memoryBase', '0',
];

const variants = [
  { file: 'kernels.wasm', flags: [] },
  { file: 'kernels-relaxed.wasm', flags: ['--enable', 'relaxed-simd'] },
];

await mkdir(new URL(`../${outDir}/`, import.meta.url), { recursive: true });
for (const { file, flags } of variants) {
  const out = `${outDir}/${file}`;
  const args = [...common, ...flags, '-o', out];
  if (wat) args.push('-t', out.replace(/\.wasm$/, '.wat'));
  const { error, stderr } = await asc.main(args);
  if (error) {
    console.error(stderr.toString());
    throw new Error(`asc failed on ${out}: ${error.message}`);
  }
  await checkDataEnd(new URL(`../${out}`, import.meta.url), file, flags.length > 0);
}

/**
 * Instantiates the module on a scratch shared memory and asks where its static data ends. A
 * relaxed-SIMD module can only be checked where the engine takes relaxed SIMD; it is built from
 * the same sources, so its data is the same.
 */
async function checkDataEnd(url, file, relaxed) {
  const bytes = await readFile(url);
  if (relaxed && !WebAssembly.validate(bytes)) return;
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const { instance } = await WebAssembly.instantiate(bytes, {
    env: { memory, abort() { throw new Error(`${file} aborted`); } },
  });
  const end = instance.exports.dataEnd();
  if (!(end > 0 && end <= RESERVED_BYTES)) {
    throw new Error(`${file}: static data ends at byte ${end}, past the ${RESERVED_BYTES} bytes the arena reserves for it`);
  }
}
