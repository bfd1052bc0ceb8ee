/**
 * The seed workload, timed for quiver, TensorFlow.js (cpu and wasm backends) and, where it is
 * installed, PyTorch: 800 rows × 20 features → Dense 64 (relu) → Dense 1 (sigmoid), binary
 * cross-entropy, plain SGD at learning rate 0.01, one full-batch step per epoch, 100 epochs,
 * float32, every system from the same initial weights (data/init-relu.safetensors).
 *
 * Timed: the 100 training steps only, in-process (no start-up, data loading, model building or
 * backend init). Each system gets one warm-up run, then the median of N timed runs is reported.
 * Each peer's final loss must lie within 1e-3 of quiver's, so the same computation is compared.
 *
 * ```sh
 * node --import tsx bench/seed.ts                 # median of 5 runs
 * node --import tsx bench/seed.ts --quick         # median of 2
 * node --import tsx bench/seed.ts --runs 9 --json out/seed.json --tfjs-mode fit
 * ```
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { Model, decodeSafetensors, fit, hiddenLayer, loadDataset, loadWeights, mlp, sgd, type Dataset } from '../src/index.js';

const TRAIN = 'data/seed-train.arrow';
const TEST = 'data/seed-test.arrow';
const INIT = 'data/init-relu.safetensors';
const EPOCHS = 100;
const LEARNING_RATE = 0.01;
/** Both start from identical weights, so a peer computing the same thing lands this close. */
const LOSS_TOLERANCE = 1e-3;

/**
 * How tfjs trains. 'loop': a linear output layer and tf.losses.sigmoidCrossEntropy on the
 * logits, one optimizer.minimize(…, true) per epoch and a dataSync() of its loss (the epoch loss
 * quiver reports too). 'fit': a sigmoid output layer, loss 'binaryCrossentropy',
 * model.fit({ batchSize: 800, epochs: 100, shuffle: false }). 'loop' was the faster on both
 * backends here (bench/README.md), so it is the default.
 */
type TfjsMode = 'loop' | 'fit';

interface Options { runs: number; json: string | undefined; tfjsMode: TfjsMode }

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
  const o: Options = { runs: 5, json: undefined, tfjsMode: 'loop' };
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
    } else throw new Error(`unknown argument ${a} (known: --runs N, --quick, --json FILE, --tfjs-mode loop|fit)`);
  }
  return o;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** One untimed warm-up run, then `runs` timed ones; returns each run's seconds and the last run. */
async function repeat<T extends { seconds: number }>(runs: number, once: () => Promise<T>): Promise<{ seconds: number[]; last: T }> {
  let last = await once();
  const seconds: number[] = [];
  for (let r = 0; r < runs; r++) {
    last = await once();
    seconds.push(last.seconds);
  }
  return { seconds, last };
}

// ---- quiver --------------------------------------------------------------------------------

async function benchQuiver(train: Dataset, test: Dataset, runs: number): Promise<Result> {
  const model = Model.init(mlp({ inputs: 20, layers: [hiddenLayer({ units: 64, activation: 'relu' })] }), 42);
  const once = async (): Promise<{ seconds: number; loss: number; acc: number }> => {
    await loadWeights(model, INIT); // fit leaves the final weights in model.params
    const h = await fit(model, train, { epochs: EPOCHS, batchSize: 'full', optimizer: sgd({ learningRate: LEARNING_RATE }), validationData: test });
    // end.seconds runs from the first step to the last update: the final evaluation is outside it.
    return { seconds: h.end.seconds, loss: h.end.loss, acc: h.end.testAccuracy! };
  };
  const { seconds, last } = await repeat(runs, once);
  return { system: 'quiver (ts)', id: 'quiver-ts', seconds, finalLoss: last.loss, testAccuracy: last.acc };
}

// ---- TensorFlow.js ------------------------------------------------------------------------

/** The initial weights in tfjs's orientation: Dense kernels are (nIn, nOut), the transpose of the file's. */
function tfjsInitialWeights(): tf.Tensor[] {
  const { tensors } = decodeSafetensors(readFileSync(INIT), INIT);
  const get = (name: string): { shape: number[]; data: Float32Array } => {
    const t = tensors.get(name);
    if (t === undefined) throw new Error(`${INIT}: no tensor ${name}`);
    return { shape: t.shape, data: Float32Array.from(t.data) };
  };
  const kernel = (name: string): tf.Tensor => {
    const { shape: [nOut, nIn], data } = get(name) as { shape: [number, number]; data: Float32Array };
    return tf.tidy(() => tf.tensor2d(data, [nOut, nIn]).transpose());
  };
  return [kernel('layers.0.weight'), tf.tensor1d(get('layers.0.bias').data),
          kernel('layers.1.weight'), tf.tensor1d(get('layers.1.bias').data)];
}

async function benchTfjs(backend: 'cpu' | 'wasm', train: Dataset, test: Dataset, runs: number, mode: TfjsMode): Promise<Result> {
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} did not initialise`);
  await tf.ready();
  const init = tfjsInitialWeights();
  const xs = tf.tensor2d(train.features, [train.rows, 20]);
  const ys = tf.tensor2d(train.labels, [train.rows, 1]);
  const testXs = tf.tensor2d(test.features, [test.rows, 20]);
  const testYs = tf.tensor2d(test.labels, [test.rows, 1]);
  const output = mode === 'loop' ? 'linear' : 'sigmoid';
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [20], units: 64, activation: 'relu' }),
      tf.layers.dense({ units: 1, activation: output }),
    ],
  });
  const probabilities = (x: tf.Tensor): tf.Tensor => {
    const y = model.predict(x) as tf.Tensor;
    return output === 'linear' ? tf.sigmoid(y) : y;
  };
  const once = async (): Promise<{ seconds: number }> => {
    model.setWeights(init);
    const optimizer = tf.train.sgd(LEARNING_RATE);
    if (mode === 'fit') {
      model.compile({ optimizer, loss: 'binaryCrossentropy' });
      const started = performance.now();
      await model.fit(xs, ys, { batchSize: train.rows, epochs: EPOCHS, shuffle: false, verbose: 0 });
      return { seconds: (performance.now() - started) / 1000 };
    }
    const started = performance.now();
    for (let epoch = 0; epoch < EPOCHS; epoch++) {
      const loss = optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor), true)!;
      loss.dataSync();
      loss.dispose();
    }
    const seconds = (performance.now() - started) / 1000;
    optimizer.dispose();
    return { seconds };
  };
  const { seconds } = await repeat(runs, once);
  // Both measured with tfjs's own ops on the final weights, outside the timing.
  const [finalLoss, testAccuracy] = tf.tidy(() => [
    tf.metrics.binaryCrossentropy(ys, probabilities(xs)).mean().dataSync()[0]!,
    tf.metrics.binaryAccuracy(testYs, probabilities(testXs)).mean().dataSync()[0]!,
  ]);
  const threads = backend === 'wasm'
    ? `, ${getThreadsCount()} thread(s), simd ${String(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))}`
      + `, threads supported ${String(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'))}`
    : '';
  const note = `tfjs ${tf.version.tfjs}, ${mode}${threads}`;
  tf.dispose([xs, ys, testXs, testYs, ...init]);
  model.dispose();
  return { system: `tfjs-${backend}`, id: `tfjs-${backend}`, seconds, finalLoss: finalLoss!, testAccuracy: testAccuracy!, note };
}

/** The wasm binaries are read from the installed package, never fetched. */
function useLocalWasmBinaries(): void {
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
  setWasmPaths(dirname(entry) + '/');
}

// ---- PyTorch -------------------------------------------------------------------------------

/**
 * The same run in PyTorch: Linear 20→64, ReLU, Linear 64→1, BCEWithLogitsLoss, torch.optim.SGD.
 * stdin: one JSON line {rows, testRows, inputs, runs, epochs, lr, init}, then the float32 bytes of
 * train features (rows, inputs), train labels (rows), test features, test labels. stdout: one
 * JSON line.
 */
const TORCH_SCRIPT = String.raw`
import array, json, os, statistics, struct, sys, time
import torch

cfg = json.loads(sys.stdin.buffer.readline())
raw = sys.stdin.buffer.read()

def floats(data, shape):
    if hasattr(torch, "frombuffer"):
        return torch.frombuffer(bytearray(data), dtype=torch.float32).reshape(shape).clone()
    a = array.array("f")
    a.frombytes(data)
    return torch.tensor(a.tolist(), dtype=torch.float32).reshape(shape)

def load_init(path):
    try:
        from safetensors.torch import load_file
        return {k: v.float() for k, v in load_file(path).items()}, "safetensors"
    except ImportError:
        pass
    # By hand: 8-byte little-endian header length, JSON header, raw little-endian tensor bytes.
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise SystemExit(name + ": dtype " + e["dtype"] + ", expected F32")
        begin, end = e["data_offsets"]
        out[name] = floats(blob[8 + n + begin:8 + n + end], e["shape"])
    return out, "parsed by hand"

rows, test_rows, k = cfg["rows"], cfg["testRows"], cfg["inputs"]
at = 0
def take(count, shape):
    global at
    t = floats(raw[at:at + 4 * count], shape)
    at += 4 * count
    return t
x = take(rows * k, (rows, k))
y = take(rows, (rows, 1))
tx = take(test_rows * k, (test_rows, k))
ty = take(test_rows, (test_rows, 1))

torch.set_num_threads(os.cpu_count() or 1)
init, how = load_init(cfg["init"])
model = torch.nn.Sequential(torch.nn.Linear(k, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
loss_fn = torch.nn.BCEWithLogitsLoss()

def once():
    with torch.no_grad():
        model[0].weight.copy_(init["layers.0.weight"]); model[0].bias.copy_(init["layers.0.bias"])
        model[2].weight.copy_(init["layers.1.weight"]); model[2].bias.copy_(init["layers.1.bias"])
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"])
    started = time.perf_counter()
    for _ in range(cfg["epochs"]):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
    return time.perf_counter() - started

once()  # warm-up
seconds = [once() for _ in range(cfg["runs"])]
with torch.no_grad():
    final_loss = loss_fn(model(x), y).item()
    test_acc = ((model(tx) > 0).float() == ty).float().mean().item()
print(json.dumps({"seconds": seconds, "finalLoss": final_loss, "testAccuracy": test_acc,
                  "threads": torch.get_num_threads(), "version": torch.__version__, "init": how}))
`;

/**
 * The first Python that imports torch: $QUIVER_PYTHON, then `python3` on the PATH, then Debian's
 * /usr/bin/python3 (where `apt-get install python3-torch` puts it, which a pyenv python3 does
 * not see).
 */
export function torchPython(): string | undefined {
  const candidates = [process.env['QUIVER_PYTHON'], 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  return candidates.find((py) => {
    const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    return probe.error === undefined && probe.status === 0;
  });
}

function benchTorch(train: Dataset, test: Dataset, runs: number): Result | string {
  const python = torchPython();
  if (python === undefined) return 'PyTorch: not installed';
  const cfg = { rows: train.rows, testRows: test.rows, inputs: 20, runs, epochs: EPOCHS, lr: LEARNING_RATE, init: INIT };
  const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const input = Buffer.concat([Buffer.from(JSON.stringify(cfg) + '\n'), bytes(train.features), bytes(train.labels),
                               bytes(test.features), bytes(test.labels)]);
  const run = spawnSync(python, ['-c', TORCH_SCRIPT], { input, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (run.status !== 0) return `PyTorch: failed (exit ${run.status}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as
    { seconds: number[]; finalLoss: number; testAccuracy: number; threads: number; version: string; init: string };
  return { system: 'pytorch', id: 'pytorch', seconds: r.seconds, finalLoss: r.finalLoss, testAccuracy: r.testAccuracy,
           note: `torch ${r.version}, ${r.threads} thread(s), init ${r.init}, separate process` };
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
  console.log(`  machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown cpu'}, node ${process.version}`);
  return same;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const train = await loadDataset(TRAIN);
  const test = await loadDataset(TEST, { classes: train.classes, like: train.plan });
  useLocalWasmBinaries();
  const results: Result[] = [await benchQuiver(train, test, o.runs)];
  results.push(await benchTfjs('cpu', train, test, o.runs, o.tfjsMode));
  results.push(await benchTfjs('wasm', train, test, o.runs, o.tfjsMode));
  const torch = benchTorch(train, test, o.runs);
  if (typeof torch !== 'string') results.push(torch);
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
