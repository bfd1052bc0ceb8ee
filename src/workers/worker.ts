/**
 * A pool worker. It receives one long-lived "serve" task per training run: the arena's shared
 * memory and the (spec, options) it was laid out from. It builds the same views as the main
 * thread, then serves phases published in the control block (see control.ts) until told to
 * exit, so a step costs no message at all, only a wake-up.
 */
import type { KernelsName } from '../kernels/kernels.js';
import type { ModelSpec } from '../nn/layers.js';
import { Arena, layoutArena, type ArenaOptions } from './arena.js';
import * as C from './control.js';
import { gradTask, kernelsFor } from './engine.js';
import { StepContext, type RunSettings } from './step.js';

export interface ServeTask {
  kind: 'serve';
  memory: WebAssembly.Memory;
  spec: ModelSpec;
  options: ArenaOptions;
  run: RunSettings;
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
  const ctx = new StepContext(arena, await kernelsFor(task.kernels, task.memory), task.run);
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
    const slots = i32[C.SLOTS]!;
    const plan = {
      inputSlot: i32[C.INPUT_SLOT]!, rows: i32[C.ROWS]!, paramBuffer: i32[C.PARAM_BUFFER]!, globalStep: i32[C.GLOBAL_STEP]!,
    };
    const update = {
      slots, paramBuffer: plan.paramBuffer, reduced: i32[C.REDUCED] === 1,
      learningRate: f64[C.LEARNING_RATE]!, gradScale: f64[C.GRAD_SCALE]!, t: f64[C.OPTIMIZER_T]!,
    };
    for (let item = Atomics.add(i32, C.NEXT, 1); item < total; item = Atomics.add(i32, C.NEXT, 1)) {
      hooks.beforeItem?.(phase, step, item);
      if (phase === C.Phase.Grad) ctx.grad(gradTask(arena, plan, item, task.worker));
      else if (phase === C.Phase.Evaluate) ctx.evaluate(gradTask(arena, plan, item, task.worker));
      else if (phase === C.Phase.Reduce) ctx.reduce(item, slots);
      else if (phase === C.Phase.Update) ctx.update({ ...update, block: item });
      else ctx.hogwild(gradTask(arena, plan, item, task.worker), update);
    }
    if (Atomics.add(i32, C.ACK, 1) + 1 === task.options.workers) Atomics.notify(i32, C.ACK);
  }
}

export default createWorker();
