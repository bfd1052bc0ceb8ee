/**
 * TensorFlow.js as a benchmark peer: a TrainJob on the `cpu` (pure JS) or `wasm` (XNNPACK)
 * backend, and the three GEMMs of a dense layer through tf.matMul.
 *
 * The wasm binaries are read from the installed @tensorflow/tfjs-backend-wasm, never fetched. In
 * Node that backend reports SIMD but no multithreading, so it runs on one thread.
 *
 * Training, mode 'loop' (the default, the faster in bench/README.md's measurements): a
 * tf.sequential of Dense layers (ReLU, then a linear output), tf.losses.sigmoidCrossEntropy on
 * the logits, and per step optimizer.minimize(() => loss, true) followed by a dataSync() of the
 * loss, the step loss quiver reports too. Mode 'fit': a sigmoid output and model.fit with loss
 * 'binaryCrossentropy', shuffle off. Each step's batch tensor is made from the rows inside the
 * timing, as quiver copies each batch into its arena inside its own.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { repeat, warmUpJob, type Evaluation, type GemmShape, type LayerInit, type TrainJob, type TrainResult } from './workload.js';

export type TfjsBackend = 'cpu' | 'wasm';
export type TfjsMode = 'loop' | 'fit';

let wasmPathsSet = false;

/** Switches tfjs to `backend`; a one-line note of its version and threads. */
export async function useTfjsBackend(backend: TfjsBackend): Promise<string> {
  if (backend === 'wasm' && !wasmPathsSet) {
    const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
    setWasmPaths(dirname(entry) + '/');
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} did not initialise`);
  await tf.ready();
  const threads = backend === 'wasm'
    ? `, ${getThreadsCount()} thread(s), simd ${String(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))}`
      + `, threads supported ${String(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'))}`
    : '';
  return `tfjs ${tf.version.tfjs}${threads}`;
}

/** tfjs's Dense kernels are (nIn, nOut): the transpose of the job's (nOut, nIn). */
function tfjsWeights(layers: LayerInit[]): tf.Tensor[] {
  return layers.flatMap((l) => [
    tf.tidy(() => tf.tensor2d(l.weight, [l.nOut, l.nIn]).transpose()),
    tf.tensor1d(l.bias),
  ]);
}

/**
 * Trains `job` on `backend`: the warm-up (see warmUpJob: a whole run unless `warmUpRows` says
 * otherwise), then `runs` timed runs, each from the initial weights. With `evaluate`, the final
 * loss over the training rows and the accuracy on `evaluate` are computed after the last run,
 * outside the timing.
 */
export async function tfjsTrain(backend: TfjsBackend, job: TrainJob, runs: number,
                                options: { mode?: TfjsMode; evaluate?: Evaluation; warmUpRows?: number } = {}): Promise<TrainResult> {
  const backendNote = await useTfjsBackend(backend);
  const mode = options.mode ?? 'loop';
  const init = tfjsWeights(job.layers);
  const output = mode === 'loop' ? 'linear' : 'sigmoid';
  const model = tf.sequential({
    layers: [
      ...job.hidden.map((units, i) => tf.layers.dense({ ...(i === 0 && { inputShape: [job.inputs] }), units, activation: 'relu' })),
      tf.layers.dense({ ...(job.hidden.length === 0 && { inputShape: [job.inputs] }), units: 1, activation: output }),
    ],
  });
  const once = async (j: TrainJob): Promise<{ seconds: number; epochLoss: number }> => {
    const batchOf = (start: number, rows: number): [tf.Tensor2D, tf.Tensor2D] => [
      tf.tensor2d(j.features.subarray(start * j.inputs, (start + rows) * j.inputs), [rows, j.inputs]),
      tf.tensor2d(j.labels.subarray(start, start + rows), [rows, 1]),
    ];
    model.setWeights(init);
    const optimizer = tf.train.sgd(j.learningRate);
    if (mode === 'fit') {
      model.compile({ optimizer, loss: 'binaryCrossentropy' });
      const started = performance.now();
      const [xs, ys] = batchOf(0, j.rows);
      const h = await model.fit(xs, ys, { batchSize: j.batch, epochs: j.epochs, shuffle: false, verbose: 0 });
      const seconds = (performance.now() - started) / 1000;
      tf.dispose([xs, ys]);
      return { seconds, epochLoss: h.history['loss']!.at(-1) as number };
    }
    let epochLoss = 0;
    const started = performance.now();
    for (let epoch = 0; epoch < j.epochs; epoch++) {
      let sum = 0;
      for (let start = 0; start < j.rows; start += j.batch) {
        const rows = Math.min(j.batch, j.rows - start);
        const [xs, ys] = batchOf(start, rows);
        const loss = optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor), true)!;
        sum += loss.dataSync()[0]! * rows;
        tf.dispose([loss, xs, ys]);
      }
      epochLoss = sum / j.rows;
    }
    const seconds = (performance.now() - started) / 1000;
    optimizer.dispose();
    return { seconds, epochLoss };
  };
  const warm = warmUpJob(job, options.warmUpRows);
  const { seconds, last } = await repeat(runs, () => once(job), warm && (() => once(warm)));
  const result: TrainResult = { seconds, epochLoss: last.epochLoss, note: `${backendNote}, ${mode}` };
  const ev = options.evaluate;
  if (ev !== undefined) {
    const probabilities = (x: tf.Tensor): tf.Tensor => {
      const y = model.predict(x) as tf.Tensor;
      return output === 'linear' ? tf.sigmoid(y) : y;
    };
    tf.tidy(() => {
      const xs = tf.tensor2d(job.features, [job.rows, job.inputs]);
      const ys = tf.tensor2d(job.labels, [job.rows, 1]);
      result.finalLoss = tf.metrics.binaryCrossentropy(ys, probabilities(xs)).mean().dataSync()[0]!;
      const tx = tf.tensor2d(ev.features, [ev.rows, job.inputs]);
      const ty = tf.tensor2d(ev.labels, [ev.rows, 1]);
      result.testAccuracy = tf.metrics.binaryAccuracy(ty, probabilities(tx)).mean().dataSync()[0]!;
    });
  }
  tf.dispose(init);
  model.dispose();
  return result;
}

/**
 * One product of a dense layer's step (m rows, n units out, k units in) through tf.matMul on
 * the wasm backend, in tfjs's own layout, where a Dense kernel is (k, n), as its training
 * computes them: forward x (m,k) · kernel; input grad dy (m,n) · kernelᵀ (transposeB); weight
 * grad xᵀ (transposeA) · dy. Returns a function running one product (its result disposed).
 */
export async function tfjsGemm(shape: GemmShape, m: number, n: number, k: number, rand: (count: number) => Float32Array): Promise<{ run: () => void; dispose: () => void; note: string }> {
  const note = await useTfjsBackend('wasm');
  const [a, b, transposeA, transposeB] =
    shape === 'forward' ? [tf.tensor2d(rand(m * k), [m, k]), tf.tensor2d(rand(k * n), [k, n]), false, false] as const
    : shape === 'inputGrad' ? [tf.tensor2d(rand(m * n), [m, n]), tf.tensor2d(rand(k * n), [k, n]), false, true] as const
    : [tf.tensor2d(rand(m * k), [m, k]), tf.tensor2d(rand(m * n), [m, n]), true, false] as const;
  return {
    run: () => tf.matMul(a, b, transposeA, transposeB).dispose(),
    dispose: () => tf.dispose([a, b]),
    note,
  };
}
