import assert from 'node:assert/strict';
import type { Floats } from '../kernels/types.js';
import { forward, layerViews, lossSum, workspace, workspaceSize } from './network.js';
import type { ModelSpec } from './layers.js';
import { classesOfLogits, probabilitiesOfLogits } from './outputs.js';
import { initParams, paramLayout, type ParamLayout } from './params.js';
import { Prng } from './prng.js';
import { applyStandardization, type Standardization } from '../pipeline/standardize.js';

/** Rows forwarded at a time by predict and evaluate: bounds their scratch memory. */
const PREDICT_BLOCK = 1024;

/** What the model was trained on, kept so it can be applied to new data the same way. */
export interface ModelInfo {
  /** Feature column names, in input order. */
  features?: string[];
  /** The label column's name. */
  label?: string;
  /** The label value of each class index (0, 1, … for integer labels; false, true for bools). */
  classLabels?: (number | boolean | string)[];
  /** Per-feature mean and std the inputs are standardized with before the first layer. */
  standardize?: Standardization;
}

/** A model: its spec and its flat parameters (layout from paramLayout(spec)). */
export class Model {
  readonly layout: ParamLayout;

  constructor(readonly spec: ModelSpec, readonly params: Float32Array, readonly info: ModelInfo = {}) {
    this.layout = paramLayout(spec);
    assert.equal(params.length, this.layout.size, 'parameter vector does not fit the spec');
  }

  /** A model with parameters drawn by each layer's initializers from Prng(seed). */
  static init(spec: ModelSpec, seed: number, info: ModelInfo = {}): Model {
    const layout = paramLayout(spec);
    const params = new Float32Array(layout.size);
    initParams(params, spec, layout, new Prng(seed));
    return new Model(spec, params, info);
  }

  /** Number of logits per row: 1 for two classes, K otherwise. */
  get outputs(): number {
    return this.spec.layers[this.spec.layers.length - 1]!.units;
  }

  /** Logits (rows, outputs) of x (rows, inputs). */
  predictLogits(x: Float32Array, rows: number): Float32Array {
    const out = new Float32Array(rows * this.outputs);
    this.forEachBlock(x, rows, (logits, start, m) => out.set(logits.subarray(0, m * this.outputs), start * this.outputs));
    return out;
  }

  /** Probabilities: (rows) of class 1 for two classes, (rows, K) softmax otherwise. */
  predictProba(x: Float32Array, rows: number): Float32Array {
    return probabilitiesOfLogits(this.predictLogits(x, rows), rows, this.outputs);
  }

  /** Class index per row (threshold 0.5 for two classes, argmax otherwise). */
  predictClasses(x: Float32Array, rows: number): Int32Array {
    return classesOfLogits(this.predictLogits(x, rows), rows, this.outputs);
  }

  /** Mean loss and accuracy over rows of x with labels (class indices). */
  evaluate(x: Float32Array, labels: Float32Array, rows: number): { loss: number; accuracy: number } {
    const { loss, correct } = this.lossSum(x, labels, rows);
    return { loss: loss / rows, accuracy: correct / rows };
  }

  /**
   * Σ loss and the rows predicted right; `prepared` inputs are already standardized (the
   * training loop's, which standardizes rows on their way into the arena).
   */
  lossSum(x: Float32Array, labels: Float32Array, rows: number, prepared = false): { loss: number; correct: number } {
    let loss = 0;
    let correct = 0;
    this.forEachBlock(x, rows, (logits, start, m) => {
      const r = lossSum(this.spec, logits, labels.subarray(start, start + m), m);
      loss += r.loss;
      correct += r.correct;
    }, prepared);
    return { loss, correct };
  }

  private forEachBlock(x: Float32Array, rows: number, fn: (logits: Floats, start: number, m: number) => void, prepared = false): void {
    const block = Math.min(PREDICT_BLOCK, Math.max(1, rows));
    const ws = workspace(new Float32Array(workspaceSize(this.spec, block)), this.spec, block);
    const params = layerViews(this.params, this.layout);
    const n = this.spec.inputs;
    const s = prepared ? undefined : this.info.standardize;
    const scaled = s === undefined ? undefined : new Float32Array(block * n);
    for (let start = 0; start < rows; start += block) {
      const m = Math.min(block, rows - start);
      let input = x.subarray(start * n, (start + m) * n);
      if (scaled !== undefined) {
        scaled.set(input);
        applyStandardization(scaled, m, s!);
        input = scaled.subarray(0, m * n);
      }
      fn(forward(this.spec, params, ws, input, m), start, m);
    }
  }
}
