/**
 * The seed workload, timed for quiver, TensorFlow.js (cpu and wasm backends) and, where it is
 * installed, PyTorch: 800 rows × 20 features → Dense 64 (relu) → Dense 1 (sigmoid), binary
 * cross-entropy, plain SGD at learning rate 0.01, one full-batch step per epoch, 100 epochs,
 * float32, every system from the same initial weights (data/init-relu.safetensors).
 *
 * Timed: the 100 training steps only, in-process (no start-up, data loading, model building or
 * backend init). Each system gets one warm-up run, then the median of N timed runs is reported.
 * Each peer's final loss must lie within 1e-3 of quiver's, so the same computation is compared.
 * The peers' code is shared with bench/bench.ts, in bench/peers/.
 *
 * ```sh
 * node --import tsx bench/seed.ts                 # median of 5 runs
 * node --import tsx bench/seed.ts --quick         # median of 2
 * node --import tsx bench/seed.ts --runs 9 --json out/seed.json --tfjs-mode fit --kernels ts
 * ```
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Model, loadDataset, loadWeights, type Dataset } from '../src/index.js';
import type { KernelsName } from '../src/kernels/kernels.js';
import { jobSpec, quiverTrain } from './peers/quiver.js';
import { tfjsTrain, type TfjsMode } from './peers/tfjs.js';
import { torchTrain } from './peers/torch.js';
import { layerInits, machine, median, type Evaluation, type TrainJob } from './peers/workload.js';

const TRAIN = 'data/seed-train.arrow';
const TEST = 'data/seed-test.arrow';
const INIT = 'data/init-relu.safetensors';
const EPOCHS = 100;
const LEARNING_RATE = 0.01;
/** Both start from identical weights, so a peer computing the same thing lands this close. */
const LOSS_TOLERANCE = 1e-3;

interface Options { runs: number; json: string | undefined; tfjsMode: TfjsMode; kernels: KernelsName }

interface Result {
  system: string;
  /** The name in --json rows. */
  id: string;
  /** Seconds of each timed run, warm-up excluded. */
  seconds: number[];
  /** Mean loss over the training rows with the final weights. */
  finalLoss: number;
  testAccuracy: number;
  note?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 5, json: undefined, tfjsMode: 'loop', kernels: 'wasm' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.runs = 2;
    else if (a === '--runs') {
      const v = value();
      o.runs = Number(v);
      if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error(`--runs must be a positive integer (got ${v})`);
    } else if (a === '--json') o.json = value();
    else if (a === '--tfjs-mode') {
      const v = value();
      if (v !== 'loop' && v !== 'fit') throw new Error(`--tfjs-mode must be loop or fit (got ${v})`);
      o.tfjsMode = v;
    } else if (a === '--kernels') {
      const v = value();
      if (v !== 'ts' && v !== 'wasm') throw new Error(`--kernels must be ts or wasm (got ${v})`);
      o.kernels = v;
    } else throw new Error(`unknown argument ${a} (known: --runs N, --quick, --json FILE, --tfjs-mode loop|fit, --kernels ts|wasm)`);
  }
  return o;
}

/** The seed run for every system: the training rows in file order (a full batch), the weights of INIT. */
async function seedJob(train: Dataset): Promise<TrainJob> {
  const model = Model.init(jobSpec({ inputs: 20, hidden: [64] }), 42);
  await loadWeights(model, INIT);
  return {
    workload: 'W1', inputs: 20, hidden: [64], layers: layerInits(model), features: train.features, labels: train.labels,
    rows: train.rows, batch: train.rows, epochs: EPOCHS, learningRate: LEARNING_RATE,
  };
}

// ---- the table -----------------------------------------------------------------------------

function printTable(results: Result[], runs: number): boolean {
  const quiver = results[0]!;
  const base = median(quiver.seconds);
  const samples = 800 * EPOCHS;
  const pad = (s: string, n: number): string => s.padStart(n);
  console.log(`seed workload: 800 × 20 → 64 → 1, full batch, ${EPOCHS} epochs (median of ${runs} runs, same machine, one process)`);
  console.log(`system          seconds   samples/s   vs quiver   final loss   test acc   runs (s)`);
  let same = true;
  for (const r of results) {
    const s = median(r.seconds);
    const ok = Math.abs(r.finalLoss - quiver.finalLoss) <= LOSS_TOLERANCE;
    same &&= ok;
    console.log(r.system.padEnd(14) + pad(s.toFixed(3), 9) + pad(Math.round(samples / s).toLocaleString('en-US'), 12)
      + pad(`${(s / base).toFixed(2)}×`, 12) + pad(r.finalLoss.toFixed(4), 13) + pad(r.testAccuracy.toFixed(3), 11)
      + '   ' + r.seconds.map((x) => x.toFixed(3)).join(' ') + (ok ? '' : `   LOSS DIFFERS from quiver's by more than ${LOSS_TOLERANCE}`));
  }
  for (const r of results) if (r.note !== undefined) console.log(`  ${r.system}: ${r.note}`);
  console.log(`  final losses: ${results.map((r) => `${r.system} ${r.finalLoss.toFixed(6)}`).join(', ')}`);
  console.log(`  machine: ${machine()}`);
  return same;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const train = await loadDataset(TRAIN);
  const test = await loadDataset(TEST, { classes: train.classes, like: train.plan });
  const job = await seedJob(train);
  const evaluate: Evaluation = { features: test.features, labels: test.labels, rows: test.rows };
  const results: Result[] = [];
  const add = (system: string, id: string, r: Awaited<ReturnType<typeof tfjsTrain>>): void => {
    results.push({ system, id, seconds: r.seconds, finalLoss: r.finalLoss!, testAccuracy: r.testAccuracy!, note: r.note });
  };
  // fit's default for so small a step: inline, on the calling thread.
  add(`quiver (${o.kernels})`, `quiver-${o.kernels}`, await quiverTrain(job, train, o.kernels, undefined, o.runs, { evaluate }));
  add('tfjs-cpu', 'tfjs-cpu', await tfjsTrain('cpu', job, o.runs, { mode: o.tfjsMode, evaluate }));
  add('tfjs-wasm', 'tfjs-wasm', await tfjsTrain('wasm', job, o.runs, { mode: o.tfjsMode, evaluate }));
  const torch = torchTrain(job, o.runs, { evaluate });
  if (typeof torch !== 'string') add('pytorch', 'pytorch', torch);
  const same = printTable(results, o.runs);
  if (typeof torch === 'string') console.log(torch);
  if (o.json !== undefined) {
    const rows = results.map((r) => {
      const seconds = median(r.seconds);
      return { workload: 'W1', system: r.id, samplesPerSecond: (800 * EPOCHS) / seconds, seconds };
    });
    mkdirSync(dirname(o.json), { recursive: true });
    writeFileSync(o.json, JSON.stringify(rows, null, 2) + '\n');
  }
  if (!same) process.exitCode = 1;
}

await main().catch((e: unknown) => {
  console.error(`bench/seed: ${(e as Error).message}`);
  process.exitCode = 2;
});
