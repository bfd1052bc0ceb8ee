import type { Kernels } from '../kernels/kernels.js';
import { backward, forward, lossSum, type LayerViews, type Workspace } from '../nn/network.js';
import type { OptimizerSpec } from '../nn/optimizers.js';
import type { Arena } from './arena.js';

/**
 * The two kinds of work a step is made of, as plain functions over the arena, so the calling
 * thread (inline mode) and every pool worker run exactly the same code:
 *  1. grad: one micro-shard's forward and backward into its own gradient slot;
 *  2. reduce+update: over one contiguous range of parameters, sum the slots in slot order
 *     (into slot 0), then apply the optimizer, reading parameter buffer `paramBuffer` and
 *     writing the other one.
 * Tasks are small descriptors of offsets and counts, never arrays.
 */
export interface GradTask {
  /** Gradient slot = micro-shard index within the step. */
  slot: number;
  /** Which input slot holds the batch. */
  inputSlot: number;
  /** First row of the micro-shard within the batch, and its number of rows (≤ microBatch). */
  rowStart: number;
  rows: number;
  /** Rows in the whole batch: the gradient is scaled by 1/batchRows. */
  batchRows: number;
  /** Parameter buffer holding the current weights. */
  paramBuffer: number;
  /** Whose scratch to use. */
  worker: number;
}

export interface UpdateTask {
  /** Parameter range [start, end). */
  start: number;
  end: number;
  /** Gradient slots this step filled. */
  slots: number;
  /** Parameter buffer read; the update writes 1 − paramBuffer. */
  paramBuffer: number;
  optimizer: OptimizerSpec;
}

/** Views over one arena, built once per thread. */
export class StepContext {
  private readonly params: [LayerViews[], LayerViews[]];
  private readonly grads: LayerViews[][];
  private readonly workspaces: Workspace[];

  constructor(readonly arena: Arena, readonly kernels: Kernels) {
    this.params = [arena.paramViews(0), arena.paramViews(1)];
    this.grads = Array.from({ length: arena.layout.gradSlots }, (_, s) => arena.gradViews(s));
    this.workspaces = Array.from({ length: arena.layout.workers }, (_, w) => arena.workspace(w));
  }

  grad(t: GradTask): void {
    const { arena } = this;
    const inputs = arena.spec.inputs;
    const input = arena.input(t.inputSlot);
    const x = input.features.subarray(t.rowStart * inputs, (t.rowStart + t.rows) * inputs);
    const labels = input.labels.subarray(t.rowStart, t.rowStart + t.rows);
    const params = this.params[t.paramBuffer]!;
    const ws = this.workspaces[t.worker]!;
    arena.grad(t.slot).fill(0);
    const logits = forward(arena.spec, params, ws, x, t.rows, this.kernels);
    const { loss, correct } = lossSum(arena.spec, logits, labels, t.rows);
    backward(arena.spec, params, this.grads[t.slot]!, ws, x, labels, t.rows, 1 / t.batchRows, this.kernels);
    arena.metrics[2 * t.slot] = loss;
    arena.metrics[2 * t.slot + 1] = correct;
  }

  update(t: UpdateTask): void {
    const { arena } = this;
    const n = t.end - t.start;
    const grad = arena.grad(0).subarray(t.start, t.end);
    this.kernels.sumSlots(grad, arena.gradSlotsFrom(t.start), arena.layout.stride, t.slots, n);
    this.apply(grad, t.start, t.end, t.paramBuffer, 1 - t.paramBuffer, t.optimizer);
  }

  /**
   * Hogwild (Recht et al. 2011): one micro-shard's gradient applied at once to the shared
   * parameters in place, while other workers read and write them. Not reproducible.
   */
  hogwild(t: GradTask, optimizer: OptimizerSpec): void {
    this.grad(t);
    this.apply(this.arena.grad(t.slot), 0, this.arena.layout.params.size, t.paramBuffer, t.paramBuffer, optimizer);
  }

  /** The optimizer over [start, end): parameters and optimizer state from buffer `from` into buffer `to`. */
  private apply(grad: Float32Array, start: number, end: number, from: number, to: number, opt: OptimizerSpec): void {
    const { arena } = this;
    const pIn = arena.params(from).subarray(start, end);
    const pOut = arena.params(to).subarray(start, end);
    const state = arena.layout.optimizerSlots > 0;
    const vIn = state ? arena.optimizerState(from, 0).subarray(start, end) : null;
    const vOut = state ? arena.optimizerState(to, 0).subarray(start, end) : null;
    this.kernels.sgdUpdate(pOut, pIn, grad, vOut, vIn, end - start, opt.learningRate, opt.momentum);
  }
}
