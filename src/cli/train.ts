/**
 * `quiver train`: the seed's recipe by default (one hidden layer of 64 ReLU units, SGD at 0.01,
 * full batch, 100 epochs), on any Arrow IPC file.
 *
 * @example
 * quiver train --train data/seed-train.arrow --test data/seed-test.arrow \
 *   --init-from data/init-relu.safetensors --save out/seed
 */
import type { Command } from 'commander';
import { lastValueFrom, tap } from 'rxjs';
import { ConfigError } from '../errors.js';
import { loadWeights, saveModel } from '../io/modelFile.js';
import { KERNELS_NAMES, type KernelsName } from '../kernels/kernels.js';
import { ACTIVATIONS, activationName } from '../nn/activations.js';
import { INITIALIZER_NAMES } from '../nn/initializers.js';
import { hiddenLayer, mlp } from '../nn/layers.js';
import { Model } from '../nn/model.js';
import { sgd } from '../nn/optimizers.js';
import { DEFAULT_CACHE_BYTES, trainingRows } from '../pipeline/open.js';
import type { TrainingRows } from '../pipeline/rows.js';
import { DEFAULT_SHUFFLE_BUFFER } from '../pipeline/streamRows.js';
import { DEFAULT_MICRO_BATCH, train as trainEvents, type EndEvent, type EpochEvent, type History, type TrainEvent } from '../pipeline/train.js';
import { decimalIn, integerAtLeast, integerList, nameList, oneOf } from './args.js';

export interface TrainFlags {
  train: string;
  test?: string;
  label: string;
  features?: string[];
  classes?: number;
  layers: number[];
  activation: string[];
  init?: string;
  epochs: number;
  lr: number;
  batchSize: number | 'full';
  momentum: number;
  seed: number;
  microBatch: number;
  standardize?: boolean;
  validationSplit?: number;
  shuffleBuffer?: number;
  cacheMb: number;
  /** A thread count, or 'inline'; by default chosen by the step's size. */
  workers?: number | 'inline';
  hogwild?: boolean;
  /** 'wasm' (default) or 'ts': which kernel set computes the steps. */
  kernels?: KernelsName;
  logEvery: number;
  logFormat: 'text' | 'json';
  initFrom?: string;
  save?: string;
}

export interface TrainResult {
  model: Model;
  history: History;
  train: TrainingRows;
  test?: TrainingRows;
}

/** Loads the data, builds (or loads) the model, trains it, saves it; events go to `onEvent`. */
export async function trainJob(flags: TrainFlags, onEvent: (e: TrainEvent) => void, signal?: AbortSignal): Promise<TrainResult> {
  const activations = flags.activation.map(activationName);
  if (activations.length !== 1 && activations.length !== flags.layers.length) {
    throw new ConfigError('E_CONFIG', `--activation takes one name or one per layer (${flags.layers.length} layers, got ${activations.length} names)`);
  }
  if (flags.validationSplit !== undefined && flags.test !== undefined) {
    throw new ConfigError('E_CONFIG', '--validation-split holds rows out of --train for testing; give it or --test, not both');
  }
  const train = await trainingRows(flags.train, {
    label: flags.label, cacheBytes: flags.cacheMb * 2 ** 20,
    ...(flags.features && { features: flags.features }), ...(flags.classes && { classes: flags.classes }),
    ...(flags.standardize && { standardize: true }), ...(flags.shuffleBuffer !== undefined && { shuffleBuffer: flags.shuffleBuffer }),
    ...(flags.validationSplit !== undefined && { holdout: { fraction: flags.validationSplit, seed: flags.seed } }),
  });
  const test = flags.test === undefined ? undefined : await trainingRows(flags.test, {
    label: flags.label, classes: train.classes, like: train, cacheBytes: flags.cacheMb * 2 ** 20,
    ...(train.standardize && { standardize: train.standardize }),
  });
  const spec = mlp({
    inputs: train.featureNames.length,
    classes: train.classes,
    layers: flags.layers.map((units, i) => hiddenLayer({
      units, activation: activations[Math.min(i, activations.length - 1)]!,
      ...(flags.init !== undefined && { kernelInitializer: flags.init }),
    })),
  });
  const model = Model.init(spec, flags.seed, {
    features: train.featureNames, label: train.labelName,
    classLabels: train.classLabels ?? Array.from({ length: train.classes }, (_, i) => i),
    ...(train.standardize && { standardize: train.standardize }),
  });
  if (flags.initFrom !== undefined) await loadWeights(model, flags.initFrom);
  // Each event goes out as its epoch ends (fit() would hold them all until the last one), so a
  // long run shows progress and one that diverges still shows the epochs before it.
  const epochs: EpochEvent[] = [];
  const end = await lastValueFrom(trainEvents(model, train, {
    epochs: flags.epochs, batchSize: flags.batchSize, seed: flags.seed, microBatch: flags.microBatch,
    ...(flags.workers !== undefined && { workers: flags.workers }), ...(flags.hogwild && { mode: 'hogwild' as const }),
    ...(flags.kernels !== undefined && { kernels: flags.kernels }),
    ...(signal && { signal }),
    optimizer: sgd({ learningRate: flags.lr, momentum: flags.momentum }),
    ...(test && { validationData: test }),
  }).pipe(tap((e) => { if (e.event === 'epoch') epochs.push(e); onEvent(e); })));
  const history: History = { epochs, end: end as EndEvent };
  if (flags.save !== undefined) {
    const { save: _save, logFormat: _f, logEvery: _e, ...training } = flags;
    await saveModel(flags.save, model, { training: { ...training }, metrics: { ...history.end } });
  }
  return { model, history, train, ...(test && { test }) };
}

/** The text log: the seed's own lines, every `logEvery` epochs, then the final figures. */
export function textLogger(logEvery: number, write: (line: string) => void): (e: TrainEvent) => void {
  return (e) => {
    if (e.event === 'epoch') {
      if (e.epoch % logEvery === 0) write(`Epoch ${e.epoch}, Loss: ${e.loss.toFixed(4)}`);
      return;
    }
    write(`Final loss: ${e.loss.toFixed(4)}, train accuracy: ${formatAccuracy(e.trainAccuracy)}`);
    if (e.testAccuracy !== undefined) write(`Test accuracy: ${formatAccuracy(e.testAccuracy)}`);
    write(`Trained ${e.epochs} epoch${e.epochs === 1 ? '' : 's'} in ${e.seconds.toFixed(3)} s`);
  };
}

/** Four decimals without trailing zeros: 0.835, 0.8563. */
export function formatAccuracy(a: number): string {
  return String(Number(a.toFixed(4)));
}

export function registerTrain(program: Command): void {
  addTrainFlags(program
    .command('train')
    .description('train a multilayer perceptron on an Arrow IPC file'))
    .action(async (flags: TrainFlags) => {
      const write = (line: string): void => { process.stdout.write(line + '\n'); };
      const onEvent = flags.logFormat === 'json' ? (e: TrainEvent) => write(JSON.stringify(e)) : textLogger(flags.logEvery, write);
      // Ctrl-C: finish the current step, save what was trained, exit 130 (128 + SIGINT);
      // a second Ctrl-C stops at once.
      const stop = new AbortController();
      const onSigint = (): void => {
        if (stop.signal.aborted) process.exit(130);
        process.stderr.write('quiver: interrupted, stopping after the current step (Ctrl-C again to quit now)\n');
        stop.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        await trainJob(flags, onEvent, stop.signal);
      } finally {
        process.off('SIGINT', onSigint);
      }
      if (stop.signal.aborted) process.exitCode = 130;
    });
}

function workers(value: string): number | 'inline' {
  return value === 'inline' ? 'inline' : integerAtLeast('--workers', 1)(value);
}

function batchSize(value: string): number | 'full' {
  return value === 'full' ? 'full' : integerAtLeast('--batch-size', 1)(value);
}

/**
 * Every flag of `quiver train`, on `command`: `quiver compare` takes the same ones, so a run is
 * described the same way in both.
 */
export function addTrainFlags(command: Command): Command {
  return command
    .requiredOption('--train <file>', 'training data (Arrow IPC file or stream, Parquet, - for stdin)')
    .option('--test <file>', 'test data, evaluated after the last update')
    .option('--label <col>', 'label column (integer class indices or bool)', 'label')
    .option('--features <cols>', 'feature columns, comma-separated (default: every other numeric column)', nameList('--features'))
    .option('--classes <k>', 'number of classes (default: largest training label + 1)', integerAtLeast('--classes', 2))
    .option('--layers <units>', 'hidden layer widths, comma-separated', integerList('--layers', 1), [64])
    .option('--activation <names>', `hidden activation, or one per layer: ${Object.keys(ACTIVATIONS).join(', ')}`, nameList('--activation'), ['relu'])
    .option('--init <name>', `weight initializer (default: heNormal for the ReLU family, glorotUniform for tanh/sigmoid): ${INITIALIZER_NAMES.join(', ')}`)
    .option('--epochs <n>', 'passes over the training data', integerAtLeast('--epochs', 1), 100)
    .option('--lr <rate>', 'learning rate', decimalIn('--lr', 0, Infinity, true), 0.01)
    .option('--batch-size <n|full>', 'rows per step, or full', batchSize, 'full')
    .option('--momentum <m>', 'SGD momentum', decimalIn('--momentum', 0, 0.999999), 0)
    .option('--seed <n>', 'seed of every random draw', integerAtLeast('--seed', 0), 42)
    .option('--micro-batch <n>', 'rows per micro-shard (each has its own gradient slot)', integerAtLeast('--micro-batch', 1), DEFAULT_MICRO_BATCH)
    .option('--standardize', 'standardize features to mean 0, std 1 (statistics from the training rows, saved in model.json)')
    .option('--validation-split <fraction>', 'hold out this fraction of --train rows (by a hash of row number and --seed) and report validationLoss/validationAccuracy', decimalIn('--validation-split', 0, 1, true))
    .option('--shuffle-buffer <rows>', 'rows mixed by the shuffle buffer when a large file streams', integerAtLeast('--shuffle-buffer', 0), DEFAULT_SHUFFLE_BUFFER)
    .option('--cache-mb <mb>', 'files up to this size are held in memory and reshuffled there; larger ones stream from disk each epoch', integerAtLeast('--cache-mb', 0), DEFAULT_CACHE_BYTES / 2 ** 20)
    .option('--workers <n|inline>', 'training threads, or inline (default: inline for small steps, else one per core)', workers)
    .option('--hogwild', 'lock-free asynchronous updates (Recht et al. 2011): faster on many cores, not reproducible')
    .option('--kernels <set>', 'wasm: the WebAssembly SIMD kernels (the TypeScript ones where the engine lacks SIMD); ts: the TypeScript reference kernels', oneOf('--kernels', KERNELS_NAMES), 'wasm')
    .option('--log-every <n>', 'epochs between text log lines', integerAtLeast('--log-every', 1), 10)
    .option('--log-format <format>', 'text, or json: NDJSON events only on stdout', oneOf('--log-format', ['text', 'json'] as const), 'text')
    .option('--init-from <file>', 'initial weights (safetensors, keys layers.{i}.weight (nOut, nIn), layers.{i}.bias)')
    .option('--save <dir>', 'write model.json and weights.safetensors here');
}
