/**
 * quiver in the benchmarks: a TrainJob through the public fit() (its GEMMs alone are in
 * ./quiverGemm.ts).
 *
 * The time of a run is fit's end event `seconds`: from the first step to the last update,
 * including the copy of each batch into the arena and each step's loss; not the start of the
 * pool or the evaluation fit runs after the last update.
 */
import { Model, fit, hiddenLayer, mlp, sgd, type Dataset, type ModelSpec } from '../../src/index.js';
import type { KernelsName } from '../../src/kernels/kernels.js';
import { repeat, warmUpJob, type Evaluation, type TrainJob, type TrainResult } from './workload.js';

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
  const where = workers === undefined ? 'fit\'s default threads' : workers === 'inline' ? 'inline (the calling thread)'
    : `${workers} worker${workers === 1 ? '' : 's'}`;
  return {
    seconds, epochLoss: last.epochLoss, note: `${kernels} kernels, ${where}`,
    ...(ev !== undefined && { finalLoss: last.finalLoss, testAccuracy: last.testAccuracy! }),
  };
}

function assertSameLayout(model: Model, init: Float32Array): void {
  if (model.layout.size !== init.length) throw new Error(`the job's weights hold ${init.length} floats, the model ${model.layout.size}`);
}
