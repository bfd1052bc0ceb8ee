import type { Kernels } from '../kernels/kernels.js';
import { BATCH_NORM_MOMENTUM } from '../kernels/batchnorm.js';
import { adamStep, runningStatsUpdate, sgdStep } from '../kernels/optim.js';
import { collectStats, STAT_CORRECT, STAT_LOSS } from '../nn/diagnostics.js';
import { backward, batchNormStatistics, forward, lossSum, type LayerViews, type Workspace } from '../nn/network.js';
import type { OptimizerSpec } from '../nn/optimizers.js';
import { trainable, type TensorSlice } from '../nn/params.js';
import { NORM_BLOCK, NORM_FIELDS, type Arena } from './arena.js';

/**
 * The kinds of work a step is made of, as plain functions over the arena, so the calling thread
 * (inline mode) and every pool worker run exactly the same code:
 *  1. grad: one micro-shard's forward and backward into its own gradient slot, and its stats;
 *  2. reduce (only when clipping by global norm): over one block of parameters, sum the slots in
 *     slot order into slot 0 and record the block's squared gradient norms;
 *  3. update: over one block, sum the slots (unless reduced already), then apply the optimizer,
 *     reading parameter buffer `paramBuffer` and writing the other one, and record the block's
 *     norms of the update and the weights.
 * and, outside steps, evaluate: one micro-shard's forward at evaluation, its loss into its slot.
 * Tasks are small descriptors of offsets and counts, never arrays.
 */

/** What stays fixed for a whole run, given to every thread once. */
export interface RunSettings {
  optimizer: OptimizerSpec;
  /** Seeds the dropout masks. */
  seed: number;
  /** Clamp each summed gradient to ±clipValue (Infinity: no clamp). */
  clipValue: number;
}

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
  /** Steps completed in the whole run before this one: names the dropout masks. */
  globalStep: number;
}

export interface UpdateTask {
  /** Update block: parameters [block·NORM_BLOCK, (block + 1)·NORM_BLOCK). */
  block: number;
  /** Gradient slots this step filled. */
  slots: number;
  /** Parameter buffer read; the update writes 1 − paramBuffer. */
  paramBuffer: number;
  /** Whether a reduce phase already summed the slots into slot 0. */
  reduced: boolean;
  learningRate: number;
  /** Multiplies every gradient (the global-norm clipping factor; 1 without clipping). */
  gradScale: number;
  /** The optimizer's step count t ≥ 1 (Adam's bias correction). */
  t: number;
}

/** Views over one arena, built once per thread. */
export class StepContext {
  private readonly params: [LayerViews[], LayerViews[]];
  private readonly grads: LayerViews[][];
  private readonly workspaces: Workspace[];
  private readonly size: number;

  constructor(readonly arena: Arena, readonly kernels: Kernels, readonly run: RunSettings) {
    this.params = [arena.paramViews(0), arena.paramViews(1)];
    this.grads = Array.from({ length: arena.layout.gradSlots }, (_, s) => arena.gradViews(s));
    this.workspaces = Array.from({ length: arena.layout.workers }, (_, w) => arena.workspace(w));
    this.size = arena.layout.params.size;
  }

  grad(t: GradTask): void {
    const { arena, kernels } = this;
    const spec = arena.spec;
    const inputs = spec.inputs;
    const input = arena.input(t.inputSlot);
    const x = input.features.subarray(t.rowStart * inputs, (t.rowStart + t.rows) * inputs);
    const labels = input.labels.subarray(t.rowStart, t.rowStart + t.rows);
    const params = this.params[t.paramBuffer]!;
    const grads = this.grads[t.slot]!;
    const ws = this.workspaces[t.worker]!;
    const pass = { seed: this.run.seed, step: t.globalStep, rowStart: t.rowStart };
    arena.grad(t.slot).fill(0);
    const logits = forward(spec, params, ws, x, t.rows, kernels, pass);
    const { loss, correct } = lossSum(spec, logits, labels, t.rows);
    collectStats(arena.slotStats(t.slot), arena.layout.stats, ws, t.rows, loss, correct, kernels);
    backward(spec, params, grads, ws, x, labels, t.rows, 1 / t.batchRows, kernels, pass);
    batchNormStatistics(spec, grads, ws, t.rows, t.rows / t.batchRows);
  }

  /** Evaluation: the micro-shard's forward at evaluation (running statistics, no dropout), its loss and right rows. */
  evaluate(t: GradTask): void {
    const { arena } = this;
    const inputs = arena.spec.inputs;
    const input = arena.input(t.inputSlot);
    const x = input.features.subarray(t.rowStart * inputs, (t.rowStart + t.rows) * inputs);
    const logits = forward(arena.spec, this.params[t.paramBuffer]!, this.workspaces[t.worker]!, x, t.rows, this.kernels);
    const { loss, correct } = lossSum(arena.spec, logits, input.labels.subarray(t.rowStart, t.rowStart + t.rows), t.rows);
    const stats = arena.slotStats(t.slot);
    stats.fill(0);
    stats[STAT_LOSS] = loss;
    stats[STAT_CORRECT] = correct;
  }

  reduce(block: number, slots: number): void {
    this.sum(block, slots);
  }

  update(t: UpdateTask): void {
    const [start, end] = this.range(t.block);
    if (!t.reduced) this.sum(t.block, t.slots);
    const norms = this.arena.norms;
    for (let l = 0; l < this.arena.spec.layers.length; l++) norms.fill(0, this.normsOf(t.block, l) + 2, this.normsOf(t.block, l) + NORM_FIELDS);
    this.apply(this.arena.grad(0), start, end, t.paramBuffer, 1 - t.paramBuffer, t, 1, t.block);
  }

  /**
   * Hogwild (Recht et al. 2011): one micro-shard's gradient applied at once to the shared
   * parameters in place, while other workers read and write them. Not reproducible.
   */
  hogwild(g: GradTask, u: Omit<UpdateTask, 'block' | 'slots' | 'reduced' | 'paramBuffer'>): void {
    this.grad(g);
    this.apply(this.arena.grad(g.slot), 0, this.size, g.paramBuffer, g.paramBuffer, u, g.rows / g.batchRows);
  }

  private range(block: number): [number, number] {
    const start = block * NORM_BLOCK;
    return [start, Math.min(this.size, start + NORM_BLOCK)];
  }

  /**
   * Slot 0 ← Σ_s slot s, in slot order, over the block, tensor by tensor; fields 0 and 1 of the
   * block's norms get Σ g² of the weights and of the other learned tensors, per layer.
   */
  private sum(block: number, slots: number): void {
    const { arena } = this;
    const [start, end] = this.range(block);
    const grad = arena.grad(0);
    const norms = arena.norms;
    for (let l = 0; l < arena.spec.layers.length; l++) norms.fill(0, this.normsOf(block, l), this.normsOf(block, l) + 2);
    for (const [t, a, b] of this.pieces(start, end)) {
      const sq = this.kernels.sumSlots(grad.subarray(a, b), arena.gradSlotsFrom(a), arena.layout.stride, slots, b - a);
      if (trainable(t)) norms[this.normsOf(block, t.layer) + (t.role === 'weight' ? 0 : 1)] += sq;
    }
  }

  /** The tensors that overlap [start, end), each with its overlap. */
  private *pieces(start: number, end: number): Generator<[TensorSlice, number, number]> {
    for (const t of this.arena.layout.params.tensors) {
      const a = Math.max(start, t.offset);
      const b = Math.min(end, t.offset + t.length);
      if (a < b) yield [t, a, b];
    }
  }

  private normsOf(block: number, layer: number): number {
    return (block * this.arena.spec.layers.length + layer) * NORM_FIELDS;
  }

  /**
   * The optimizer over [start, end): parameters and optimizer state from buffer `from` into
   * buffer `to`; batch norm's running statistics get their moving average instead. `weight` is
   * the gradient's share of the batch (1, or rows/B for one hogwild micro-shard). With `block`,
   * the block's norms get Σ (new − old)², Σ old², Σ new²: fields 2–4 for weights, 5–7 for the
   * rest (a non-finite Σ new² means the update overflowed).
   */
  private apply(grad: Float32Array, start: number, end: number, from: number, to: number,
                u: Pick<UpdateTask, 'learningRate' | 'gradScale' | 't'>, weight: number, block?: number): void {
    const { arena, kernels: k } = this;
    const opt = this.run.optimizer;
    const pIn = arena.params(from);
    const pOut = arena.params(to);
    const slots = arena.layout.optimizerSlots;
    // The optimizer's state is updated in place (see ArenaLayout.optimizer).
    const s0 = slots > 0 ? arena.optimizerState(0) : null;
    const s1 = slots > 1 ? arena.optimizerState(1) : null;
    const clip = this.run.clipValue;
    const sub = (v: Float32Array | null, a: number, b: number): Float32Array | null => (v === null ? null : v.subarray(a, b));
    for (const [t, a, b] of this.pieces(start, end)) {
      const n = b - a;
      const o = block === undefined ? -1 : this.normsOf(block, t.layer) + (t.role === 'weight' ? 2 : 5);
      const sums = o < 0 ? null : arena.norms.subarray(o, o + 3);
      const [after, before, g] = [pOut.subarray(a, b), pIn.subarray(a, b), grad.subarray(a, b)];
      if (trainable(t) && opt.name === 'sgd' && !opt.nesterov && opt.weightDecay === 0 && u.gradScale === 1 && clip === Infinity) {
        // The fast path: the wasm update adds the sums while it has the values in registers.
        k.sgdUpdate(after, before, g, sub(s0, a, b), sub(s0, a, b), n, u.learningRate, opt.momentum, sums);
        continue;
      }
      if (!trainable(t)) {
        runningStatsUpdate(after, before, g, n, BATCH_NORM_MOMENTUM, weight);
      } else if (opt.name === 'sgd') {
        sgdStep(after, before, g, sub(s0, a, b), sub(s0, a, b), n, u.learningRate, opt.momentum, opt.nesterov, opt.weightDecay, u.gradScale, clip);
      } else {
        adamStep(after, before, g, s0!.subarray(a, b), s0!.subarray(a, b), s1!.subarray(a, b), s1!.subarray(a, b), n,
          u.learningRate, opt.beta1, opt.beta2, opt.epsilon, opt.weightDecay, opt.name === 'adamw', u.t, u.gradScale, clip);
      }
      if (sums !== null) {
        sums[0] += k.sumSquaredDiff(after, before, n);
        sums[1] += k.sumSquares(before, n);
        sums[2] += k.sumSquares(after, n);
      }
    }
  }
}
