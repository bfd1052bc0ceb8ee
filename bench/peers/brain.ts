/**
 * brain.js 1.6.1 as a peer on the seed workload (W1): a NeuralNetwork of the job's hidden sizes,
 * started from the job's weights (through fromJSON), trained with train() for `epochs`
 * iterations at the job's learning rate.
 *
 * It cannot train quiver's network exactly, and the table says so:
 * - one activation for every layer, the output included: 'relu' here, so the output is a ReLU
 *   unit, not a sigmoid logit;
 * - squared error (target − output), not cross-entropy;
 * - one update per row (80 000 updates over 100 epochs of 800 rows, against 100 full-batch
 *   steps), with its momentum (0.1 by default; 0 is refused by its option check).
 * The work per row (a forward and a backward of 20 → 64 → 1) is the same, so samples/s still
 * compares; its loss does not.
 */
import brain from 'brain.js';
import { repeat, type Evaluation, type TrainJob, type TrainResult } from './workload.js';

type Row = { input: number[]; output: number[] };

function rowsOf(features: Float32Array, labels: Float32Array, rows: number, inputs: number): Row[] {
  return Array.from({ length: rows }, (_, r) => ({
    input: Array.from(features.subarray(r * inputs, (r + 1) * inputs)),
    output: [labels[r]!],
  }));
}

/** brain.js's JSON form of the job's initial weights (layer 0 lists the inputs by index). */
function brainJson(job: TrainJob): object {
  const sizes = [job.inputs, ...job.hidden, 1];
  const inputs = Object.fromEntries(Array.from({ length: job.inputs }, (_, i) => [i, {}]));
  const layers = job.layers.map((l) => Object.fromEntries(Array.from({ length: l.nOut }, (_, o) => [o, {
    bias: l.bias[o]!,
    weights: Object.fromEntries(Array.from(l.weight.subarray(o * l.nIn, (o + 1) * l.nIn), (w, i) => [i, w])),
  }])));
  return { sizes, layers: [inputs, ...layers], outputLookup: false, inputLookup: false, activation: 'relu' };
}

/**
 * Trains `job` with brain.js: an untimed warm-up run, then `runs` timed runs of net.train(), each
 * from the initial weights. epochLoss is brain.js's own training error (mean squared error);
 * finalLoss, with `evaluate`, the binary cross-entropy of its outputs clamped to [1e-7, 1 − 1e-7]
 * (its ReLU output is not a probability).
 */
export async function brainTrain(job: TrainJob, runs: number, evaluate?: Evaluation): Promise<TrainResult> {
  if (job.batch < job.rows) throw new Error('brain.js updates per row; the benchmark runs it on the full-batch seed only');
  const data = rowsOf(job.features, job.labels, job.rows, job.inputs);
  const json = brainJson(job);
  let net = new brain.NeuralNetwork();
  const once = async (): Promise<{ seconds: number; epochLoss: number }> => {
    net = new brain.NeuralNetwork().fromJSON(json as Parameters<brain.NeuralNetwork['fromJSON']>[0]);
    const started = performance.now();
    const state = net.train(data, { iterations: job.epochs, learningRate: job.learningRate, errorThresh: 1e-12 });
    const seconds = (performance.now() - started) / 1000;
    if (state.iterations !== job.epochs) throw new Error(`brain.js stopped after ${state.iterations} of ${job.epochs} iterations`);
    return { seconds, epochLoss: state.error };
  };
  const { seconds, last } = await repeat(runs, once, once);
  const result: TrainResult = {
    seconds, epochLoss: last.epochLoss,
    note: `brain.js 1.6.1, relu on every layer (output too), squared error, an update per row, momentum 0.1: loss not comparable`,
  };
  if (evaluate !== undefined) {
    const p = (x: Float32Array, r: number): number => {
      const y = (net.run(Array.from(x.subarray(r * job.inputs, (r + 1) * job.inputs))) as number[])[0]!;
      return Math.min(Math.max(y, 1e-7), 1 - 1e-7);
    };
    let loss = 0;
    for (let r = 0; r < job.rows; r++) {
      const y = job.labels[r]!, q = p(job.features, r);
      loss -= y * Math.log(q) + (1 - y) * Math.log(1 - q);
    }
    let correct = 0;
    for (let r = 0; r < evaluate.rows; r++) correct += Number((p(evaluate.features, r) > 0.5) === (evaluate.labels[r] === 1));
    result.finalLoss = loss / job.rows;
    result.testAccuracy = correct / evaluate.rows;
  }
  return result;
}
