/**
 * What makes a ReLU network trainable, measured while it trains: per hidden layer, the share of
 * outputs that are active (> 0, the seed article's `T.mean(out > 0)`), the units that stayed at
 * zero for every row of an epoch ("dead"), the mean and spread of the pre-activations, the L2
 * norm of the weight gradient, and the ratio of the update's norm to the weights'.
 *
 * Each micro-shard writes its counts into its own row of the arena's stats block (statsLayout);
 * the trainer sums the rows in slot order after each step, so the figures are the same for any
 * number of workers.
 */
import { tsKernels, type Kernels } from '../kernels/kernels.js';
import type { ModelSpec } from './layers.js';
import type { Workspace } from './network.js';

/** One hidden layer's figures over an epoch (the JSON events carry these names). */
export interface LayerDiagnostics {
  /** Share of the layer's outputs > 0 over the epoch's rows (1 for sigmoid, whose outputs are all > 0). */
  activeFraction: number;
  /** Units whose output was ≤ 0 for every row of the epoch. */
  deadUnits: number;
  /** Mean and standard deviation of the activation's input (after batch norm, where there is one). */
  preActivationMean: number;
  preActivationStd: number;
  /** L2 norm of the layer's weight gradient, averaged over the epoch's steps (null in hogwild mode). */
  gradNorm: number | null;
  /** ‖ΔW‖ / ‖W‖ of the layer's weights per step, averaged over the epoch's steps (null in hogwild mode). */
  updateRatio: number | null;
}

/** Where each figure sits in one slot's row of float64 stats. */
export interface StatsLayout {
  /** Float64s per slot. */
  size: number;
  /** Per hidden layer: offsets of its active count, Σ pre-activation, Σ pre-activation², and of its per-unit active counts. */
  layers: { active: number; sum: number; sumSq: number; units: number; width: number }[];
}
export const STAT_LOSS = 0;
export const STAT_CORRECT = 1;

export function statsLayout(spec: ModelSpec): StatsLayout {
  const hidden = spec.layers.slice(0, -1);
  let at = 2 + 3 * hidden.length;
  const layers = hidden.map((l, h) => {
    const units = at;
    at += l.units;
    return { active: 2 + 3 * h, sum: 3 + 3 * h, sumSq: 4 + 3 * h, units, width: l.units };
  });
  return { size: at, layers };
}

/** Writes one micro-shard's loss, right rows and hidden-layer counts into its stats row `out`. */
export function collectStats(out: Float64Array, layout: StatsLayout, ws: Workspace, m: number, loss: number, correct: number,
                             kernels: Kernels = tsKernels): void {
  out[STAT_LOSS] = loss;
  out[STAT_CORRECT] = correct;
  layout.layers.forEach((l, h) => {
    // active, sum and sumSq sit side by side in the row: the kernel's three totals.
    kernels.layerStats(out.subarray(l.active, l.active + 3), out.subarray(l.units, l.units + l.width), ws.a[h]!, ws.y[h]!, m, l.width);
  });
}

/** Per layer of the model: Σ over the step of these squares (see the update phase, step.ts). */
export interface LayerNorms {
  /** ‖∇W‖² of the layer's weight matrix. */
  gradSqWeight: number;
  /** ‖∇‖² of its other learned tensors (bias, alpha, gamma, beta). */
  gradSqOther: number;
  /** ‖ΔW‖² and ‖W‖² (before the update) of its weight matrix. */
  deltaSqWeight: number;
  weightSq: number;
}

/** Sums the steps of one epoch into its LayerDiagnostics. */
export class EpochDiagnostics {
  private readonly totals: Float64Array;
  private rows = 0;
  private steps = 0;
  private normSteps = 0;
  private readonly gradNorm: number[];
  private readonly updateRatio: number[];

  constructor(private readonly layout: StatsLayout) {
    this.totals = new Float64Array(layout.size);
    this.gradNorm = layout.layers.map(() => 0);
    this.updateRatio = layout.layers.map(() => 0);
  }

  /** A step's stats (summed over its slots), its rows, and its per-layer norms (null in hogwild mode). */
  add(stats: Float64Array, rows: number, norms: LayerNorms[] | null): void {
    for (let i = 0; i < this.totals.length; i++) this.totals[i] += stats[i]!;
    this.rows += rows;
    this.steps++;
    if (norms === null) return;
    this.normSteps++;
    this.layout.layers.forEach((_, h) => {
      const n = norms[h]!;
      this.gradNorm[h] += Math.sqrt(n.gradSqWeight);
      this.updateRatio[h] += n.weightSq > 0 ? Math.sqrt(n.deltaSqWeight / n.weightSq) : 0;
    });
  }

  /** Its sums so far, as plain data: what a checkpoint taken mid-epoch keeps. */
  save(): DiagnosticsState {
    return {
      totals: Array.from(this.totals), rows: this.rows, steps: this.steps, normSteps: this.normSteps,
      gradNorm: this.gradNorm.slice(), updateRatio: this.updateRatio.slice(),
    };
  }

  /** An epoch's sums restored from `save()`, to go on adding to. */
  static restore(layout: StatsLayout, s: DiagnosticsState): EpochDiagnostics {
    const d = new EpochDiagnostics(layout);
    if (s.totals.length !== d.totals.length || s.gradNorm.length !== d.gradNorm.length) {
      throw new Error(`diagnostics state of ${s.totals.length} sums does not fit this model's ${d.totals.length}`);
    }
    d.totals.set(s.totals);
    d.rows = s.rows;
    d.steps = s.steps;
    d.normSteps = s.normSteps;
    s.gradNorm.forEach((v, i) => { d.gradNorm[i] = v; });
    s.updateRatio.forEach((v, i) => { d.updateRatio[i] = v; });
    return d;
  }

  finish(): LayerDiagnostics[] {
    const t = this.totals;
    return this.layout.layers.map((l, h) => {
      const count = this.rows * l.width;
      let dead = 0;
      for (let j = 0; j < l.width; j++) if (t[l.units + j] === 0) dead++;
      const mean = t[l.sum]! / count;
      return {
        activeFraction: t[l.active]! / count,
        deadUnits: dead,
        preActivationMean: mean,
        preActivationStd: Math.sqrt(Math.max(0, t[l.sumSq]! / count - mean * mean)),
        gradNorm: this.normSteps > 0 ? this.gradNorm[h]! / this.normSteps : null,
        updateRatio: this.normSteps > 0 ? this.updateRatio[h]! / this.normSteps : null,
      };
    });
  }
}

/** EpochDiagnostics' sums as plain data. */
export interface DiagnosticsState {
  totals: number[];
  rows: number;
  steps: number;
  normSteps: number;
  gradNorm: number[];
  updateRatio: number[];
}
