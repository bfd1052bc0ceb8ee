/**
 * `quiver train`: the seed's recipe by default (one hidden layer of 64 ReLU units, SGD at 0.01,
 * full batch, 100 epochs), on any Arrow IPC file.
 *
 * @example
 * quiver train --train data/seed-train.arrow --test data/seed-test.arrow \
 *   --init-from data/init-relu.safetensors --save out/seed
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { lastValueFrom, tap } from 'rxjs';
import { ConfigError, DivergenceError } from '../errors.js';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint } from '../io/checkpoint.js';
import { loadWeights, saveModel } from '../io/modelFile.js';
import { plotFormat, plotRun } from '../io/plot.js';
import { KERNELS_NAMES, type KernelsName } from '../kernels/kernels.js';
import { ACTIVATIONS, activationName } from '../nn/activations.js';
import { INITIALIZER_NAMES } from '../nn/initializers.js';
import { hiddenLayer, mlp } from '../nn/layers.js';
import { Model } from '../nn/model.js';
import { adam, adamw, OPTIMIZER_NAMES, sgd, type OptimizerName, type OptimizerSpec } from '../nn/optimizers.js';
import { LR_SCHEDULE_NAMES, type LrScheduleName } from '../nn/schedules.js';
import { DEFAULT_CACHE_BYTES, trainingRows } from '../pipeline/open.js';
import { LABEL_ORDERS, type LabelOrder } from '../pipeline/labels.js';
import type { TrainingRows } from '../pipeline/rows.js';
import { DEFAULT_SHUFFLE_BUFFER } from '../pipeline/streamRows.js';
import { DEFAULT_MICRO_BATCH, historyOf, train as trainEvents, type EpochEvent, type History, type StepProgress, type TrainEvent } from '../pipeline/train.js';
import type { TrainState } from '../pipeline/trainState.js';
import { onInterrupt } from './interrupt.js';
import { EpochProgress } from './progress.js';
import { resumeFlags, storedFlags } from './resume.js';
import { decimalIn, decimalList, integerAtLeast, integerList, nameList, oneOf } from './args.js';

export interface TrainFlags {
  /** Required unless --resume gives it. */
  train: string;
  test?: string;
  label: string;
  features?: string[];
  classes?: number;
  layers: number[];
  activation: string[];
  init?: string;
  epochs: number;
  /** By default 0.01 for sgd, 0.001 for adam and adamw (PyTorch's and Keras's). */
  lr?: number;
  batchSize: number | 'full';
  /** sgd by default. */
  optimizer?: OptimizerName;
  momentum: number;
  nesterov?: boolean;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  clipNorm?: number;
  clipValue?: number;
  /** constant by default. */
  lrSchedule?: LrScheduleName;
  lrStepSize?: number;
  lrGamma?: number;
  lrMin?: number;
  warmupSteps?: number;
  earlyStopping?: number;
  minDelta?: number;
  batchNorm?: boolean;
  /** One dropout probability for every hidden layer, or one per layer. */
  dropout?: number[];
  seed: number;
  microBatch: number;
  standardize?: boolean;
  /** Leave out rows with a null, NaN or infinite feature or a null label, counting them. */
  dropInvalid?: boolean;
  /** Class order for string labels. */
  labelOrder?: LabelOrder;
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
  /** Epochs or steps between checkpoints in --save. */
  checkpointEvery?: { everyEpochs?: number; everySteps?: number };
  /** A --save directory whose checkpoint to go on from. */
  resume?: string;
  /** No log on stdout but errors (text mode). */
  quiet?: boolean;
  /** Draw the run's curves and per-layer gradient norms into this .png or .svg. */
  plot?: string;
}

/** What trainJob takes besides the flags. */
export interface JobExtras {
  /** Stops after the current step (Ctrl-C). */
  signal?: AbortSignal;
  /** The flags typed on the command line (option keys), which a resumed run must agree with. */
  given?: ReadonlySet<string>;
  /** After each step: the progress bar. */
  onStep?(p: StepProgress): void;
}

export interface TrainResult {
  model: Model;
  history: History;
  train: TrainingRows;
  test?: TrainingRows;
}

/** Loads the data, builds (or loads) the model, trains it, saves it; events go to `onEvent`. */
export async function trainJob(given: TrainFlags, onEvent: (e: TrainEvent) => void, extras: JobExtras | AbortSignal = {}): Promise<TrainResult> {
  const { signal, onStep, given: typed } = extras instanceof AbortSignal ? { signal: extras } as JobExtras : extras;
  const checkpoint = given.resume === undefined ? undefined : await readCheckpoint(given.resume);
  const flags = checkpoint === undefined ? given : resumeFlags(checkpoint.options, given, typed ?? new Set(), given.resume!);
  if (flags.train === undefined) throw new ConfigError('E_USAGE', "required option '--train <file>' not specified (or --resume DIR)");
  if (flags.checkpointEvery !== undefined && flags.save === undefined) {
    throw new ConfigError('E_CONFIG', '--checkpoint-every writes into the --save directory: give --save DIR');
  }
  if (flags.plot !== undefined) plotFormat(flags.plot);
  const activations = flags.activation.map(activationName);
  if (activations.length !== 1 && activations.length !== flags.layers.length) {
    throw new ConfigError('E_CONFIG', `--activation takes one name or one per layer (${flags.layers.length} layers, got ${activations.length} names)`);
  }
  const dropout = flags.dropout ?? [0];
  if (dropout.length !== 1 && dropout.length !== flags.layers.length) {
    throw new ConfigError('E_CONFIG', `--dropout takes one probability or one per layer (${flags.layers.length} layers, got ${dropout.length})`);
  }
  if (flags.validationSplit !== undefined && flags.test !== undefined) {
    throw new ConfigError('E_CONFIG', '--validation-split holds rows out of --train for testing; give it or --test, not both');
  }
  const train = await trainingRows(flags.train, {
    label: flags.label, cacheBytes: flags.cacheMb * 2 ** 20,
    ...(flags.features && { features: flags.features }), ...(flags.classes && { classes: flags.classes }),
    ...(flags.standardize && { standardize: true }), ...(flags.shuffleBuffer !== undefined && { shuffleBuffer: flags.shuffleBuffer }),
    ...(flags.dropInvalid && { dropInvalid: true }), ...(flags.labelOrder !== undefined && { labelOrder: flags.labelOrder }),
    ...(flags.validationSplit !== undefined && { holdout: { fraction: flags.validationSplit, seed: flags.seed } }),
  });
  const test = flags.test === undefined ? undefined : await trainingRows(flags.test, {
    label: flags.label, classes: train.classes, like: train, cacheBytes: flags.cacheMb * 2 ** 20,
    ...(train.standardize && { standardize: train.standardize }), ...(flags.dropInvalid && { dropInvalid: true }),
  });
  for (const [rows, file] of [[train, flags.train], [test, flags.test]] as const) {
    if (rows !== undefined && rows.droppedRows > 0) {
      process.stderr.write(`quiver: left out ${rows.droppedRows} rows of ${file} with a null, NaN or infinite value (--drop-invalid)\n`);
    }
  }
  const spec = mlp({
    inputs: train.featureNames.length,
    classes: train.classes,
    layers: flags.layers.map((units, i) => hiddenLayer({
      units, activation: activations[Math.min(i, activations.length - 1)]!,
      ...(flags.init !== undefined && { kernelInitializer: flags.init }),
      ...(flags.batchNorm && { batchNorm: true }),
      dropout: dropout[Math.min(i, dropout.length - 1)]!,
    })),
  });
  const model = checkpoint !== undefined ? new Model(checkpoint.spec, checkpoint.state.params.slice(), checkpoint.info)
    : Model.init(spec, flags.seed, {
      features: train.featureNames, label: train.labelName,
      classLabels: train.classLabels ?? Array.from({ length: train.classes }, (_, i) => i),
      ...(train.standardize && { standardize: train.standardize }),
    });
  if (checkpoint === undefined && flags.initFrom !== undefined) await loadWeights(model, flags.initFrom);
  const stored = storedFlags(flags);
  // Each event goes out as its epoch ends (fit() would hold them all until the last one), so a
  // long run shows progress and one that diverges still shows the epochs before it.
  const events: TrainEvent[] = [];
  const { save: _save, logFormat: _f, logEvery: _e, quiet: _q, plot: _p, resume: _r, ...training } = flags;
  const save = flags.save;
  await lastValueFrom(trainEvents(model, train, {
    epochs: flags.epochs, batchSize: flags.batchSize, seed: flags.seed, microBatch: flags.microBatch,
    ...(flags.workers !== undefined && { workers: flags.workers }), ...(flags.hogwild && { mode: 'hogwild' as const }),
    ...(flags.kernels !== undefined && { kernels: flags.kernels }),
    ...(signal && { signal }),
    optimizer: optimizerOf(flags),
    ...(flags.clipNorm !== undefined && { clipNorm: flags.clipNorm }),
    ...(flags.clipValue !== undefined && { clipValue: flags.clipValue }),
    lrSchedule: {
      name: flags.lrSchedule ?? 'constant',
      ...(flags.lrStepSize !== undefined && { stepSize: flags.lrStepSize }),
      ...(flags.lrGamma !== undefined && { gamma: flags.lrGamma }),
      ...(flags.lrMin !== undefined && { minLearningRate: flags.lrMin }),
      ...(flags.warmupSteps !== undefined && { warmupSteps: flags.warmupSteps }),
    },
    ...(flags.earlyStopping !== undefined && { earlyStopping: { patience: flags.earlyStopping, ...(flags.minDelta !== undefined && { minDelta: flags.minDelta }) } }),
    ...(test && { validationData: test }),
    ...(checkpoint !== undefined && { resume: checkpoint.state }),
    ...(onStep !== undefined && { onStep }),
    ...(flags.checkpointEvery !== undefined && {
      checkpoint: {
        ...flags.checkpointEvery,
        save: (state: TrainState) => writeCheckpoint(save!, { spec: model.spec, info: model.info, options: stored, state }),
      },
    }),
  }).pipe(tap((e) => { events.push(e); onEvent(e); }))).catch(async (e: unknown) => {
    // A diverged run keeps what it learned before: the weights of its last finite step.
    if (e instanceof DivergenceError && flags.save !== undefined) {
      await saveModel(flags.save, model, { training: { ...training }, metrics: { diverged: e.message, epochs: events.filter((ev) => ev.event === 'epoch').length } });
    }
    throw e;
  });
  // A resumed run's history starts where the first one did.
  const history = historyOf([...(checkpoint?.state.events ?? []), ...events]);
  if (flags.plot !== undefined) await plotRun(history, flags.plot);
  if (save !== undefined) {
    await saveModel(save, model, {
      training: { ...training }, metrics: { ...history.end }, history,
    });
    // The run is complete: its model is saved, and the checkpoint has nothing left to resume.
    if (flags.checkpointEvery !== undefined && !history.end.interrupted) await rm(join(save, CHECKPOINT_FILE), { force: true });
  }
  return { model, history, train, ...(test && { test }) };
}

/** The optimizer the flags describe; flags that do not apply to it are refused. */
export function optimizerOf(flags: TrainFlags): OptimizerSpec {
  const given = (names: [string, unknown][]): string[] => names.filter(([, v]) => v !== undefined && v !== false).map(([n]) => n);
  if ((flags.optimizer ?? 'sgd') === 'sgd') {
    const wrong = given([['--beta1', flags.beta1], ['--beta2', flags.beta2], ['--epsilon', flags.epsilon]]);
    if (wrong.length > 0) throw new ConfigError('E_CONFIG', `${wrong.join(', ')} set Adam's moments; they do not apply to --optimizer sgd`);
    return sgd({
      ...(flags.lr !== undefined && { learningRate: flags.lr }), momentum: flags.momentum,
      ...(flags.nesterov && { nesterov: true }), ...(flags.weightDecay !== undefined && { weightDecay: flags.weightDecay }),
    });
  }
  const wrong = given([['--nesterov', flags.nesterov], ['--momentum', flags.momentum === 0 ? undefined : flags.momentum]]);
  if (wrong.length > 0) throw new ConfigError('E_CONFIG', `${wrong.join(', ')} apply to --optimizer sgd, not ${flags.optimizer}`);
  const args = {
    ...(flags.lr !== undefined && { learningRate: flags.lr }), ...(flags.weightDecay !== undefined && { weightDecay: flags.weightDecay }),
    ...(flags.beta1 !== undefined && { beta1: flags.beta1 }), ...(flags.beta2 !== undefined && { beta2: flags.beta2 }),
    ...(flags.epsilon !== undefined && { epsilon: flags.epsilon }),
  };
  return flags.optimizer === 'adam' ? adam(args) : adamw(args);
}

/** One line per hidden layer under an epoch's line: the diagnostics of nn/diagnostics.ts. */
export function diagnosticLines(e: EpochEvent): string[] {
  return e.layers.map((l, i) => `  layer ${i}: active ${(100 * l.activeFraction).toFixed(1)}%, dead ${l.deadUnits}, ` +
    `pre-activation ${l.preActivationMean.toFixed(3)} ± ${l.preActivationStd.toFixed(3)}` +
    (l.gradNorm === null ? '' : `, grad norm ${l.gradNorm.toExponential(2)}, update/weight ${l.updateRatio!.toExponential(2)}`));
}

/**
 * The text log: the seed's own lines every `logEvery` epochs (with the diagnostics under each
 * when asked), warnings on stderr, then the final figures.
 */
export function textLogger(logEvery: number, write: (line: string) => void, options: { diagnostics?: boolean } = {}): (e: TrainEvent) => void {
  return (e) => {
    if (e.event === 'warning') {
      process.stderr.write(`quiver: warning: ${e.message} [${e.code}]\n`);
      return;
    }
    if (e.event === 'epoch') {
      if (e.epoch % logEvery !== 0) return;
      write(`Epoch ${e.epoch}, Loss: ${e.loss.toFixed(4)}` + (e.validationLoss === undefined ? '' : `, validation loss: ${e.validationLoss.toFixed(4)}`));
      if (options.diagnostics) for (const line of diagnosticLines(e)) write(line);
      return;
    }
    write(`Final loss: ${e.loss.toFixed(4)}, train accuracy: ${formatAccuracy(e.trainAccuracy)}`);
    if (e.validationAccuracy !== undefined) write(`Validation loss: ${e.validationLoss!.toFixed(4)}, accuracy: ${formatAccuracy(e.validationAccuracy)}`);
    if (e.testAccuracy !== undefined) write(`Test accuracy: ${formatAccuracy(e.testAccuracy)}`);
    if (e.stoppedEarly) write(`Stopped early: the validation loss was best at epoch ${e.bestEpoch}, whose weights are kept`);
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
    .action(async (flags: TrainFlags, command: Command) => {
      const json = flags.logFormat === 'json';
      const bar = !json && !flags.quiet && EpochProgress.wanted() ? new EpochProgress() : undefined;
      const write = (line: string): void => { bar?.clear(); process.stdout.write(line + '\n'); };
      const onEvent = json ? (e: TrainEvent) => write(JSON.stringify(e))
        : flags.quiet ? (e: TrainEvent) => { if (e.event === 'warning') textLogger(1, write)(e); }
        : textLogger(flags.logEvery, write, { diagnostics: true });
      const given = new Set(Object.keys(flags).filter((k) => command.getOptionValueSource(k) === 'cli'));
      // Ctrl-C: finish the current step, save what was trained (and a checkpoint, with
      // --checkpoint-every), exit 130 (128 + SIGINT); a second Ctrl-C stops at once.
      const stop = onInterrupt('step', () => bar?.clear());
      try {
        await trainJob(flags, onEvent, { signal: stop.signal, given, ...(bar && { onStep: (p: StepProgress) => bar.update(p) }) });
      } finally {
        bar?.clear();
        stop.release();
      }
      if (stop.signal.aborted) process.exitCode = 130;
    });
}

function workers(value: string): number | 'inline' {
  return value === 'inline' ? 'inline' : integerAtLeast('--workers', 1)(value);
}

function checkpointEvery(value: string): { everyEpochs?: number; everySteps?: number } {
  return value.endsWith('s') ? { everySteps: integerAtLeast('--checkpoint-every', 1)(value.slice(0, -1)) }
    : { everyEpochs: integerAtLeast('--checkpoint-every', 1)(value) };
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
    .option('--train <file>', 'training data (Arrow IPC file or stream, Parquet, - for stdin); required unless --resume')
    .option('--test <file>', 'test data, evaluated after the last update')
    .option('--label <col>', 'label column (integer class indices or bool)', 'label')
    .option('--features <cols>', 'feature columns, comma-separated (default: every other numeric column)', nameList('--features'))
    .option('--classes <k>', 'number of classes (default: largest training label + 1)', integerAtLeast('--classes', 2))
    .option('--layers <units>', 'hidden layer widths, comma-separated', integerList('--layers', 1), [64])
    .option('--activation <names>', `hidden activation, or one per layer: ${Object.keys(ACTIVATIONS).join(', ')}`, nameList('--activation'), ['relu'])
    .option('--init <name>', `weight initializer (default: heNormal for the ReLU family, glorotUniform for tanh/sigmoid): ${INITIALIZER_NAMES.join(', ')}`)
    .option('--epochs <n>', 'passes over the training data', integerAtLeast('--epochs', 1), 100)
    .option('--lr <rate>', 'learning rate (default 0.01 for sgd, 0.001 for adam and adamw)', decimalIn('--lr', 0, Infinity, true))
    .option('--batch-size <n|full>', 'rows per step, or full', batchSize, 'full')
    .option('--optimizer <name>', `${OPTIMIZER_NAMES.join(', ')} (torch.optim's SGD, Adam, AdamW)`, oneOf('--optimizer', OPTIMIZER_NAMES), 'sgd')
    .option('--momentum <m>', 'SGD momentum', decimalIn('--momentum', 0, 0.999999), 0)
    .option('--nesterov', 'Nesterov momentum (sgd, needs --momentum)')
    .option('--weight-decay <wd>', 'L2 penalty (sgd, adam) or decoupled weight decay (adamw; default 0.01 there, else 0)', decimalIn('--weight-decay', 0, Infinity))
    .option('--beta1 <b>', "Adam's first-moment decay (default 0.9)", decimalIn('--beta1', 0, 0.999999))
    .option('--beta2 <b>', "Adam's second-moment decay (default 0.999)", decimalIn('--beta2', 0, 0.999999))
    .option('--epsilon <e>', "Adam's epsilon (default 1e-8)", decimalIn('--epsilon', 0, 1, true))
    .option('--clip-norm <n>', 'scale the gradient down to this global L2 norm when above it (clip_grad_norm_)', decimalIn('--clip-norm', 0, Infinity, true))
    .option('--clip-value <v>', 'clamp each gradient to ±v (clip_grad_value_)', decimalIn('--clip-value', 0, Infinity, true))
    .option('--lr-schedule <name>', `learning-rate schedule, stepped per epoch: ${LR_SCHEDULE_NAMES.join(', ')}`, oneOf('--lr-schedule', LR_SCHEDULE_NAMES), 'constant')
    .option('--lr-step-size <epochs>', 'step schedule: epochs between decays (default 10)', integerAtLeast('--lr-step-size', 1))
    .option('--lr-gamma <g>', 'step schedule: decay per step size (default 0.1); exponential: per epoch (default 0.95)', decimalIn('--lr-gamma', 0, 1, true))
    .option('--lr-min <rate>', 'cosine schedule: the rate at the last epoch (default 0)', decimalIn('--lr-min', 0, Infinity))
    .option('--warmup-steps <n>', 'linear warm-up of the learning rate over the first n steps', integerAtLeast('--warmup-steps', 0))
    .option('--early-stopping <patience>', 'stop when the validation loss (--validation-split, else --test) has not improved for this many epochs; keep the best weights', integerAtLeast('--early-stopping', 1))
    .option('--min-delta <d>', 'early stopping: the least decrease that counts as an improvement (default 0)', decimalIn('--min-delta', 0, Infinity))
    .option('--batch-norm', 'batch normalization before each hidden activation (ghost batch norm per micro-shard)')
    .option('--dropout <p>', 'dropout probability after each hidden layer, or one per layer, comma-separated', decimalList('--dropout', 0, 0.999999))
    .option('--seed <n>', 'seed of every random draw', integerAtLeast('--seed', 0), 42)
    .option('--micro-batch <n>', 'rows per micro-shard (each has its own gradient slot)', integerAtLeast('--micro-batch', 1), DEFAULT_MICRO_BATCH)
    .option('--standardize', 'standardize features to mean 0, std 1 (statistics from the training rows, saved in model.json)')
    .option('--drop-invalid', 'leave out rows with a null, NaN or infinite feature or a null label (counted on stderr) instead of stopping')
    .option('--label-order <order>', 'class order of string labels: firstSeen (as they first appear) or sorted', oneOf('--label-order', LABEL_ORDERS))
    .option('--validation-split <fraction>', 'hold out this fraction of --train rows (by a hash of row number and --seed) and report validationLoss/validationAccuracy', decimalIn('--validation-split', 0, 1, true))
    .option('--shuffle-buffer <rows>', 'rows mixed by the shuffle buffer when a large file streams', integerAtLeast('--shuffle-buffer', 0), DEFAULT_SHUFFLE_BUFFER)
    .option('--cache-mb <mb>', 'files up to this size are held in memory and reshuffled there; larger ones stream from disk each epoch', integerAtLeast('--cache-mb', 0), DEFAULT_CACHE_BYTES / 2 ** 20)
    .option('--workers <n|inline>', 'training threads, or inline (default: inline for small steps, else one per core)', workers)
    .option('--hogwild', 'lock-free asynchronous updates (Recht et al. 2011): faster on many cores, not reproducible')
    .option('--kernels <set>', 'wasm: the WebAssembly SIMD kernels (the TypeScript ones where the engine lacks SIMD); ts: the TypeScript reference kernels', oneOf('--kernels', KERNELS_NAMES), 'wasm')
    .option('--log-every <n>', 'epochs between text log lines', integerAtLeast('--log-every', 1), 10)
    .option('--log-format <format>', 'text, or json: NDJSON events only on stdout', oneOf('--log-format', ['text', 'json'] as const), 'text')
    .option('--init-from <file>', 'initial weights (safetensors, keys layers.{i}.weight (nOut, nIn), layers.{i}.bias)')
    .option('--save <dir>', 'write model.json and weights.safetensors here')
    .option('--checkpoint-every <n|ns>', 'write a checkpoint into --save every n epochs, or every n steps with an s (500s)', checkpointEvery)
    .option('--resume <dir>', 'go on from the checkpoint in this --save directory, with the options stored there')
    .option('--plot <file>', 'draw the loss curves and per-layer gradient norms into this .png or .svg', (v: string) => { plotFormat(v); return v; })
    .option('--quiet', 'print nothing on stdout in text mode but warnings and errors (on stderr)');
}
