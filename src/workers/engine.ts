import { tsKernels, type Kernels, type KernelsName } from '../kernels/kernels.js';
import { loadWasmKernels } from '../kernels/wasm/index.js';
import { STAT_CORRECT, STAT_LOSS, type LayerNorms } from '../nn/diagnostics.js';
import { NORM_FIELDS, type Arena } from './arena.js';
import { Phase, type PhaseKind } from './control.js';
import { StepContext, type GradTask, type RunSettings } from './step.js';

/** One step's plan: which input slot, how many rows, which parameter buffer is current. */
export interface StepPlan {
  inputSlot: number;
  rows: number;
  paramBuffer: number;
  /** This step's learning rate (the schedule's). */
  learningRate: number;
  /** Steps of the whole run before this one: Adam's t is globalStep + 1; it names the dropout masks. */
  globalStep: number;
  /** Scale the summed gradient down to this global L2 norm when above it (torch.nn.utils.clip_grad_norm_). */
  clipNorm?: number;
}

/** What a step returns. */
export interface StepOutcome {
  /** Σ loss over the batch's rows, from its forward pass before the update. */
  loss: number;
  /** Rows predicted right by that forward pass. */
  correct: number;
  /** The parameter buffer that now holds the parameters. */
  paramBuffer: number;
  /** The slots' stats rows summed in slot order (see nn/diagnostics.ts statsLayout). */
  stats: Float64Array;
  /** Per layer: the step's squared norms; null in hogwild mode. */
  norms: LayerNorms[] | null;
  /** Global L2 norm of the summed gradient before clipping; null in hogwild mode. */
  gradNorm: number | null;
  /** Whether every new parameter is finite; the caller keeps the old buffer when not. */
  finite: boolean;
}

/**
 * Runs steps over an arena: gradients of every micro-shard into its slot, then the slots' sum
 * and the optimizer update into the other parameter buffer. The caller switches the current
 * buffer once a step has resolved, so a failed step leaves the last completed parameters
 * untouched.
 */
export interface StepEngine {
  step(plan: StepPlan): Promise<StepOutcome>;
  /** Σ loss and right rows of the rows in an input slot, at evaluation, with the parameters of `paramBuffer`. */
  evaluate(plan: EvaluatePlan): Promise<{ loss: number; correct: number }>;
  close(): Promise<void>;
}

export type EvaluatePlan = Pick<StepPlan, 'inputSlot' | 'rows' | 'paramBuffer'>;

/** Optional phase fields: whether the slots were reduced already, and the clipping factor. */
export interface PhaseFields {
  reduced: boolean;
  gradScale: number;
}

/**
 * The step's sequence of phases, the same for every engine: grad; then reduce (only to clip by
 * the global norm) and update; or, in hogwild mode, one phase that does both per micro-shard.
 * Subclasses say how a phase runs: a loop on this thread, or the pool's workers.
 */
export abstract class PhasedEngine implements StepEngine {
  constructor(readonly arena: Arena, readonly hogwild: boolean) {}

  protected abstract phase(kind: PhaseKind, total: number, plan: StepPlan, fields: PhaseFields): Promise<void> | void;
  abstract close(): Promise<void>;

  async step(plan: StepPlan): Promise<StepOutcome> {
    const slots = Math.ceil(plan.rows / this.arena.layout.microBatch);
    const blocks = this.arena.layout.blocks;
    const base = { paramBuffer: plan.paramBuffer };
    if (this.hogwild) {
      await this.phase(Phase.Hogwild, slots, plan, { reduced: true, gradScale: 1 });
      return { ...this.sumStats(slots), ...base, norms: null, gradNorm: null, finite: true };
    }
    await this.phase(Phase.Grad, slots, plan, { reduced: false, gradScale: 1 });
    let gradScale = 1;
    if (plan.clipNorm !== undefined) {
      await this.phase(Phase.Reduce, blocks, plan, { reduced: false, gradScale: 1 });
      gradScale = Math.min(1, plan.clipNorm / (this.gradNorm() + 1e-6)); // PyTorch's clip_coef
    }
    await this.phase(Phase.Update, blocks, plan, { reduced: plan.clipNorm !== undefined, gradScale });
    const { norms, finite } = this.readNorms();
    return { ...this.sumStats(slots), paramBuffer: 1 - plan.paramBuffer, norms, gradNorm: this.gradNorm(), finite };
  }

  async evaluate(plan: EvaluatePlan): Promise<{ loss: number; correct: number }> {
    const slots = Math.ceil(plan.rows / this.arena.layout.microBatch);
    await this.phase(Phase.Evaluate, slots, { ...plan, learningRate: 0, globalStep: 0 }, { reduced: false, gradScale: 1 });
    const { loss, correct } = this.sumStats(slots);
    return { loss, correct };
  }

  /** The slots' stats rows, summed in slot order (the same order whatever ran the tasks). */
  private sumStats(slots: number): { loss: number; correct: number; stats: Float64Array } {
    const stats = new Float64Array(this.arena.layout.stats.size);
    for (let s = 0; s < slots; s++) {
      const row = this.arena.slotStats(s);
      for (let i = 0; i < stats.length; i++) stats[i] += row[i]!;
    }
    return { loss: stats[STAT_LOSS]!, correct: stats[STAT_CORRECT]!, stats };
  }

  /** √ of Σ over blocks then layers, in that fixed order, of the learned tensors' Σ g². */
  private gradNorm(): number {
    const n = this.arena.norms;
    let s = 0;
    for (let i = 0; i < n.length; i += NORM_FIELDS) s += n[i]! + n[i + 1]!;
    return Math.sqrt(s);
  }

  private readNorms(): { norms: LayerNorms[]; finite: boolean } {
    const n = this.arena.norms;
    const layers = this.arena.spec.layers.length;
    const norms = Array.from({ length: layers }, () => ({ gradSqWeight: 0, gradSqOther: 0, deltaSqWeight: 0, weightSq: 0 }));
    let all = 0;
    for (let b = 0; b < this.arena.layout.blocks; b++) {
      for (let l = 0; l < layers; l++) {
        const o = (b * layers + l) * NORM_FIELDS;
        const x = norms[l]!;
        x.gradSqWeight += n[o]!;
        x.gradSqOther += n[o + 1]!;
        x.deltaSqWeight += n[o + 2]!;
        x.weightSq += n[o + 3]!;
        all += n[o + 4]! + n[o + 7]!;
      }
    }
    return { norms, finite: Number.isFinite(all) };
  }
}

/** Splits a batch of `rows` rows into micro-shard tasks, in slot order. */
export function gradTask(arena: Arena, plan: Pick<StepPlan, 'inputSlot' | 'rows' | 'paramBuffer' | 'globalStep'>,
                         slot: number, worker: number): GradTask {
  const micro = arena.layout.microBatch;
  const rowStart = slot * micro;
  return {
    slot, inputSlot: plan.inputSlot, rowStart, rows: Math.min(micro, plan.rows - rowStart),
    batchRows: plan.rows, paramBuffer: plan.paramBuffer, worker, globalStep: plan.globalStep,
  };
}

/** Every task on the calling thread: the fastest way for small models and batches. */
export class InlineEngine extends PhasedEngine {
  private readonly ctx: StepContext;

  constructor(arena: Arena, kernels: Kernels, run: RunSettings) {
    super(arena, false);
    this.ctx = new StepContext(arena, kernels, run);
  }

  protected phase(kind: PhaseKind, total: number, plan: StepPlan, f: PhaseFields): void {
    for (let item = 0; item < total; item++) {
      if (kind === Phase.Grad) this.ctx.grad(gradTask(this.arena, plan, item, 0));
      else if (kind === Phase.Evaluate) this.ctx.evaluate(gradTask(this.arena, plan, item, 0));
      else if (kind === Phase.Reduce) this.ctx.reduce(item, Math.ceil(plan.rows / this.arena.layout.microBatch));
      else {
        this.ctx.update({
          block: item, slots: Math.ceil(plan.rows / this.arena.layout.microBatch), paramBuffer: plan.paramBuffer,
          reduced: f.reduced, learningRate: plan.learningRate, gradScale: f.gradScale, t: plan.globalStep + 1,
        });
      }
    }
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
