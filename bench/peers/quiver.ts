/**
 * quiver in the benchmarks: a TrainJob through the public fit(), and the three GEMMs of a dense
 * layer on the TypeScript or the WebAssembly kernels.
 *
 * The time of a run is fit's end event `seconds`: from the first step to the last update,
 * including the copy of each batch into the arena and each step's loss; not the start of the
 * pool or the evaluation fit runs after the last update.
 */
import { Model, fit, hiddenLayer, mlp, sgd, type Dataset, type ModelSpec } from '../../src/index.js';
import { tsKernels, type Kernels, type KernelsName } from '../../src/kernels/kernels.js';
import { loadWasmKernels } from '../../src/kernels/wasm/index.js';
import { WASM_RESERVED_BYTES } from '../../src/workers/arena.js';
import { repeat, warmUpJob, type Evaluation, type GemmShape, type TrainJob, type TrainResult } from './workload.js';

export function jobSpec(job: Pick<TrainJob, 'inputs' | 'hidden'>): ModelSpec {
  return mlp({ inputs: job.inputs, layers: job.hidden.map((units) => hiddenLayer({ units, activation: 'relu' })) });
}

/** The job's initial weights as quiver's flat parameter vector: layer by layer, W (nOut, nIn) then b. */
function jobParams(job: TrainJob): Float32Array {
  const size = job.layers.reduce((s, l) => s + l.weight.length + l.bias.length, 0);
  const params = new Float32Array(size);
  let at = 0;
  for (const l of job.layers) {
    params.set(l.weight, at);
    params.set(l.bias, at + l.weight.length);
    at += l.weight.length + l.bias.length;
  }
  return params;
}

/**
 * Trains `job` with fit(): `data` is the job's rows in file order (fit shuffles them itself, into
 * the order the job holds). `workers` as fit takes it; undefined is fit's default. The warm-up
 * (see warmUpJob: a whole run unless `warmUpRows` says otherwise), then `runs` timed runs, each
 * from the initial weights. With `evaluate`, fit's own final loss and test accuracy.
 */
export async function quiverTrain(job: TrainJob, data: Dataset, kernels: KernelsName, workers: number | 'inline' | undefined,
                                  runs: number, options: { evaluate?: Evaluation; warmUpRows?: number } = {}): Promise<TrainResult> {
  const spec = jobSpec(job);
  const init = jobParams(job);
  const model = new Model(spec, init.slice());
  assertSameLayout(model, init);
  const ev = options.evaluate;
  const validationData: Dataset | undefined = ev === undefined ? undefined : { ...data, rows: ev.rows, features: ev.features, labels: ev.labels };
  const once = async (j: TrainJob, rows: Dataset): Promise<{ seconds: number; epochLoss: number; finalLoss: number; testAccuracy: number | undefined }> => {
    model.params.set(init); // fit leaves the final weights in model.params
    const h = await fit(model, rows, {
      epochs: j.epochs, batchSize: j.batch >= j.rows ? 'full' : j.batch, optimizer: sgd({ learningRate: j.learningRate }),
      kernels, ...(workers !== undefined && { workers }), ...(validationData !== undefined && { validationData }),
    });
    return { seconds: h.end.seconds, epochLoss: h.epochs.at(-1)!.loss, finalLoss: h.end.loss, testAccuracy: h.end.testAccuracy };
  };
  const warm = warmUpJob(job, options.warmUpRows);
  const warmData: Dataset | undefined = warm === undefined ? undefined
    : { ...data, rows: warm.rows, features: data.features.subarray(0, warm.rows * job.inputs), labels: data.labels.subarray(0, warm.rows) };
  const { seconds, last } = await repeat(runs, () => once(job, data), warm && (() => once(warm, warmData!)));
  const where = workers === undefined ? 'fit\'s default threads' : workers === 'inline' ? 'inline (the calling thread)' : `${workers} worker(s)`;
  return {
    seconds, epochLoss: last.epochLoss, note: `${kernels} kernels, ${where}`,
    ...(ev !== undefined && { finalLoss: last.finalLoss, testAccuracy: last.testAccuracy! }),
  };
}

function assertSameLayout(model: Model, init: Float32Array): void {
  if (model.layout.size !== init.length) throw new Error(`the job's weights hold ${init.length} floats, the model ${model.layout.size}`);
}

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
  const note = `${g.name} kernels (${g.variant})`;
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
