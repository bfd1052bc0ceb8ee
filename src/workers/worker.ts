/**
 * A pool worker. It receives one long-lived "serve" task per training run: the arena's shared
 * memory and the (spec, options) it was laid out from. It builds the same views as the main
 * thread, then serves phases published in the control block (see control.ts) until told to
 * exit, so a step costs no message at all, only a wake-up.
 */
import type { KernelsName } from '../kernels/kernels.js';
import type { ModelSpec } from '../nn/layers.js';
import type { OptimizerSpec } from '../nn/optimizers.js';
import { Arena, layoutArena, type ArenaOptions } from './arena.js';
import * as C from './control.js';
import { kernelsFor } from './engine.js';
import { StepContext, type GradTask } from './step.js';

export interface ServeTask {
  kind: 'serve';
  memory: WebAssembly.Memory;
  spec: ModelSpec;
  options: ArenaOptions;
  optimizer: OptimizerSpec;
  /** This worker's index: which scratch it owns. */
  worker: number;
  /** The kernel set the main thread chose; every thread of a run uses the same one. */
  kernels: KernelsName;
}

/** Test seams (never set in production): called before each item with the step's number. */
export interface WorkerHooks {
  beforeItem?(phase: number, step: number, item: number): void;
}

export function createWorker(hooks: WorkerHooks = {}): (task: ServeTask) => Promise<void> {
  return async (task) => serve(task, hooks);
}

async function serve(task: ServeTask, hooks: WorkerHooks): Promise<void> {
  const layout = layoutArena(task.spec, task.options);
  const arena = new Arena(task.spec, layout, task.memory);
  const ctx = new StepContext(arena, await kernelsFor(task.kernels, task.memory));
  const { i32, f64 } = C.controlViews(task.memory, layout.control);
  Atomics.add(i32, C.READY, 1);
  Atomics.notify(i32, C.READY);
  let seen = 0;
  for (;;) {
    Atomics.wait(i32, C.GEN, seen);
    seen = Atomics.load(i32, C.GEN);
    const phase = Atomics.load(i32, C.KIND);
    if (phase === C.Phase.Exit) return;
    const total = i32[C.TOTAL]!;
    const step = i32[C.STEP]!;
    const optimizer: OptimizerSpec = { ...task.optimizer, learningRate: f64[C.LEARNING_RATE]! };
    for (let item = Atomics.add(i32, C.NEXT, 1); item < total; item = Atomics.add(i32, C.NEXT, 1)) {
      hooks.beforeItem?.(phase, step, item);
      if (phase === C.Phase.Update) {
        const shard = i32[C.SHARD]!;
        const start = item * shard;
        ctx.update({
          start, end: Math.min(layout.params.size, start + shard), slots: i32[C.SLOTS]!,
          paramBuffer: i32[C.PARAM_BUFFER]!, optimizer,
        });
      } else {
        const t = gradTask(i32, layout.microBatch, item, task.worker);
        if (phase === C.Phase.Grad) ctx.grad(t); else ctx.hogwild(t, optimizer);
      }
    }
    if (Atomics.add(i32, C.ACK, 1) + 1 === task.options.workers) Atomics.notify(i32, C.ACK);
  }
}

function gradTask(i32: Int32Array, micro: number, slot: number, worker: number): GradTask {
  const rows = i32[C.ROWS]!;
  const rowStart = slot * micro;
  return {
    slot, rowStart, rows: Math.min(micro, rows - rowStart), batchRows: rows,
    inputSlot: i32[C.INPUT_SLOT]!, paramBuffer: i32[C.PARAM_BUFFER]!, worker,
  };
}

export default createWorker();
