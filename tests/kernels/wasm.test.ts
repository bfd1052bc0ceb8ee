import { describe, expect, it, vi } from 'vitest';
import { reluBackward, reluForward } from '../../src/kernels/activations.js';
import { denseBackward, denseForward } from '../../src/kernels/dense.js';
import { gemmStrided } from '../../src/kernels/gemm.js';
import { tsKernels } from '../../src/kernels/kernels.js';
import { sgdUpdate } from '../../src/kernels/optim.js';
import { layerStats, sumSlots, sumSquaredDiff, sumSquares } from '../../src/kernels/reduce.js';
import { ACTIVATION_CODES, hasRelaxedSimd, loadWasmKernels, type WasmKernels } from '../../src/kernels/wasm/index.js';
import { ACTIVATIONS, type ActivationName } from '../../src/nn/activations.js';
import { hiddenLayer, mlp } from '../../src/nn/layers.js';
import { Model } from '../../src/nn/model.js';
import { sgd } from '../../src/nn/optimizers.js';
import { Prng } from '../../src/nn/prng.js';
import { fit } from '../../src/pipeline/train.js';
import { WASM_RESERVED_BYTES } from '../../src/workers/arena.js';
import { maxDiff } from '../helpers/random.js';

/**
 * The wasm kernels against the TypeScript ones, on views into one shared memory as the arena
 * makes them (64-byte aligned, from WASM_RESERVED_BYTES on). The module must have been built
 * (`npm run build:wasm`; `npm test` and `npm ci` build it).
 */
const PAGES = 256; // 16 MiB: the largest case (513³ gemm) needs 3 MiB
const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });
const loaded = await loadWasmKernels(memory);
if (loaded === undefined) throw new Error('the wasm kernels did not load: run `npm run build:wasm` first');
const wasm: WasmKernels = loaded;

/** A bump allocator over the memory; `reset` before each case. */
let at = WASM_RESERVED_BYTES;
function reset(): void { at = WASM_RESERVED_BYTES; }
function view(n: number): Float32Array {
  const v = new Float32Array(memory.buffer, at, n);
  at += Math.ceil((n * 4) / 64) * 64;
  if (at > memory.buffer.byteLength) throw new Error('test memory too small');
  return v;
}
/** A view that ends exactly at the end of the memory: a kernel that reads past it traps. */
function lastView(n: number): Float32Array {
  return new Float32Array(memory.buffer, memory.buffer.byteLength - n * 4, n);
}
function fill(v: Float32Array, rng: Prng): Float32Array {
  for (let i = 0; i < v.length; i++) v[i] = rng.uniform(-1, 1);
  return v;
}
function random(n: number, rng: Prng): Float32Array { return fill(view(n), rng); }

/** Every remainder of every tile (4, 8, 2, 1 wide; k by 4) and, with 513, past every block (256, 512). */
const SIZES = [1, 3, 7, 17, 63, 65, 513];
/** Every (m, n, k) over SIZES: 343 shapes. */
const SHAPES: [number, number, number][] =
  SIZES.flatMap((m) => SIZES.flatMap((n) => SIZES.map((k): [number, number, number] => [m, n, k])));
const TOLERANCE = 1e-5;

/** The strides of op(a) (m,k) and op(b) (k,n) for each transpose, as gemm.ts defines them. */
const TRANSPOSES: [string, (m: number, n: number, k: number) => [number, number, number, number]][] = [
  ['a·b', (_m, n, k) => [k, 1, n, 1]],
  ['a·bᵀ', (_m, _n, k) => [k, 1, 1, k]],
  ['aᵀ·b', (m, n) => [1, m, n, 1]],
  ['aᵀ·bᵀ', (m, _n, k) => [1, m, 1, k]],
];

describe('wasm kernels', () => {
  it('keep their static data inside the reserved first 64 KiB', async () => {
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(new URL('../../dist/kernels/wasm/kernels.wasm', import.meta.url));
    const scratch = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const { instance } = await WebAssembly.instantiate(bytes, { env: { memory: scratch, abort: () => { throw new Error('abort'); } } });
    const end = (instance.exports.dataEnd as () => number)();
    console.log(`wasm static data ends at byte ${end}; variant in use: ${wasm.variant} (relaxed SIMD ${hasRelaxedSimd() ? '' : 'not '}available)`);
    expect(end).toBeLessThan(WASM_RESERVED_BYTES);
  });

  it.each(TRANSPOSES)('gemmStrided %s matches the TypeScript gemmStrided, accumulate on and off', (name, strides) => {
    for (const accumulate of [false, true]) {
      let worst = 0;
      for (const [m, n, k] of SHAPES) {
        if (m * n * k > 513 * 513 * 65 && !accumulate) continue; // 513³ once is enough
        reset();
        const rng = new Prng(m * 7919 + n * 31 + k);
        const [ars, acs, brs, bcs] = strides(m, n, k);
        const a = random(m * k, rng), b = random(k * n, rng), out = random(m * n, rng);
        const want = out.slice();
        gemmStrided(want, a, b, m, n, k, ars, acs, brs, bcs, accumulate);
        wasm.gemmStrided(out, a, b, m, n, k, ars, acs, brs, bcs, accumulate);
        const d = maxDiff(out, want).rel;
        if (!(d < TOLERANCE)) expect.fail(`${name} ${m}×${n}×${k} accumulate=${accumulate}: max rel diff ${d}`);
        worst = Math.max(worst, d);
      }
      console.log(`gemmStrided ${name} accumulate=${accumulate}: max rel diff ${worst.toExponential(2)} over ${SHAPES.length} shapes`);
    }
  });

  it('gemmStrided on strides that are no transpose (every other element) agrees too', () => {
    // [ars, acs, brs, bcs]: the scalar loop; the broadcast kernel with A strided both ways; the same on outᵀ.
    const cases = (m: number, n: number, k: number): number[][] =>
      [[2 * k + 1, 2, 2 * n + 3, 2], [2 * k + 1, 2, n, 1], [1, m, 2 * n + 3, 2]];
    let worst = 0;
    for (const [m, n, k] of [[1, 1, 1], [3, 7, 17], [17, 65, 63], [65, 3, 7], [9, 17, 300]] as [number, number, number][]) {
      for (const [ars, acs, brs, bcs] of cases(m, n, k) as [number, number, number, number][]) {
        for (const accumulate of [false, true]) {
          reset();
          const rng = new Prng(m * n * k + ars);
          const a = random((m - 1) * ars + (k - 1) * acs + 1, rng), b = random((k - 1) * brs + (n - 1) * bcs + 1, rng);
          const out = random(m * n, rng), want = out.slice();
          gemmStrided(want, a, b, m, n, k, ars, acs, brs, bcs, accumulate);
          wasm.gemmStrided(out, a, b, m, n, k, ars, acs, brs, bcs, accumulate);
          const d = maxDiff(out, want).rel;
          if (!(d < TOLERANCE)) expect.fail(`strides ${[ars, acs, brs, bcs]} ${m}×${n}×${k}: max rel diff ${d}`);
          worst = Math.max(worst, d);
        }
      }
    }
    console.log(`gemmStrided, other strides: max rel diff ${worst.toExponential(2)}`);
  });

  it('gemmStrided with k = 0 stores zeros, or leaves out as it was when accumulating', () => {
    reset();
    const rng = new Prng(3);
    const out = random(12, rng), before = out.slice();
    wasm.gemmStrided(out, view(1), view(1), 3, 4, 0, 0, 1, 4, 1, true);
    expect(out).toEqual(before);
    wasm.gemmStrided(out, view(1), view(1), 3, 4, 0, 0, 1, 4, 1, false);
    expect(out).toEqual(new Float32Array(12));
  });

  it('gemmStrided reads nothing past operands that end at the end of memory', () => {
    for (const [name, strides] of TRANSPOSES) {
      for (const [m, n, k] of [[3, 5, 7], [5, 9, 1], [7, 3, 17], [9, 17, 6]] as [number, number, number][]) {
        reset();
        const rng = new Prng(m + n + k);
        const [ars, acs, brs, bcs] = strides(m, n, k);
        const out = random(m * n, rng);
        const want = out.slice();
        // a and b in turn at the very end, where one float too many is out of bounds.
        for (const last of ['a', 'b'] as const) {
          const a = last === 'a' ? fill(lastView(m * k), rng) : random(m * k, rng);
          const b = last === 'b' ? fill(lastView(k * n), rng) : random(k * n, rng);
          gemmStrided(want, a, b, m, n, k, ars, acs, brs, bcs, true);
          wasm.gemmStrided(out, a, b, m, n, k, ars, acs, brs, bcs, true);
          expect(maxDiff(out, want).rel, `${name} ${m}×${n}×${k}, ${last} last`).toBeLessThan(TOLERANCE);
        }
      }
    }
  });

  it('denseForward matches the TypeScript kernel, with and without bias', () => {
    let worst = 0;
    for (const [m, n, k] of SHAPES) {
      for (const bias of [true, false]) {
        reset();
        const rng = new Prng(m * 1000 + n * 10 + k);
        const x = random(m * k, rng), w = random(n * k, rng), b = bias ? random(n, rng) : null;
        const out = random(m * n, rng), want = out.slice();
        denseForward(want, x, w, b, m, n, k);
        wasm.denseForward(out, x, w, b, m, n, k);
        const d = maxDiff(out, want).rel;
        if (!(d < TOLERANCE)) expect.fail(`denseForward ${m}×${n}×${k} bias=${bias}: max rel diff ${d}`);
        worst = Math.max(worst, d);
      }
    }
    console.log(`denseForward: max rel diff ${worst.toExponential(2)} over ${SHAPES.length} shapes × bias on/off`);
  });

  it('denseBackward accumulates dx, dw, db as the TypeScript kernel does, dx and db optional', () => {
    const worst = { dx: 0, dw: 0, db: 0 };
    for (const [m, n, k] of SHAPES) {
      for (const [withDx, withDb] of [[true, true], [false, true], [true, false], [false, false]]) {
        reset();
        const rng = new Prng(m + 100 * n + 10_000 * k);
        const x = random(m * k, rng), w = random(n * k, rng), dy = random(m * n, rng);
        for (let i = 0; i < dy.length; i += 3) dy[i] = 0; // ReLU zeroes a share of dy
        const dx = withDx ? random(m * k, rng) : null, dw = random(n * k, rng), db = withDb ? random(n, rng) : null;
        const wdx = dx?.slice() ?? null, wdw = dw.slice(), wdb = db?.slice() ?? null;
        denseBackward(wdx, wdw, wdb, dy, x, w, m, n, k);
        wasm.denseBackward(dx, dw, db, dy, x, w, m, n, k);
        for (const [name, got, want] of [['dx', dx, wdx], ['dw', dw, wdw], ['db', db, wdb]] as const) {
          if (got === null || want === null) continue;
          const d = maxDiff(got, want).rel;
          if (!(d < TOLERANCE)) expect.fail(`denseBackward ${m}×${n}×${k} ${name}: max rel diff ${d}`);
          worst[name] = Math.max(worst[name], d);
        }
        if (db !== null) expect(db).toEqual(wdb); // the same additions in the same order
      }
    }
    console.log(`denseBackward: max rel diff dx ${worst.dx.toExponential(2)}, dw ${worst.dw.toExponential(2)}, db ${worst.db.toExponential(2)}`);
  });

  const LENGTHS = [1, 3, 7, 17, 63, 65, 513, 4099];
  /** Random values with the special ones sprinkled in. */
  function specials(n: number, rng: Prng): Float32Array {
    const v = random(n, rng);
    const odd = [0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38];
    for (let i = 0; i < n; i += 5) v[i] = odd[(i / 5) % odd.length]!;
    return v;
  }
  /** Bitwise equality but for NaN payloads. */
  function expectSame(got: Float32Array, want: Float32Array, what: string): void {
    for (let i = 0; i < want.length; i++) {
      if (!Object.is(got[i], want[i])) expect.fail(`${what}[${i}]: ${got[i]} ≠ ${want[i]}`);
    }
  }

  it('reluForward and reluBackward give the TypeScript results bit for bit, NaN, ±0 and +∞ included', () => {
    for (const n of LENGTHS) {
      reset();
      const rng = new Prng(n);
      const x = specials(n, rng), dy = specials(n, rng);
      const y = view(n), dx = view(n);
      const wy = new Float32Array(n), wdx = new Float32Array(n);
      reluForward(wy, x, n);
      wasm.activationForward('relu', y, x, null, 1, n);
      // The one difference: relu(−∞) is 0 here, as in PyTorch, where ½(x + |x|) gives ½(−∞ + ∞) = NaN.
      for (let i = 0; i < n; i++) if (x[i] === -Infinity) { expect(y[i]).toBe(0); wy[i] = 0; }
      expectSame(y, wy, `relu n=${n}`);
      reluBackward(wdx, dy, x, n);
      wasm.activationBackward('relu', dx, null, dy, x, y, null, 1, n);
      expectSame(dx, wdx, `relu' n=${n}`);
    }
    console.log(`reluForward, reluBackward: max diff 0 (bit for bit, but relu(−∞) = 0) over n ∈ {${LENGTHS.join(', ')}}`);
  });

  const NAMES = Object.keys(ACTIVATIONS) as ActivationName[];
  /** Every (m, n) over SIZES: 49 shapes, each tail of a four-lane loop and of a row of units. */
  const PAIRS: [number, number][] = SIZES.flatMap((m) => SIZES.map((n): [number, number] => [m, n]));
  /**
   * The error the activations are held to: relative where |want| ≥ 0.1, absolute below
   * (1e-5 of it is 1e-6 near 0, where a relative error means nothing: gelu(−5) ≈ −2e−7).
   */
  function actError(got: Float32Array, want: Float32Array, what: string): number {
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      const g = got[i]!, w = want[i]!;
      if (Number.isNaN(w) || Number.isNaN(g)) {
        if (Number.isNaN(w) !== Number.isNaN(g)) expect.fail(`${what}[${i}]: ${g}, want ${w}`);
        continue;
      }
      const e = g === w ? 0 : Math.abs(g - w) / Math.max(Math.abs(w), 0.1);
      if (!(e <= TOLERANCE)) expect.fail(`${what}[${i}]: ${g}, want ${w} (error ${e.toExponential(2)})`);
      worst = Math.max(worst, e);
    }
    return worst;
  }
  /** Pre-activations over [−30, 30], with 0, −0, tiny, large and NaN values sprinkled in. */
  function preActivations(n: number, rng: Prng): Float32Array {
    const v = view(n);
    for (let i = 0; i < n; i++) v[i] = rng.uniform(-30, 30);
    for (let i = 1; i < n; i += 4) v[i] = rng.uniform(-1, 1) * 2 ** rng.uniform(-12, 3); // near the kinks
    const odd = [0, -0, 1e-30, -1e-30, 1e-45, -1e-45, 1e-7, -1e-7, 88, -88, 100, -100, 1e10, -1e10, 3e38, -3e38, NaN];
    for (let i = 0; i < n; i += 7) v[i] = odd[(i / 7) % odd.length]!;
    return v;
  }
  /** prelu's slopes, of both signs. */
  function slopes(name: ActivationName, n: number, rng: Prng): Float32Array | null {
    if (name !== 'prelu') return null;
    const alpha = view(n);
    for (let i = 0; i < n; i++) alpha[i] = rng.uniform(-0.5, 0.5);
    return alpha;
  }

  it('activationForward matches the TypeScript kernel for every activation and shape, and in place', () => {
    const worst: string[] = [];
    for (const name of NAMES) {
      let w = 0;
      for (const [m, n] of PAIRS) {
        reset();
        const rng = new Prng(m * 131 + n);
        const z = preActivations(m * n, rng), alpha = slopes(name, n, rng), a = view(m * n);
        const want = new Float32Array(m * n);
        tsKernels.activationForward(name, want, z, alpha, m, n);
        wasm.activationForward(name, a, z, alpha, m, n);
        w = Math.max(w, actError(a, want, `${name} ${m}×${n}`));
        wasm.activationForward(name, z, z, alpha, m, n); // a = z
        w = Math.max(w, actError(z, want, `${name} ${m}×${n} in place`));
      }
      worst.push(`${name} ${w.toExponential(2)}`);
    }
    console.log(`activationForward, max error (relative, absolute below 0.1) over ${PAIRS.length} shapes: ${worst.join(', ')}`);
  });

  it('activationBackward matches the TypeScript kernel for every activation and shape, dz aliasing da, prelu\'s dalpha accumulating', () => {
    const worst: string[] = [];
    for (const name of NAMES) {
      let w = 0;
      for (const [m, n] of PAIRS) {
        reset();
        const rng = new Prng(m * 977 + n);
        const z = preActivations(m * n, rng), alpha = slopes(name, n, rng), a = view(m * n), da = random(m * n, rng);
        for (let i = 0; i < da.length; i += 11) da[i] = 0;
        tsKernels.activationForward(name, a, z, alpha, m, n); // tanh and sigmoid take f' from a
        for (const accumulate of name === 'prelu' ? [true, false] : [false]) {
          // Without dalpha the wasm kernel skips the sums; the TypeScript one always takes them (into scratch here).
          const dalpha = accumulate ? random(n, rng) : null;
          const wantAlpha = dalpha?.slice() ?? (name === 'prelu' ? new Float32Array(n) : null);
          const want = new Float32Array(m * n), dz = view(m * n);
          tsKernels.activationBackward(name, want, wantAlpha, da, z, a, alpha, m, n);
          wasm.activationBackward(name, dz, dalpha, da, z, a, alpha, m, n);
          w = Math.max(w, actError(dz, want, `${name}' ${m}×${n}`));
          if (dalpha !== null && wantAlpha !== null) {
            expectSame(dalpha, wantAlpha, `dalpha ${m}×${n}`); // the same additions in the same order
          }
        }
        const inPlace = da.slice(), scratch = name === 'prelu' ? view(n) : null;
        tsKernels.activationBackward(name, inPlace, scratch?.slice() ?? null, inPlace, z, a, alpha, m, n);
        wasm.activationBackward(name, da, scratch, da, z, a, alpha, m, n); // dz = da, as the network calls it
        w = Math.max(w, actError(da, inPlace, `${name}' ${m}×${n} in place`));
      }
      worst.push(`${name} ${w.toExponential(2)}${name === 'prelu' ? ' (dalpha bit for bit)' : ''}`);
    }
    console.log(`activationBackward, max error over ${PAIRS.length} shapes: ${worst.join(', ')}`);
  });

  it('denseActivationForward fuses bias and activation into the GEMM\'s store: z and a as the TypeScript kernels give them', () => {
    const worst: string[] = [];
    let cases = 0;
    for (const name of NAMES) {
      let wz = 0;
      let wa = 0;
      for (const [m, n] of PAIRS) {
        for (const k of [1, 3, 65, 513]) { // 513: past the dot kernel's k block (512), where z is finished in a second pass
          if (m * n * k > 17 * 65 * 513) continue; // the TypeScript GEMM's time
          for (const bias of [true, false]) {
            reset();
            const rng = new Prng(m * 7 + n * 1009 + k);
            const x = random(m * k, rng), w = random(n * k, rng);
            for (let i = 0; i < w.length; i++) w[i] = w[i]! * 8 / Math.sqrt(k); // z over about ±8: the activations' curved parts
            const b = bias ? random(n, rng) : null, alpha = slopes(name, n, rng);
            const z = random(m * n, rng), a = name === 'linear' ? z : random(m * n, rng);
            const wantZ = new Float32Array(m * n), wantA = name === 'linear' ? wantZ : new Float32Array(m * n);
            tsKernels.denseActivationForward(wantZ, wantA, x, w, b, name, alpha, m, n, k);
            wasm.denseActivationForward(z, a, x, w, b, name, alpha, m, n, k);
            const dz = maxDiff(z, wantZ).rel, da = maxDiff(a, wantA).rel;
            if (!(dz < TOLERANCE && da < TOLERANCE)) expect.fail(`${name} ${m}×${n}×${k} bias=${bias}: max rel diff z ${dz}, a ${da}`);
            wz = Math.max(wz, dz);
            wa = Math.max(wa, da);
            // The fused store applies the very function of the elementwise kernel, to the same z.
            const separate = view(m * n);
            wasm.activationForward(name, separate, z, alpha, m, n);
            expectSame(a, separate, `${name} ${m}×${n}×${k}: fused a vs activationForward(z)`);
            cases++;
          }
        }
      }
      worst.push(`${name} z ${wz.toExponential(2)} a ${wa.toExponential(2)}`);
    }
    console.log(`denseActivationForward, max rel diff over ${cases} cases: ${worst.join(', ')}`);
  });

  it('denseForward with k = 0 stores the bias (or zeros), and denseActivationForward applies f to it', () => {
    reset();
    const rng = new Prng(5);
    const b = random(5, rng), z = random(15, rng), a = random(15, rng), x = view(1), w = view(1);
    wasm.denseActivationForward(z, a, x, w, b, 'tanh', null, 3, 5, 0);
    const wantA = new Float32Array(15);
    for (let i = 0; i < 15; i++) wantA[i] = Math.tanh(b[i % 5]!);
    expect([...z]).toEqual([...b, ...b, ...b]);
    expect(maxDiff(a, wantA).rel).toBeLessThan(TOLERANCE);
    wasm.denseForward(z, x, w, null, 3, 5, 0);
    expect(z).toEqual(new Float32Array(15));
  });

  it.each(NAMES)('one training step of a 3-layer %s network gives the same weights on the wasm and the TypeScript kernels', async (activation) => {
    const rng = new Prng(17);
    const rows = 150, inputs = 13;
    const features = new Float32Array(rows * inputs).map(() => rng.uniform(-2, 2));
    const labels = new Float32Array(rows).map(() => rng.int(3));
    const data = {
      file: 'random', rows, features, labels, classes: 3, labelName: 'label',
      featureNames: Array.from({ length: inputs }, (_, i) => `f${i}`),
    };
    const spec = mlp({ inputs, classes: 3, layers: [hiddenLayer({ units: 33, activation }), hiddenLayer({ units: 17, activation })] });
    const before = Model.init(spec, 3).params;
    const after: Record<string, Float32Array> = {};
    for (const kernels of ['ts', 'wasm'] as const) {
      const model = new Model(spec, before.slice());
      await fit(model, data, { epochs: 1, batchSize: 'full', microBatch: 64, workers: 'inline', kernels, optimizer: sgd({ learningRate: 0.5 }) });
      after[kernels] = model.params;
    }
    const step = (p: Float32Array): Float32Array => p.map((v, i) => v - before[i]!);
    const weights = maxDiff(after.wasm!, after.ts!), updates = maxDiff(step(after.wasm!), step(after.ts!));
    console.log(`${activation}: one step, wasm vs ts: weights max diff ${weights.abs.toExponential(2)}, updates max rel diff ${updates.rel.toExponential(2)}`);
    expect(maxDiff(step(after.ts!), new Float32Array(before.length)).abs).toBeGreaterThan(1e-3); // the step moved the weights
    expect(weights.abs).toBeLessThan(TOLERANCE);
    expect(updates.rel).toBeLessThan(TOLERANCE);
  });

  it('sgdUpdate gives the TypeScript results bit for bit, with momentum, without, and in place', () => {
    for (const n of LENGTHS) {
      for (const [momentum, withV] of [[0.9, true], [0, true], [0.9, false]] as const) {
        reset();
        const rng = new Prng(n * 3 + 1);
        const pIn = random(n, rng), grad = random(n, rng), vIn = withV ? random(n, rng) : null;
        const pOut = view(n), vOut = withV ? view(n) : null;
        const wp = new Float32Array(n), wv = withV ? new Float32Array(n) : null;
        // The sums start from values already there: the kernels add to them.
        const sums = ((v) => new Float64Array(v.buffer, v.byteOffset, 3))(view(6)).fill(0.5);
        const wantSums = new Float64Array(3).fill(0.5);
        sgdUpdate(wp, pIn, grad, wv, vIn, n, 0.01, momentum, wantSums);
        wasm.sgdUpdate(pOut, pIn, grad, vOut, vIn, n, 0.01, momentum, sums);
        expectSame(pOut, wp, `p n=${n} μ=${momentum}`);
        for (let i = 0; i < 3; i++) expect(Math.abs(sums[i]! - wantSums[i]!) / wantSums[i]!).toBeLessThan(1e-12);
        if (vOut !== null && wv !== null && momentum !== 0) expectSame(vOut, wv, `v n=${n}`);
        // in place (hogwild): in and out the same arrays
        const p = pIn.slice(), v = vIn?.slice() ?? null;
        sgdUpdate(p, p, grad, v, v, n, 0.01, momentum);
        wasm.sgdUpdate(pIn, pIn, grad, vIn, vIn, n, 0.01, momentum);
        expectSame(pIn, p, `in-place p n=${n}`);
      }
    }
    console.log('sgdUpdate: max diff 0 (bit for bit)');
  });

  it('sumSlots adds the slots in order as the TypeScript kernel does, bit for bit', () => {
    for (const n of [...LENGTHS, 2500]) {
      for (const count of [1, 2, 5, 13]) {
        reset();
        const rng = new Prng(n + count);
        const stride = Math.ceil((n + 5) / 16) * 16;
        const slots = random(stride * count, rng);
        for (let i = 0; i < slots.length; i += 7) slots[i] = slots[i]! * 1e6; // make the order matter
        const out = view(n), want = new Float32Array(n);
        const sq = sumSlots(want, slots, stride, count, n);
        const wasmSq = wasm.sumSlots(out, slots, stride, count, n);
        expectSame(out, want, `sumSlots n=${n} count=${count}`);
        expect(Math.abs(wasmSq - sq) / sq).toBeLessThan(1e-12); // Σ out², the gradient's squared norm
      }
    }
    console.log('sumSlots: max diff 0 (bit for bit)');
  });

  it('layerStats counts active outputs per unit exactly and sums the pre-activations to 1e-12 of the TypeScript kernel', () => {
    let worst = 0;
    for (const m of [1, 3, 64, 65]) {
      for (const n of SIZES) {
        reset();
        const rng = new Prng(m * 1000 + n);
        const a = random(m * n, rng);
        for (let i = 0; i < a.length; i += 5) a[i] = 0; // exactly 0 is not active
        const y = random(m * n, rng);
        const f64 = (k: number): Float64Array => { const v = view(2 * k); return new Float64Array(v.buffer, v.byteOffset, k); };
        const totals = f64(3), units = f64(n);
        const wantTotals = new Float64Array(3), wantUnits = new Float64Array(n);
        layerStats(wantTotals, wantUnits, a, y, m, n);
        wasm.layerStats(totals, units, a, y, m, n);
        expect(Array.from(units)).toEqual(Array.from(wantUnits));
        expect(totals[0]).toBe(wantTotals[0]);
        worst = Math.max(worst, Math.abs(totals[1]! - wantTotals[1]!) / Math.max(1, Math.abs(wantTotals[1]!)),
          Math.abs(totals[2]! - wantTotals[2]!) / wantTotals[2]!);
      }
    }
    console.log(`layerStats: counts exact, sums within ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-12);
  });

  it('sumSquares and sumSquaredDiff agree with the TypeScript kernels to 1e-12 in float64', () => {
    let worst = 0;
    for (const n of [...SIZES, 4096, 4099]) {
      reset();
      const rng = new Prng(n);
      const a = random(n, rng), b = random(n, rng);
      const rel = (x: number, y: number): number => Math.abs(x - y) / Math.max(y, 1e-300);
      worst = Math.max(worst, rel(wasm.sumSquares(a, n), sumSquares(a, n)), rel(wasm.sumSquaredDiff(a, b, n), sumSquaredDiff(a, b, n)));
    }
    console.log(`sumSquares, sumSquaredDiff: max relative difference ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-12);
  });

  it('reject an array that is not a view into the shared memory', () => {
    reset();
    const inside = view(4);
    expect(() => wasm.activationForward('relu', new Float32Array(4), inside, null, 1, 4)).toThrow(/not a view into the arena/);
    expect(() => wasm.sumSlots(inside, new Float32Array(4), 4, 1, 4)).toThrow(/not a view into the arena/);
  });

  it('the relaxed-SIMD build (fused multiply-add) agrees too, where the engine runs it: GEMM, dense layers, every activation', async () => {
    if (hasRelaxedSimd()) {
      expect(wasm.variant).toBe('relaxed-simd'); // then every test above ran it already
      return;
    }
    // Node 20 runs relaxed SIMD only behind a V8 flag: check that build in a child process given it.
    const { execFileSync } = await import('node:child_process');
    const src = (path: string): string => new URL(`../../src/${path}`, import.meta.url).href;
    const script = `
      const { gemmStrided } = await import(${JSON.stringify(src('kernels/gemm.ts'))});
      const { tsKernels } = await import(${JSON.stringify(src('kernels/kernels.ts'))});
      const { ACTIVATIONS } = await import(${JSON.stringify(src('nn/activations.ts'))});
      const { loadWasmKernels } = await import(${JSON.stringify(src('kernels/wasm/index.ts'))});
      const memory = new WebAssembly.Memory({ initial: 256, maximum: 256, shared: true });
      const k = await loadWasmKernels(memory);
      const worst = { gemm: 0, dense: 0, activations: 0 };
      let at = 65536, seed = 1;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 1073741824) - 1;
      const view = (n, scale = 1) => { const v = new Float32Array(memory.buffer, at, n); at += Math.ceil(n / 16) * 64; for (let i = 0; i < n; i++) v[i] = scale * rand(); return v; };
      const rel = (got, want) => { let d = 0, s = 0; for (let i = 0; i < got.length; i++) { d = Math.max(d, Math.abs(got[i] - want[i])); s = Math.max(s, Math.abs(want[i])); } return d / Math.max(s, 1e-30); };
      const elementwise = (got, want) => { let e = 0; for (let i = 0; i < got.length; i++) e = Math.max(e, Math.abs(got[i] - want[i]) / Math.max(Math.abs(want[i]), 0.1)); return e; };
      for (const [m, n, kk] of [[1, 1, 1], [7, 17, 3], [65, 63, 17], [513, 65, 63], [63, 513, 513]]) {
        for (const st of [[kk, 1, n, 1], [kk, 1, 1, kk], [1, m, n, 1], [1, m, 1, kk]]) {
          at = 65536;
          const a = view(m * kk), b = view(kk * n), out = view(m * n), want = out.slice();
          gemmStrided(want, a, b, m, n, kk, ...st, true);
          k.gemmStrided(out, a, b, m, n, kk, ...st, true);
          worst.gemm = Math.max(worst.gemm, rel(out, want));
        }
      }
      for (const name of Object.keys(ACTIVATIONS)) {
        for (const [m, n, kk] of [[1, 1, 1], [7, 17, 3], [65, 63, 17], [63, 65, 513]]) {
          at = 65536;
          const x = view(m * kk), w = view(n * kk, 8 / Math.sqrt(kk)), b = view(n), alpha = view(n, 0.5);
          const z = view(m * n), a = name === 'linear' ? z : view(m * n), wz = z.slice(), wa = name === 'linear' ? wz : a.slice();
          tsKernels.denseActivationForward(wz, wa, x, w, b, name, alpha, m, n, kk);
          k.denseActivationForward(z, a, x, w, b, name, alpha, m, n, kk);
          worst.dense = Math.max(worst.dense, rel(z, wz), rel(a, wa));
          const zz = view(m * n, 30), aa = view(m * n), da = view(m * n), dz = view(m * n), dalpha = view(n);
          tsKernels.activationForward(name, aa, zz, alpha, m, n);
          const fa = view(m * n);
          k.activationForward(name, fa, zz, alpha, m, n);
          const wdz = new Float32Array(m * n), wdalpha = dalpha.slice();
          tsKernels.activationBackward(name, wdz, wdalpha, da, zz, aa, alpha, m, n);
          k.activationBackward(name, dz, dalpha, da, zz, aa, alpha, m, n);
          worst.activations = Math.max(worst.activations, elementwise(fa, aa), elementwise(dz, wdz), rel(dalpha, wdalpha));
          const dx = view(m * kk), dw = view(n * kk), db = view(n), wdx = dx.slice(), wdw = dw.slice(), wdb = db.slice();
          tsKernels.denseBackward(wdx, wdw, wdb, da, x, w, m, n, kk);
          k.denseBackward(dx, dw, db, da, x, w, m, n, kk);
          worst.dense = Math.max(worst.dense, rel(dx, wdx), rel(dw, wdw), rel(db, wdb));
        }
      }
      console.log(JSON.stringify({ variant: k.variant, worst }));`;
    let stdout: string;
    try {
      stdout = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', '--input-type=module', '-e', script],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const stderr = String((e as { stderr?: unknown }).stderr ?? '');
      if (/bad option/.test(stderr)) return; // an engine without the flag: nothing to check
      throw e;
    }
    const { variant, worst } = JSON.parse(stdout.trim().split('\n').pop()!) as { variant: string; worst: Record<string, number> };
    console.log(`relaxed-SIMD build (child process): max rel diff gemmStrided ${worst.gemm!.toExponential(2)}, dense forward+activation and backward ${worst.dense!.toExponential(2)}, activations ${worst.activations!.toExponential(2)}`);
    expect(variant).toBe('relaxed-simd');
    for (const d of Object.values(worst)) expect(d).toBeLessThan(TOLERANCE);
  });

  it('return undefined after one warning when the module is not built', async () => {
    vi.resetModules();
    vi.doMock('node:fs/promises', () => ({
      readFile: async () => { throw Object.assign(new Error('no such file'), { code: 'ENOENT' }); },
    }));
    const warnings: string[] = [];
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation((w: string | Error) => { warnings.push(String(w)); });
    try {
      const fresh = await import('../../src/kernels/wasm/index.js');
      expect(await fresh.loadWasmKernels(memory)).toBeUndefined();
      expect(await fresh.loadWasmKernels(memory)).toBeUndefined();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/not built .*npm run build:wasm.*TypeScript kernels/);
    } finally {
      spy.mockRestore();
      vi.doUnmock('node:fs/promises');
      vi.resetModules();
    }
  });

  it('run on a worker thread on the same shared memory, leaving the reserved bytes and the main thread\'s tensors alone', async () => {
    const { Worker } = await import('node:worker_threads');
    const { readFile } = await import('node:fs/promises');
    reset();
    const rng = new Prng(11);
    const n = 100_000;
    const x = random(n, rng), y = view(n), want = new Float32Array(n);
    const mine = random(n, rng), mineOut = view(n), mineWant = new Float32Array(n);
    reluForward(want, x, n);
    reluForward(mineWant, mine, n);
    const reserved = new Uint8Array(memory.buffer, 0, WASM_RESERVED_BYTES);
    reserved.fill(0xa5);
    // The worker instantiates the same compiled module on the same memory, as each pool thread does.
    const module = await WebAssembly.compile(await readFile(new URL('../../dist/kernels/wasm/kernels.wasm', import.meta.url)));
    const worker = new Worker(`
      const { workerData, parentPort } = require('node:worker_threads');
      const { module, memory, x, y, n } = workerData;
      WebAssembly.instantiate(module, { env: { memory, abort() { throw new Error('abort'); } } }).then((instance) => {
        for (let r = 0; r < 50; r++) instance.exports.activationForward(${ACTIVATION_CODES.relu}, y, x, 0, 1, n);
        parentPort.postMessage('done');
      });`, { eval: true, workerData: { module, memory, x: x.byteOffset, y: y.byteOffset, n } });
    const done = new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
    for (let r = 0; r < 50; r++) wasm.activationForward('relu', mineOut, mine, null, 1, n); // meanwhile, on this thread
    await done;
    await worker.terminate();
    expectSame(y, want, 'relu on the worker');
    expectSame(mineOut, mineWant, 'relu on the main thread');
    expect(reserved.every((v) => v === 0xa5)).toBe(true);
  });

  it('compile once per thread: a second memory gets its own instance of the same module', async () => {
    const other = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
    const k = await loadWasmKernels(other);
    expect(k?.variant).toBe(wasm.variant);
    const x = new Float32Array(other.buffer, WASM_RESERVED_BYTES, 4), y = new Float32Array(other.buffer, WASM_RESERVED_BYTES + 64, 4);
    x.set([-1, 2, -3, 4]);
    k!.activationForward('relu', y, x, null, 1, 4);
    expect([...y]).toEqual([0, 2, 0, 4]);
  });
});
