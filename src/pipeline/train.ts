import { Observable, lastValueFrom, toArray } from 'rxjs';
import { ConfigError, DataError, DivergenceError } from '../errors.js';
import { EpochDiagnostics } from '../nn/diagnostics.js';
import { Model } from '../nn/model.js';
import { optimizerSlots } from '../nn/optimizers.js';
import { Prng } from '../nn/prng.js';
import { learningRateAt } from '../nn/schedules.js';
import { Arena, layoutArena } from '../workers/arena.js';
import { InlineEngine, kernelsFor, type StepEngine } from '../workers/engine.js';
import { createPool, PoolEngine } from '../workers/pool.js';
import type { RunSettings } from '../workers/step.js';
import type { Dataset } from './dataset.js';
import {
  diagnosticWarnings, type EndEvent, type EpochEvent, type History, type TrainEvent, type WarningEvent,
} from './events.js';
import { memoryRows } from './memoryRows.js';
import type { TrainingRows } from './rows.js';
import { INLINE_MAX_FLOPS, resolve, type FitOptions, type Resolved } from './fitOptions.js';
import { epochRng, type TrainState } from './trainState.js';

export type { EndEvent, EpochEvent, History, TrainEvent, WarningEvent } from './events.js';

export { DEFAULT_MICRO_BATCH, INLINE_MAX_FLOPS, type FitOptions, type StepProgress } from './fitOptions.js';

function checkFits(model: Model, data: TrainingRows): void {
  if (data.featureNames.length !== model.spec.inputs) {
    throw new ConfigError('E_SHAPE', `file ${data.file}: ${data.featureNames.length} feature columns, but the model takes ${model.spec.inputs} inputs`);
  }
  if (data.classes > model.spec.classes) {
    throw new ConfigError('E_SHAPE', `file ${data.file}: labels go up to ${data.classes - 1}, but the model has ${model.spec.classes} classes`);
  }
}

/** A Dataset in memory, or rows that stream. */
function asRows(data: Dataset | TrainingRows): TrainingRows {
  return 'epoch' in data ? data : memoryRows(data);
}

/**
 * Mean loss and accuracy over one pass of `rows` (standardized on their way in, as training
 * rows are), at evaluation: each batch goes through input slot `slot` and the engine's
 * evaluate phase, so it runs on the run's kernels and threads, in a fixed order of sums.
 */
async function evaluateOn(engine: StepEngine, arena: Arena, rows: TrainingRows, slot: number, paramBuffer: number):
    Promise<{ loss: number; accuracy: number; rows: number }> {
  const input = arena.input(slot);
  const reader = rows.epoch(0, new Prng(0), false);
  let loss = 0;
  let correct = 0;
  let count = 0;
  try {
    for (;;) {
      const m = await reader.fill(input.features, input.labels, arena.layout.batchRows);
      if (m === 0) break;
      const r = await engine.evaluate({ inputSlot: slot, rows: m, paramBuffer });
      loss += r.loss;
      correct += r.correct;
      count += m;
    }
  } finally {
    await reader.close();
  }
  return { loss: loss / count, accuracy: correct / count, rows: count };
}

/**
 * Trains `model` on `data`, emitting an epoch event per epoch and an end event; the model's
 * parameters hold the final weights when the end event is emitted. Unsubscribing stops
 * training after the current step.
 */
export function train(model: Model, data: Dataset | TrainingRows, options: FitOptions = {}): Observable<TrainEvent> {
  return new Observable<TrainEvent>((subscriber) => {
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    options.signal?.addEventListener('abort', onAbort);
    run(model, asRows(data), options, stop.signal, (e) => subscriber.next(e))
      .then(() => subscriber.complete(), (e: unknown) => subscriber.error(e))
      .finally(() => options.signal?.removeEventListener('abort', onAbort));
    return () => stop.abort();
  });
}

/** Keras's fit: trains and resolves with the history once the last update is done. */
export async function fit(model: Model, data: Dataset | TrainingRows, options: FitOptions = {}): Promise<History> {
  const events = await lastValueFrom(train(model, data, options).pipe(toArray()));
  return historyOf(events);
}

/** The events of a run, sorted by kind. */
export function historyOf(events: TrainEvent[]): History {
  return {
    epochs: events.filter((e): e is EpochEvent => e.event === 'epoch'),
    warnings: events.filter((e): e is WarningEvent => e.event === 'warning'),
    end: events[events.length - 1] as EndEvent,
  };
}

/** Where the steps run: the calling thread, or a pool (the caller's, or one made for this run). */
async function startEngine(model: Model, o: Resolved, options: FitOptions): Promise<{ engine: StepEngine; arena: Arena }> {
  const steps = stepFlops(model, o.batchRows);
  const inline = options.pool === undefined &&
    (options.workers === 'inline' || (options.workers === undefined && steps < INLINE_MAX_FLOPS && options.mode !== 'hogwild'));
  const pool = inline ? undefined : options.pool ?? createPool(options.workers === undefined || options.workers === 'inline' ? {} : { workers: options.workers });
  const layout = layoutArena(model.spec, {
    batchRows: o.batchRows, microBatch: Math.min(o.microBatch, o.batchRows), workers: pool?.workers ?? 1,
    optimizerSlots: optimizerSlots(o.optimizer),
  });
  const arena = Arena.allocate(model.spec, layout);
  const run: RunSettings = { optimizer: o.optimizer, seed: o.seed, clipValue: o.clipValue };
  if (pool === undefined) return { engine: new InlineEngine(arena, await kernelsFor(o.kernels, arena.memory), run), arena };
  const owned = options.pool === undefined;
  try {
    const engine = await PoolEngine.start(arena, pool, run, options.mode === 'hogwild', o.kernels);
    if (!owned) return { engine, arena };
    return {
      arena,
      engine: { step: (plan) => engine.step(plan), evaluate: (plan) => engine.evaluate(plan), close: async () => { await engine.close(); await pool.close(); } },
    };
  } catch (e) {
    if (owned) await pool.close();
    throw e;
  }
}

/** Multiply-adds × 2 of one step's forward and backward (≈ 3 products per weight per row). */
function stepFlops(model: Model, rows: number): number {
  return 6 * rows * model.layout.size;
}

/** The rows early stopping watches: the held-out ones, else the validation data. */
function watched(data: TrainingRows, options: FitOptions): TrainingRows | undefined {
  if (data.holdout !== undefined) return data.holdout;
  const vd = options.validationData;
  if (vd === undefined) return undefined;
  // A Dataset is standardized as the training rows were; TrainingRows come prepared.
  return 'epoch' in vd ? vd : memoryRows(vd, data.standardize === undefined ? {} : { standardize: data.standardize });
}

async function run(model: Model, data: TrainingRows, options: FitOptions, signal: AbortSignal,
                   emit: (e: TrainEvent) => void): Promise<void> {
  checkFits(model, data);
  const o = resolve(data, options);
  if (data.standardize !== undefined) model.info.standardize = data.standardize;
  const validation = watched(data, options);
  if (validation !== undefined) checkFits(model, validation);
  const { engine, arena } = await startEngine(model, o, options);
  const resume = options.resume;
  let current = 0;
  arena.params(current).set(resume?.params ?? model.params);
  resume?.optimizerState.forEach((v, i) => arena.optimizerState(i).set(v));
  const hidden = model.spec.layers.slice(0, -1).map((l) => l.units);
  const given = new Set<string>(resume?.events.flatMap((e) => (e.event === 'warning' ? [e.code] : [])) ?? []);
  let epoch = resume?.epoch ?? 0;
  let reader = data.epoch(epoch, epochRng(o.seed, epoch), o.shuffle);
  /** Pulls the next batch into an input slot: 0 rows once the epoch is over. */
  const fill = (inputSlot: number): Promise<number> => {
    const slot = arena.input(inputSlot);
    return reader.fill(slot.features, slot.labels, o.batchRows);
  };
  let globalStep = resume?.globalStep ?? 0;
  // Step k computes on input slot k % 2 while the next batch is read into the other.
  const firstSlot = globalStep % 2;
  // A run resumed mid-epoch reads past the batches already trained on, as they were read.
  for (let k = 0; k < (resume?.step ?? 0); k++) await fill(firstSlot);
  let pending = await fill(firstSlot);
  const started = performance.now();
  let step = resume?.step ?? 0;
  let loss = resume?.epochLoss ?? 0;
  let correct = resume?.epochCorrect ?? 0;
  let seen = resume?.epochRows ?? 0;
  let learningRate = o.optimizer.learningRate;
  let diagnostics = resume === undefined ? new EpochDiagnostics(arena.layout.stats) : EpochDiagnostics.restore(arena.layout.stats, resume.diagnostics);
  let outputGradNorm = resume?.epochOutputGradNorm ?? 0;
  const best = {
    loss: resume?.best.loss ?? Infinity, epoch: resume?.best.epoch ?? -1,
    params: resume?.best.params ?? null, since: resume?.best.since ?? 0,
  };
  let stoppedEarly = false;
  const events: TrainEvent[] = resume?.events.slice() ?? [];
  const send = (e: TrainEvent): void => { if (e.event !== 'end') events.push(e); emit(e); };
  const state = (): TrainState => ({
    epoch, step, globalStep, params: arena.params(current).slice(),
    optimizerState: Array.from({ length: arena.layout.optimizerSlots }, (_, i) => arena.optimizerState(i).slice()),
    events: events.slice(), epochLoss: loss, epochCorrect: correct, epochRows: seen, epochOutputGradNorm: outputGradNorm,
    diagnostics: diagnostics.save(),
    best: { loss: Number.isFinite(best.loss) ? best.loss : null, epoch: best.epoch, since: best.since, params: best.params },
    seconds: (resume?.seconds ?? 0) + (performance.now() - started) / 1000,
  });
  const cp = options.checkpoint;
  const diverged = (what: string): DivergenceError => new DivergenceError('E_DIVERGED',
    `${what} at epoch ${epoch}, step ${step}: training diverged; try --clip-norm 1 or a lower --lr (now ${o.optimizer.learningRate}); ` +
    'the weights are those of the last finite step');
  try {
    if (pending === 0) throw new DataError('E_NO_ROWS', `file ${data.file}: no rows to train on`);
    while (epoch < o.epochs && !signal.aborted) {
      const rows = pending;
      const inputSlot = globalStep % 2;
      learningRate = learningRateAt(o.optimizer.learningRate, o.lrSchedule, epoch, o.epochs, globalStep);
      const running = engine.step({
        inputSlot, rows, paramBuffer: current, learningRate, globalStep,
        ...(o.clipNorm !== undefined && { clipNorm: o.clipNorm }),
      });
      // The next batch is decoded into the other slot while this step computes.
      let next = await fill(1 - inputSlot);
      const last = next === 0;
      if (last) {
        await reader.close();
        if (epoch + 1 < o.epochs) {
          reader = data.epoch(epoch + 1, epochRng(o.seed, epoch + 1), o.shuffle);
          next = await fill(1 - inputSlot);
        }
      }
      const result = await running;
      if (!Number.isFinite(result.loss)) throw diverged(`the loss became ${result.loss}`);
      if (!result.finite) throw diverged('the update made a weight infinite or NaN');
      current = result.paramBuffer; // the step finished: its output buffer holds the parameters now
      globalStep++;
      step++;
      loss += result.loss;
      correct += result.correct;
      seen += rows;
      diagnostics.add(result.stats, rows, result.norms);
      options.onStep?.({ epoch, epochs: o.epochs, step, rows: seen, loss: loss / seen, ...(data.rows !== undefined && { epochRows: data.rows }) });
      if (result.norms !== null) outputGradNorm += Math.sqrt(result.norms[result.norms.length - 1]!.gradSqWeight);
      pending = next;
      if (last) {
        const layers = diagnostics.finish();
        for (const w of diagnosticWarnings(epoch, layers, hidden, result.norms === null ? null : outputGradNorm / step, given)) send(w);
        const e: EpochEvent = { event: 'epoch', epoch, loss: loss / seen, trainAccuracy: correct / seen, learningRate, layers };
        if (o.earlyStopping !== undefined) {
          e.validationLoss = (await evaluateOn(engine, arena, validation!, inputSlot, current)).loss;
          if (e.validationLoss < best.loss - o.earlyStopping.minDelta || best.epoch < 0) {
            best.loss = Math.min(best.loss, e.validationLoss);
            best.epoch = epoch;
            best.params = arena.params(current).slice();
            best.since = 0;
          } else {
            best.since++;
          }
        }
        send(e);
        epoch++;
        step = 0;
        loss = 0;
        correct = 0;
        seen = 0;
        outputGradNorm = 0;
        diagnostics = new EpochDiagnostics(arena.layout.stats);
        if (o.earlyStopping !== undefined && best.since >= o.earlyStopping.patience) {
          stoppedEarly = true;
          break;
        }
      }
      if (cp !== undefined && epoch < o.epochs &&
          ((cp.everySteps !== undefined && globalStep % cp.everySteps === 0) ||
           (cp.everyEpochs !== undefined && last && epoch % cp.everyEpochs === 0))) {
        await cp.save(state());
      }
      if (last) await new Promise((resolve) => setImmediate(resolve)); // let signals and I/O in between epochs
    }
    // Stopped by the signal: a checkpoint of where it stopped, to resume from.
    if (cp !== undefined && signal.aborted && !stoppedEarly && epoch < o.epochs) await cp.save(state());
    const seconds = (resume?.seconds ?? 0) + (performance.now() - started) / 1000;
    if (stoppedEarly) arena.params(current).set(best.params!);
    model.params.set(arena.params(current));
    const final = await evaluateOn(engine, arena, data, 0, current);
    const end: EndEvent = { event: 'end', epochs: epoch, loss: final.loss, trainAccuracy: final.accuracy, seconds };
    if (signal.aborted) end.interrupted = true;
    if (stoppedEarly) {
      end.stoppedEarly = true;
      end.bestEpoch = best.epoch;
    }
    if (options.validationData !== undefined) {
      const vd = options.validationData;
      const v = 'epoch' in vd ? vd : memoryRows(vd, data.standardize === undefined ? {} : { standardize: data.standardize });
      checkFits(model, v);
      const test = await evaluateOn(engine, arena, v, 0, current);
      end.testLoss = test.loss;
      end.testAccuracy = test.accuracy;
    }
    if (data.holdout !== undefined) {
      const h = await evaluateOn(engine, arena, data.holdout, 0, current);
      end.validationLoss = h.loss;
      end.validationAccuracy = h.accuracy;
    }
    emit(end);
  } catch (e) {
    model.params.set(arena.params(current)); // the last completed step's, never a mix
    throw e;
  } finally {
    await reader.close();
    await engine.close();
  }
}
