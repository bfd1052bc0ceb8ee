/**
 * The worker pool: piscina threads, each serving one long-lived task per training run that
 * waits on the arena's control block (control.ts). A step is two phases, grad then update,
 * each published with one Atomics.notify and finished when every worker has acknowledged it:
 * a few microseconds where a piscina round trip per micro-shard would cost 20–30 µs each.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { ConfigError, WorkerError } from '../errors.js';
import type { KernelsName } from '../kernels/kernels.js';
import type { Arena } from './arena.js';
import * as C from './control.js';
import { PhasedEngine, type EvaluatePlan, type PhaseFields, type StepOutcome, type StepPlan } from './engine.js';
import type { RunSettings } from './step.js';
import type { ServeTask } from './worker.js';

export interface PoolOptions {
  /** Threads; os.availableParallelism() by default. */
  workers?: number;
  /** A worker module of your own (tests substitute one with fault hooks), and data it reads as piscina's workerData. */
  filename?: string;
  workerData?: unknown;
}

/**
 * The worker module: compiled JavaScript beside this file, or, when this file runs as
 * TypeScript source (vitest, tsx), the source, loaded in the thread through tsx.
 */
function workerModule(): { filename: string } {
  return { filename: new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url).href };
}

/** A pool of training threads; pass it to fit() to reuse it across runs, and close it when done. */
export class TrainingPool {
  readonly workers: number;
  readonly piscina: Piscina;

  constructor(options: PoolOptions = {}) {
    const workers = options.workers ?? availableParallelism();
    if (!Number.isInteger(workers) || workers < 1) {
      throw new ConfigError('E_CONFIG', `workers must be a positive integer (got ${workers})`);
    }
    this.workers = workers;
    const mod = workerModule();
    const filename = options.filename ?? mod.filename;
    this.piscina = new Piscina({
      filename,
      execArgv: new URL(filename, import.meta.url).pathname.endsWith('.ts') ? ['--import', 'tsx'] : [],
      minThreads: workers, maxThreads: workers,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      workerData: options.workerData,
    });
  }

  /** Ends every thread; nothing of the pool keeps the process alive afterwards. */
  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}

export function createPool(options: PoolOptions = {}): TrainingPool {
  return new TrainingPool(options);
}

/** Runs steps on the pool's workers over a shared arena. */
export class PoolEngine extends PhasedEngine {
  private readonly ctl: C.Control;
  private readonly serving: Promise<void>[];
  /** The first worker failure, once there is one: every wait checks it. */
  private failure: { error: unknown } | undefined;
  private step_ = 0;
  private closed = false;
  /** Wall time spent in each kind of phase, for benchmarks: what dispatch and the reduce cost. */
  readonly stats = { steps: 0, gradSeconds: 0, updateSeconds: 0 };

  private constructor(arena: Arena, readonly pool: TrainingPool, hogwild: boolean, run: RunSettings, kernels: KernelsName) {
    super(arena, hogwild);
    this.ctl = C.controlViews(arena.memory, arena.layout.control);
    const options = {
      batchRows: arena.layout.batchRows, microBatch: arena.layout.microBatch,
      workers: arena.layout.workers, optimizerSlots: arena.layout.optimizerSlots,
    };
    this.serving = Array.from({ length: pool.workers }, (_, worker) => {
      const task: ServeTask = { kind: 'serve', memory: arena.memory, spec: arena.spec, options, run, worker, kernels };
      return pool.piscina.run(task) as Promise<void>;
    });
    // A serving task settles only when its worker exits or fails. On failure, record it and
    // wake the main thread's waits (a notify wakes a waiter whatever the word holds), rather
    // than racing each wait against a promise: that would leave a reaction per wait on it.
    for (const p of this.serving) {
      p.catch((error: unknown) => {
        this.failure ??= { error };
        Atomics.notify(this.ctl.i32, C.ACK);
        Atomics.notify(this.ctl.i32, C.READY);
      });
    }
  }

  /** Starts one serving task per worker and waits until all have attached to the arena. */
  static async start(arena: Arena, pool: TrainingPool, run: RunSettings, hogwild = false,
                     kernels: KernelsName = 'wasm'): Promise<PoolEngine> {
    if (arena.layout.workers !== pool.workers) {
      throw new Error(`arena laid out for ${arena.layout.workers} workers, pool has ${pool.workers}`);
    }
    const engine = new PoolEngine(arena, pool, hogwild, run, kernels);
    try {
      await engine.waitFor(C.READY, pool.workers);
    } catch (e) {
      await engine.close();
      throw new WorkerError('E_WORKER', `a training worker failed to start: ${(e as Error).message}`, { cause: e });
    }
    return engine;
  }

  override async evaluate(plan: EvaluatePlan): Promise<{ loss: number; correct: number }> {
    this.publishRows(plan);
    try {
      return await super.evaluate(plan);
    } catch (e) {
      throw new WorkerError('E_WORKER', `a training worker failed during an evaluation (${(e as Error).message})`, { cause: e });
    }
  }

  /** The fields every phase of a step or an evaluation reads: which rows, which parameters. */
  private publishRows(plan: EvaluatePlan): void {
    const { i32 } = this.ctl;
    i32[C.STEP] = this.step_;
    i32[C.INPUT_SLOT] = plan.inputSlot;
    i32[C.ROWS] = plan.rows;
    i32[C.PARAM_BUFFER] = plan.paramBuffer;
    i32[C.SLOTS] = Math.ceil(plan.rows / this.arena.layout.microBatch);
  }

  override async step(plan: StepPlan): Promise<StepOutcome> {
    const { i32, f64 } = this.ctl;
    this.publishRows(plan);
    i32[C.GLOBAL_STEP] = plan.globalStep;
    f64[C.LEARNING_RATE] = plan.learningRate;
    f64[C.OPTIMIZER_T] = plan.globalStep + 1;
    let outcome: StepOutcome;
    try {
      outcome = await super.step(plan);
      this.stats.steps++;
    } catch (e) {
      throw new WorkerError('E_WORKER',
        `a training worker failed during step ${this.step_} (${(e as Error).message}); the parameters are those after step ${this.step_ - 1}`,
        { cause: e });
    }
    this.step_++;
    return outcome;
  }

  protected async phase(kind: C.PhaseKind, total: number, _plan: StepPlan, fields: PhaseFields): Promise<void> {
    const { i32, f64 } = this.ctl;
    i32[C.REDUCED] = fields.reduced ? 1 : 0;
    f64[C.GRAD_SCALE] = fields.gradScale;
    const t0 = performance.now();
    await this.publish(kind, total);
    const seconds = (performance.now() - t0) / 1000;
    if (kind === C.Phase.Grad || kind === C.Phase.Hogwild) this.stats.gradSeconds += seconds;
    else if (kind !== C.Phase.Evaluate) this.stats.updateSeconds += seconds;
  }

  /** Seconds of one round trip through every worker with no work in it: the dispatch cost of a phase. */
  async latency(rounds = 200): Promise<number> {
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) await this.publish(C.Phase.Grad, 0);
    return (performance.now() - t0) / 1000 / rounds;
  }

  /** Tells the workers to return, and waits for them (a failed worker's error was reported already). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const { i32 } = this.ctl;
    Atomics.store(i32, C.KIND, C.Phase.Exit);
    Atomics.add(i32, C.GEN, 1);
    Atomics.notify(i32, C.GEN);
    Atomics.notify(i32, C.ACK); // release our own pending waits, if a phase was cut short
    Atomics.notify(i32, C.READY);
    await Promise.allSettled(this.serving);
  }

  private async publish(kind: number, total: number): Promise<void> {
    const { i32 } = this.ctl;
    i32[C.KIND] = kind;
    i32[C.NEXT] = 0;
    i32[C.TOTAL] = total;
    Atomics.store(i32, C.ACK, 0);
    Atomics.add(i32, C.GEN, 1);
    Atomics.notify(i32, C.GEN);
    await this.waitFor(C.ACK, this.pool.workers);
  }

  /** Waits until field ≥ target, or rejects with the first worker failure. */
  private async waitFor(field: number, target: number): Promise<void> {
    const { i32 } = this.ctl;
    for (;;) {
      const v = Atomics.load(i32, field);
      if (v >= target) return;
      if (this.failure !== undefined) throw this.failure.error;
      if (this.closed) throw new Error('the pool was closed');
      // The timeout only bounds the wait should a failure land between the check above and
      // the wait: its notify would then find no waiter.
      const w = Atomics.waitAsync(i32, field, v, FAILURE_POLL_MS);
      if (w.async) await w.value;
    }
  }
}

/** Longest a wait goes without looking at whether a worker failed. */
const FAILURE_POLL_MS = 250;
