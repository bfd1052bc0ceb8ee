/**
 * Worker scaling: samples/s of one epoch inline and on 1, 2, … workers (the WebAssembly kernels,
 * or the TypeScript ones with --kernels ts), with the speed-up over one worker, the pool's per-step overhead (phase dispatch
 * plus the reduce+update phase, as a share of the step) and the arena's size against
 * parameters × (2 + optimizer slots + micro-shards) + scratch.
 *
 *   W2: 65 536 × 784 → 512 → 512 → 1 (ReLU), batch 256, one epoch
 *   W3: 16 384 × 64 → eight hidden layers of 256 (ReLU) → 1, batch 128, one epoch
 *
 * ```sh
 * npm run bench:scaling                       # full sizes: minutes on 2 cores
 * node --import tsx bench/scaling.ts --quick  # an eighth of the rows
 * node --import tsx bench/scaling.ts --kernels ts --workers 1,2,4,8 --json out/scaling.json
 * ```
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname } from 'node:path';
import { Model, fit, hiddenLayer, mlp, sgd } from '../src/index.js';
import { KERNELS_NAMES, type KernelsName } from '../src/kernels/kernels.js';
import type { Dataset } from '../src/pipeline/dataset.js';
import { Arena, layoutArena } from '../src/workers/arena.js';
import { createPool, PoolEngine } from '../src/workers/pool.js';
import { syntheticDataset } from '../tests/helpers/synthetic.js';
import { describeCapacity, parallelCapacity } from './peers/parallel.js';

interface Workload { id: string; rows: number; inputs: number; hidden: number[]; batch: number }

const WORKLOADS: Workload[] = [
  { id: 'W2', rows: 65_536, inputs: 784, hidden: [512, 512], batch: 256 },
  { id: 'W3', rows: 16_384, inputs: 64, hidden: Array(8).fill(256), batch: 128 },
];
const MICRO_BATCH = 64;

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string): string | undefined => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const workerCounts = (flag('--workers') ?? [1, 2, ...(availableParallelism() > 2 ? [availableParallelism()] : [])].join(','))
  .split(',').map(Number);
const json = flag('--json');
const kernels = (flag('--kernels') ?? 'wasm') as KernelsName;
if (!KERNELS_NAMES.includes(kernels)) throw new Error(`--kernels must be one of ${KERNELS_NAMES.join(', ')} (got ${kernels})`);
const KERNELS_TITLE = kernels === 'wasm' ? 'WebAssembly SIMD kernels' : 'TypeScript kernels';

const spec = (w: Workload) => mlp({ inputs: w.inputs, layers: w.hidden.map((units) => hiddenLayer({ units, activation: 'relu' })) });

/** Per-step cost of the pool beyond the gradients: phase dispatch and the reduce+update phase. */
async function overhead(w: Workload, data: Dataset, workers: number):
    Promise<{ share: number; dispatchShare: number; updateShare: number; stepMs: number; latencyUs: number; arenaMiB: number; boundMiB: number }> {
  const s = spec(w);
  const layout = layoutArena(s, { batchRows: w.batch, microBatch: MICRO_BATCH, workers, optimizerSlots: 0 });
  const arena = Arena.allocate(s, layout);
  arena.params(0).set(Model.init(s, 1).params);
  arena.input(0).features.set(data.features.subarray(0, w.batch * w.inputs));
  arena.input(0).labels.set(data.labels.subarray(0, w.batch));
  const pool = createPool({ workers });
  const engine = await PoolEngine.start(arena, pool, { optimizer: sgd({ learningRate: 0.01 }), seed: 42, clipValue: Infinity }, false, kernels);
  try {
    let buffer = 0;
    const run = async (from: number, count: number): Promise<void> => {
      for (let i = from; i < from + count; i++) {
        buffer = (await engine.step({ inputSlot: 0, rows: w.batch, paramBuffer: buffer, learningRate: 0.01, globalStep: i })).paramBuffer;
      }
    };
    // Warm the workers' code first: the update phase's JavaScript loops run slowly until optimised.
    await run(0, 8);
    Object.assign(engine.stats, { steps: 0, gradSeconds: 0, updateSeconds: 0 });
    await run(8, 24);
    const latency = await engine.latency();
    const { gradSeconds, updateSeconds, steps } = engine.stats;
    const step = (gradSeconds + updateSeconds) / steps;
    const params = layout.params.size * 4;
    const scratch = layout.scratchStride * 4 * workers + 2 * w.batch * (w.inputs + 1) * 4;
    // The grad phase's dispatch is one empty round trip; the reduce+update phase's wall time holds its own.
    return {
      share: (updateSeconds / steps + latency) / step, dispatchShare: latency / step, updateShare: updateSeconds / steps / step,
      stepMs: step * 1e3, latencyUs: latency * 1e6,
      arenaMiB: layout.bytes / 2 ** 20, boundMiB: (params * (2 + 0 + layout.gradSlots) * 1.1 + scratch) / 2 ** 20,
    };
  } finally {
    await engine.close();
    await pool.close();
  }
}

const rows: { workload: string; system: string; samplesPerSecond: number; seconds: number }[] = [];
console.log(`worker scaling, ${KERNELS_TITLE}, one epoch each, micro-batch ${MICRO_BATCH}; ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}${quick ? ' (--quick: 1/8 of the rows)' : ''}`);
for (const w of WORKLOADS) {
  const rows_ = quick ? w.rows / 8 : w.rows;
  const data = syntheticDataset({ rows: rows_, features: w.inputs, informative: Math.min(32, w.inputs), classes: 2, seed: 3 });
  const init = Model.init(spec(w), 42).params;
  console.log(`\n${w.id}: ${rows_} × ${w.inputs} → ${w.hidden.join(' → ')} → 1, batch ${w.batch}, ${(init.length / 1e6).toFixed(2)} M parameters`);
  // Two threads of arithmetic are not always twice one on a VM (shared or SMT cores): say what there was.
  console.log(`machine check: ${describeCapacity(await parallelCapacity(Math.max(2, ...workerCounts)))}`);
  console.log('system        seconds   samples/s   vs 1 worker');
  let one = 0;
  for (const workers of ['inline', ...workerCounts] as const) {
    const model = new Model(spec(w), init.slice());
    const h = await fit(model, data, { epochs: 1, batchSize: w.batch, microBatch: MICRO_BATCH, workers, kernels, optimizer: sgd({ learningRate: 0.01 }) });
    const sps = rows_ / h.end.seconds;
    if (workers === 1) one = sps;
    const name = workers === 'inline' ? 'inline' : `${workers} worker${workers > 1 ? 's' : ''}`;
    console.log(`${name.padEnd(12)} ${h.end.seconds.toFixed(2).padStart(8)} ${Math.round(sps).toLocaleString('en-US').padStart(11)}   ${one > 0 ? (sps / one).toFixed(2) + '×' : ''}`);
    rows.push({ workload: w.id, system: workers === 'inline' ? `quiver-${kernels}-inline` : `quiver-${kernels}-${workers}w`, samplesPerSecond: sps, seconds: h.end.seconds });
  }
  const two = rows.find((r) => r.workload === w.id && r.system === `quiver-${kernels}-2w`);
  if (w.id === 'W2' && two !== undefined && one > 0) {
    const speedUp = two.samplesPerSecond / one;
    console.log(`2 workers ÷ 1 worker: ${speedUp.toFixed(2)}× (bar ≥ 1.7×: ${speedUp >= 1.7 ? 'met' : 'MISSED'})`);
  }
  const o = await overhead(w, data, 2);
  console.log(`pool overhead at batch ${w.batch}, 2 workers: ${(o.share * 100).toFixed(1)} % of a ${o.stepMs.toFixed(1)} ms step `
    + `(dispatch ${(o.dispatchShare * 100).toFixed(1)} %: a phase round trip of ${o.latencyUs.toFixed(0)} µs; reduce+update phase ${(o.updateShare * 100).toFixed(1)} %)`
    + `${w.batch === 256 ? ` (bar < 5 %: ${o.share < 0.05 ? 'met' : 'MISSED'})` : ''}`);
  console.log(`arena: ${o.arenaMiB.toFixed(1)} MiB; bound 1.1 × params × (2 + 0 optimizer slots + micro-shards) + scratch = ${o.boundMiB.toFixed(1)} MiB `
    + `(${o.arenaMiB <= o.boundMiB ? 'within' : 'OVER'})`);
}
if (json !== undefined) {
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(json, JSON.stringify(rows, null, 2) + '\n');
}
