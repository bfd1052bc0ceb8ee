/**
 * quiver against its peers, one run, one table: every system trains the same network on the same
 * rows in the same order from the same initial weights (bench/peers/workload.ts), in this
 * process (PyTorch in a child process), one after another on the same machine.
 *
 *   W1    the seed: 800 × 20 → 64 → 1, full batch, 100 epochs (data/seed-*.arrow, data/init-relu.safetensors)
 *   W2    65 536 × 784 → 512 → 512 → 1 (ReLU), batch 256, one epoch (synthetic, make_classification)
 *   W3    16 384 × 64 → 8 × 256 (ReLU) → 1, batch 128, one epoch (synthetic)
 *   GEMM  each product of a dense layer's step alone at 512³, one thread, GFLOP/s, each library
 *         in its own weight layout (tfjs's Dense kernel is the transpose of quiver's and PyTorch's)
 *
 * Systems: quiver-ts-1 (TypeScript kernels, one thread), quiver-wasm-1 (WebAssembly SIMD, one
 * thread), quiver-wasm-all (WebAssembly, os.availableParallelism() workers); tfjs-cpu and
 * tfjs-wasm (@tensorflow/tfjs 4.22); brain.js 1.6.1 on W1; PyTorch where `import torch` works.
 * "One thread" is fit's inline engine on W1 (its default for so small a step) and one worker on
 * W2/W3.
 *
 * Timed: the training steps only (quiver: fit's end.seconds, first step to last update); GEMM:
 * the products alone. --quick shrinks the rows of W2 and W3 (never the shapes), W1's runs (one
 * after the warm-up) and GEMM's repetitions, to stay under 90 s on 2 cores.
 *
 * ```sh
 * npm run bench                          # builds first; the full run takes about 15 minutes on 2 cores
 * npm run bench -- --quick               # under 90 s
 * npm run bench -- --json out/bench.json --workloads W2,GEMM --systems quiver-wasm-1,quiver-wasm-all,pytorch
 * ```
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { Model, Prng, loadDataset, loadWeights, type Dataset } from '../src/index.js';
import { syntheticDataset } from '../tests/helpers/synthetic.js';
import { brainTrain } from './peers/brain.js';
import { jobSpec, quiverTrain } from './peers/quiver.js';
import { describeCapacity, parallelCapacity } from './peers/parallel.js';
import { quiverGemm } from './peers/quiverGemm.js';
import { tfjsGemm, tfjsTrain } from './peers/tfjs.js';
import { torchGemm, torchPython, torchTrain } from './peers/torch.js';
import {
  calibrate, gigaRate, layerInits, machine, median, quiverOrder, thousands, type Evaluation, type GemmShape, type TrainJob, type TrainResult,
} from './peers/workload.js';

const ALL_WORKLOADS = ['W1', 'W2', 'W3', 'GEMM'] as const;
type WorkloadId = typeof ALL_WORKLOADS[number];
const ALL_SYSTEMS = ['quiver-ts-1', 'quiver-wasm-1', 'quiver-wasm-all', 'tfjs-cpu', 'tfjs-wasm', 'brain.js', 'pytorch'] as const;

interface Options { quick: boolean; json: string | undefined; workloads: Set<string>; systems: Set<string> }

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, json: undefined, workloads: new Set(ALL_WORKLOADS), systems: new Set(ALL_SYSTEMS) };
  const list = (flag: string, value: string | undefined, known: readonly string[]): Set<string> => {
    const items = (value ?? '').split(',').filter((s) => s !== '');
    const bad = items.find((s) => !known.includes(s));
    if (items.length === 0 || bad !== undefined) throw new Error(`${flag} takes a comma-separated list of ${known.join(', ')} (got ${value})`);
    return new Set(items);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') o.quick = true;
    else if (a === '--json') {
      o.json = argv[++i];
      if (o.json === undefined) throw new Error('--json needs a file name');
    } else if (a === '--workloads') o.workloads = list(a, argv[++i], ALL_WORKLOADS);
    else if (a === '--systems') o.systems = list(a, argv[++i], ALL_SYSTEMS);
    else throw new Error(`unknown argument ${a} (known: --quick, --json FILE, --workloads ${ALL_WORKLOADS.join(',')}, --systems ${ALL_SYSTEMS.join(',')})`);
  }
  return o;
}

/** One line of the table, and of --json (workload, system, samplesPerSecond, seconds, gflops). */
interface Row {
  workload: WorkloadId | `GEMM-${GemmShape}`;
  system: string;
  /** Median seconds of a run (training) or of one product (GEMM). */
  seconds: number;
  samplesPerSecond: number | null;
  gflops: number;
  /** W1: the final loss over the training rows; W2/W3: the epoch's mean step loss. */
  loss?: number;
  testAccuracy?: number;
  /** Whether the loss lies within the workload's tolerance of quiver-ts-1's (unset where not compared: brain.js). */
  lossAgrees?: boolean;
  note: string;
}

/** The bars of issue 5, for quiver's wasm rows. */
const BARS: Record<string, { text: string; met: (r: Row) => boolean }> = {
  W1: { text: '≤ 0.070 s', met: (r) => r.seconds <= 0.07 },
  W2: { text: '≥ 10,000 samples/s', met: (r) => r.samplesPerSecond! >= 10_000 },
  W3: { text: '≥ 8,000 samples/s', met: (r) => r.samplesPerSecond! >= 8_000 },
  GEMM: { text: '≥ 20 GFLOP/s', met: (r) => r.gflops >= 20 },
};

/** Flops of one row's forward and backward: 2·nIn·nOut for each of x·wᵀ, dyᵀ·x and (past the first layer) dy·w. */
function flopsPerRow(job: Pick<TrainJob, 'inputs' | 'hidden'>): number {
  const sizes = [job.inputs, ...job.hidden, 1];
  let flops = 0;
  for (let i = 0; i + 1 < sizes.length; i++) flops += 2 * sizes[i]! * sizes[i + 1]! * (i === 0 ? 2 : 3);
  return flops;
}

const log = (s: string): void => { process.stderr.write(`  ${s}\n`); };

// ---- the training workloads ----------------------------------------------------------------

interface Workload {
  id: 'W1' | 'W2' | 'W3';
  job: TrainJob;
  /** The rows in file order, for quiver's fit (which shuffles them into the job's order). */
  data: Dataset;
  runs: number;
  /** Untimed warm-up: undefined a whole run, else one epoch over these first rows. */
  warmUpRows: number | undefined;
  evaluate?: Evaluation;
  /** Peers' losses must lie this close to quiver's: absolute (W1) or relative (W2/W3). */
  tolerance: { abs?: number; rel?: number };
  /** Which system is "quiver" in the ratio column: fit's default for this step size. */
  reference: string;
  header: string;
}

const SEED_INIT = 'data/init-relu.safetensors';

async function seedWorkload(quick: boolean): Promise<Workload> {
  const train = await loadDataset('data/seed-train.arrow');
  const test = await loadDataset('data/seed-test.arrow', { classes: train.classes, like: train.plan });
  const model = Model.init(jobSpec({ inputs: 20, hidden: [64] }), 42);
  await loadWeights(model, SEED_INIT);
  const job: TrainJob = {
    workload: 'W1', inputs: 20, hidden: [64], layers: layerInits(model), ...quiverOrder(train, 42, false),
    rows: train.rows, batch: train.rows, epochs: 100, learningRate: 0.01,
  };
  const runs = quick ? 1 : 5;
  return {
    id: 'W1', job, data: train, runs, warmUpRows: undefined, tolerance: { abs: 1e-3 }, reference: 'quiver-wasm-1',
    evaluate: { features: test.features, labels: test.labels, rows: test.rows },
    header: `W1 the seed: ${train.rows} × 20 → 64 → 1, full batch, 100 epochs; ${runs === 1 ? 'one run' : `median of ${runs} runs`} after a warm-up run; `
      + 'loss: final, over the training rows',
  };
}

function syntheticWorkload(id: 'W2' | 'W3', quick: boolean): Workload {
  const w = id === 'W2'
    ? { rows: 65_536, quickRows: 1_024, inputs: 784, hidden: [512, 512], batch: 256 }
    : { rows: 16_384, quickRows: 1_024, inputs: 64, hidden: Array<number>(8).fill(256), batch: 128 };
  const rows = quick ? w.quickRows : w.rows;
  const data = syntheticDataset({ rows, features: w.inputs, informative: Math.min(32, w.inputs), classes: 2, seed: 3 });
  const model = Model.init(jobSpec(w), 42);
  const job: TrainJob = {
    workload: id, inputs: w.inputs, hidden: w.hidden, layers: layerInits(model), ...quiverOrder(data, 42, true),
    rows, batch: w.batch, epochs: 1, learningRate: 0.01,
  };
  const shape = `${w.inputs} → ${id === 'W2' ? '512 → 512' : '8 × 256'} (ReLU) → 1, batch ${w.batch}, one epoch`;
  return {
    id, job, data, runs: 1, warmUpRows: 2 * w.batch, tolerance: { rel: 1e-2 }, reference: 'quiver-wasm-all',
    header: `${id}: ${thousands(rows)} × ${shape}${quick ? ` (--quick: ${thousands(rows)} of ${thousands(w.rows)} rows)` : ''}; `
      + `one run after a ${2 * w.batch}-row warm-up; loss: the epoch's mean step loss`,
  };
}

async function runWorkload(w: Workload, o: Options, rows: Row[]): Promise<void> {
  const all = availableParallelism();
  const common = { warmUpRows: w.warmUpRows, ...(w.evaluate !== undefined && { evaluate: w.evaluate }) };
  const oneThread = w.id === 'W1' ? 'inline' as const : 1;
  const systems: [string, () => Promise<TrainResult | string>][] = [
    ['quiver-ts-1', () => quiverTrain(w.job, w.data, 'ts', oneThread, w.runs, common)],
    ['quiver-wasm-1', () => quiverTrain(w.job, w.data, 'wasm', oneThread, w.runs, common)],
    ['quiver-wasm-all', () => quiverTrain(w.job, w.data, 'wasm', all, w.runs, common)],
    ['tfjs-cpu', () => tfjsTrain('cpu', w.job, w.runs, w.id === 'W1' ? common : { ...common, warmUpRows: w.job.batch })],
    ['tfjs-wasm', () => tfjsTrain('wasm', w.job, w.runs, common)],
    ...(w.id === 'W1' ? [['brain.js', () => brainTrain(w.job, w.runs, w.evaluate)] as [string, () => Promise<TrainResult>]] : []),
    ['pytorch', async () => torchTrain(w.job, w.runs, common)],
  ];
  const samples = w.job.rows * w.job.epochs;
  const flops = flopsPerRow(w.job) * samples;
  for (const [system, train] of systems) {
    if (!o.systems.has(system)) continue;
    const started = performance.now();
    const r = await train();
    if (typeof r === 'string') {
      log(`${w.id} ${system}: ${r}`);
      continue;
    }
    const seconds = median(r.seconds);
    const loss = w.id === 'W1' ? r.finalLoss! : r.epochLoss;
    rows.push({
      workload: w.id, system, seconds, samplesPerSecond: samples / seconds, gflops: flops / seconds / 1e9, loss,
      ...(r.testAccuracy !== undefined && { testAccuracy: r.testAccuracy }), note: r.note,
    });
    log(`${w.id} ${system}: ${seconds.toFixed(3)} s, ${thousands(samples / seconds)} samples/s, loss ${loss.toFixed(6)} `
      + `(${((performance.now() - started) / 1000).toFixed(1)} s wall)`);
  }
  // The same computation: each peer's loss against quiver's reference kernels' (quiver-ts-1, else the first quiver row).
  const mine = rows.filter((r) => r.workload === w.id);
  const base = mine.find((r) => r.system === 'quiver-ts-1') ?? mine.find((r) => r.system.startsWith('quiver'));
  for (const r of mine) {
    if (base === undefined || r.system === 'brain.js' || r.loss === undefined) continue;
    const d = Math.abs(r.loss - base.loss!);
    r.lossAgrees = d <= (w.tolerance.abs ?? w.tolerance.rel! * Math.max(1, Math.abs(base.loss!)));
  }
}

// ---- GEMM ----------------------------------------------------------------------------------

const GEMM_SHAPES: [GemmShape, string][] = [['forward', 'x·wᵀ'], ['inputGrad', 'dy·w'], ['weightGrad', 'dyᵀ·x']];

async function runGemm(o: Options, rows: Row[]): Promise<void> {
  const [m, n, k] = [512, 512, 512];
  const flops = 2 * m * n * k;
  const runs = o.quick ? 3 : 5;
  const minSeconds = o.quick ? 0.1 : 0.2;
  const rng = new Prng(7);
  const rand = (count: number): Float32Array => Float32Array.from({ length: count }, () => rng.uniform(-1, 1));
  const torch = o.systems.has('pytorch') ? torchGemm(m, n, k, runs, minSeconds) : undefined;
  if (typeof torch === 'string') log(`GEMM pytorch: ${torch}`);
  interface Cell { shape: GemmShape; system: string; run: () => void; note: string; reps: number; rates: number[] }
  const cells: Cell[] = [];
  const disposers: (() => void)[] = [];
  for (const [shape] of GEMM_SHAPES) {
    for (const kernels of ['ts', 'wasm'] as const) {
      if (!o.systems.has(`quiver-${kernels}-1`)) continue;
      const g = await quiverGemm(kernels, shape, m, n, k, rand);
      cells.push({ shape, system: `quiver-${kernels}`, run: g.run, note: g.note, reps: 0, rates: [] });
    }
    if (o.systems.has('tfjs-wasm')) {
      const g = await tfjsGemm(shape, m, n, k, rand);
      cells.push({ shape, system: 'tfjs-wasm', run: g.run, note: `${g.note}, tf.matMul`, reps: 0, rates: [] });
      disposers.push(g.dispose);
    }
  }
  for (const c of cells) c.reps = calibrate(c.run, minSeconds);
  // Round-robin: each round times every cell once, so a noisy moment on a shared machine costs
  // one run of several cells, which the median drops, rather than every run of one cell.
  for (let r = 0; r < runs; r++) for (const c of cells) c.rates.push(gigaRate(c.run, c.reps, flops));
  disposers.forEach((d) => d());
  for (const [shape] of GEMM_SHAPES) {
    const add = (system: string, gflops: number, note: string): void => {
      rows.push({ workload: `GEMM-${shape}`, system, seconds: flops / gflops / 1e9, samplesPerSecond: null, gflops, note });
      log(`GEMM ${shape} ${system}: ${gflops.toFixed(2)} GFLOP/s`);
    };
    for (const c of cells.filter((x) => x.shape === shape)) add(c.system, median(c.rates), c.note);
    if (torch !== undefined && typeof torch !== 'string') add('pytorch', torch.gflops[shape], torch.note);
  }
}

// ---- the table -----------------------------------------------------------------------------

function printTable(rows: Row[], headers: string[], references: Map<string, string>): void {
  const cell = (s: string, n: number): string => s.padStart(n);
  console.log(`quiver benchmark: ${machine()}`);
  for (const h of headers) console.log(`  ${h}`);
  console.log('');
  console.log('workload          system             seconds    samples/s   GFLOP/s   vs quiver      loss   bar (issue 5)');
  let last = '';
  for (const r of rows) {
    const family = r.workload.startsWith('GEMM') ? 'GEMM' : r.workload;
    const refName = references.get(family)!;
    const ref = rows.find((x) => x.workload === r.workload && x.system === refName);
    const ratio = ref === undefined ? '' : `${(r.gflops / ref.gflops).toFixed(2)}×`;
    const bar = BARS[family]!;
    // The bars are for quiver's default (on W1, inline) and, on W2/W3, for one wasm worker too.
    const barred = r.system === refName || (r.system === 'quiver-wasm-1' && family !== 'W1');
    const barCell = barred ? `${bar.text}: ${bar.met(r) ? 'met' : 'MISSED'}` : '';
    const loss = r.loss === undefined ? '' : r.loss.toFixed(5) + (r.system === 'brain.js' ? '*' : r.lossAgrees === false ? '!' : ' ');
    const name = r.workload.startsWith('GEMM') ? `GEMM ${GEMM_SHAPES.find(([s]) => `GEMM-${s}` === r.workload)![1]}` : r.workload;
    console.log((name === last ? '' : name).padEnd(18) + r.system.padEnd(16)
      + cell(r.seconds < 0.1 ? r.seconds.toFixed(4) : r.seconds.toFixed(3), 10)
      + cell(r.samplesPerSecond === null ? '' : thousands(r.samplesPerSecond), 13)
      + cell(r.gflops.toFixed(2), 10) + cell(ratio, 12) + cell(loss, 11) + '   ' + barCell);
    last = name;
  }
  console.log('');
  console.log(`  vs quiver: this row's speed ÷ quiver's default's (${[...references].map(([w, s]) => `${w} ${s}`).join(', ')}); below 1 is slower than quiver.`);
  console.log('  GFLOP/s of training: 2·nIn·nOut flops per weight and row for each of x·wᵀ, dyᵀ·x and (past the first layer) dy·w.');
  console.log('  loss: the same network from the same weights on the same batches; ! differs from quiver-ts-1\'s by more than '
    + '1e-3 (W1) or 1 % (W2, W3); * brain.js cannot train this network (see its note), its loss is not compared.');
  // Each system's notes, with the workloads they apply to where they differ between workloads.
  const notes = new Map<string, Map<string, string[]>>();
  for (const r of rows) {
    const bySystem = notes.get(r.system) ?? notes.set(r.system, new Map()).get(r.system)!;
    const where = r.workload.startsWith('GEMM') ? 'GEMM' : r.workload;
    const list = bySystem.get(r.note) ?? bySystem.set(r.note, []).get(r.note)!;
    if (!list.includes(where)) list.push(where);
  }
  for (const [system, bySystem] of notes) {
    const text = bySystem.size === 1 ? [...bySystem.keys()][0]! : [...bySystem].map(([note, ws]) => `${ws.join(', ')}: ${note}`).join('; ');
    console.log(`  ${system}: ${text}`);
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const rows: Row[] = [];
  const headers: string[] = [];
  const references = new Map<string, string>();
  const havePytorch = torchPython() !== undefined;
  const started = performance.now();
  // The machine may be shared, or its cores SMT siblings: a busy core slows the multi-threaded
  // rows first, and the capacity check says how much parallel arithmetic there was to be had.
  const loadBefore = loadavg()[0]!;
  const all = availableParallelism();
  const checkSeconds = o.quick ? 0.5 : 1;
  const capacity = all > 1 ? await parallelCapacity(all, checkSeconds) : undefined;
  if (capacity !== undefined) log(describeCapacity(capacity));
  for (const id of ['W1', 'W2', 'W3'] as const) {
    if (!o.workloads.has(id)) continue;
    const w = id === 'W1' ? await seedWorkload(o.quick) : syntheticWorkload(id, o.quick);
    headers.push(w.header);
    references.set(id, w.reference);
    log(`${w.header}`);
    await runWorkload(w, o, rows);
  }
  if (o.workloads.has('GEMM')) {
    headers.push(`GEMM: 512³ (m = n = k = 512), one thread, median of ${o.quick ? 3 : 5} runs of ≥ ${o.quick ? 0.1 : 0.2} s (taken round-robin); `
      + 'each library in its own weight layout: quiver and PyTorch (nOut, nIn), tfjs (nIn, nOut), so tfjs\'s forward is x·kernel, '
      + 'its input grad dy·kernelᵀ, its weight grad xᵀ·dy');
    references.set('GEMM', 'quiver-wasm');
    await runGemm(o, rows);
  }
  const capacityAfter = all > 1 && o.workloads.size > 1 ? await parallelCapacity(all, checkSeconds) : undefined;
  if (capacity !== undefined) headers.push(`machine check before: ${describeCapacity(capacity)}`);
  if (capacityAfter !== undefined) headers.push(`machine check after: ${describeCapacity(capacityAfter)}`);
  printTable(rows, headers, references);
  if (!havePytorch) console.log('PyTorch: not installed');
  console.log(`  the whole run: ${((performance.now() - started) / 1000).toFixed(0)} s; 1-minute load average ${loadBefore.toFixed(2)} before, `
    + `${loadavg()[0]!.toFixed(2)} after, on ${availableParallelism()} cores (other processes make it noisier)`);
  if (o.json !== undefined) {
    const out = rows.map((r) => ({ workload: r.workload, system: r.system, samplesPerSecond: r.samplesPerSecond, seconds: r.seconds, gflops: r.gflops }));
    mkdirSync(dirname(o.json), { recursive: true });
    writeFileSync(o.json, JSON.stringify(out, null, 2) + '\n');
  }
  if (rows.some((r) => r.lossAgrees === false)) process.exitCode = 1;
}

await main().catch((e: unknown) => {
  console.error(`bench: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 2;
});
