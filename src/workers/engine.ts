import { tsKernels, type Kernels, type KernelsName } from '../kernels/kernels.js';
import { loadWasmKernels } from '../kernels/wasm/index.js';
import type { OptimizerSpec } from '../nn/optimizers.js';
import type { Arena } from './arena.js';
import { StepContext, type GradTask } from './step.js';

/** One step's plan: which input slot, how many rows, which parameter buffer is current. */
export interface StepPlan {
  inputSlot: number;
  rows: number;
  paramBuffer: number;
  optimizer: OptimizerSpec;
}

export interface StepResult {
  /** Σ loss over the batch's rows, from its forward pass before the update. */
  loss: number;
  /** Rows predicted right by that forward pass. */
  correct: number;
}

/** What a step returns: its metrics and the parameter buffer that now holds the parameters. */
export interface StepOutcome extends StepResult {
  paramBuffer: number;
}

/**
 * Runs steps over an arena: gradients of every micro-shard into its slot, then the slots'
 * sum and the optimizer update into the other parameter buffer. The caller switches the
 * current buffer once a step has resolved, so a failed step leaves the last completed
 * parameters untouched. The inline engine below runs it on the calling thread; the pool
 * engine will run the same tasks on workers.
 */
export interface StepEngine {
  step(plan: StepPlan): Promise<StepOutcome> | StepOutcome;
  close(): Promise<void>;
}

/** Splits a batch of `rows` rows into micro-shard tasks, in slot order. */
export function gradTasks(arena: Arena, plan: StepPlan, worker: (slot: number) => number): GradTask[] {
  const micro = arena.layout.microBatch;
  const tasks: GradTask[] = [];
  for (let slot = 0, rowStart = 0; rowStart < plan.rows; slot++, rowStart += micro) {
    tasks.push({
      slot, inputSlot: plan.inputSlot, rowStart, rows: Math.min(micro, plan.rows - rowStart),
      batchRows: plan.rows, paramBuffer: plan.paramBuffer, worker: worker(slot),
    });
  }
  return tasks;
}

/** Sums the per-slot metrics in slot order (the same order whatever ran the tasks). */
export function stepResult(arena: Arena, slots: number): StepResult {
  let loss = 0;
  let correct = 0;
  for (let s = 0; s < slots; s++) {
    loss += arena.metrics[2 * s]!;
    correct += arena.metrics[2 * s + 1]!;
  }
  return { loss, correct };
}

/** Every task on the calling thread: the fastest way for small models and batches. */
export class InlineEngine implements StepEngine {
  private readonly ctx: StepContext;

  constructor(readonly arena: Arena, kernels: Kernels) {
    this.ctx = new StepContext(arena, kernels);
  }

  step(plan: StepPlan): StepOutcome {
    const tasks = gradTasks(this.arena, plan, () => 0);
    for (const t of tasks) this.ctx.grad(t);
    this.ctx.update({
      start: 0, end: this.arena.layout.params.size, slots: tasks.length,
      paramBuffer: plan.paramBuffer, optimizer: plan.optimizer,
    });
    return { ...stepResult(this.arena, tasks.length), paramBuffer: 1 - plan.paramBuffer };
  }

  async close(): Promise<void> {}
}

/**
 * The kernel set `name` on the arena's memory: the wasm one unless asked for 'ts' or this engine
 * cannot run it (then the TypeScript one, after one warning; see loadWasmKernels).
 */
export async function kernelsFor(name: KernelsName, memory: WebAssembly.Memory): Promise<Kernels> {
  if (name === 'ts') return tsKernels;
  return (await loadWasmKernels(memory)) ?? tsKernels;
}
