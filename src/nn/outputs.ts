/**
 * From a network's logits to what it predicts: the class of each row and the probabilities
 * (sigmoid for one logit, softmax for K), shared by Model.predictClasses/predictProba and the
 * predictBatches operator, so the two never disagree.
 */
import { sigmoid } from '../kernels/activations.js';

/** Class index per row of logits (rows, k): z > 0 for one logit, else the first largest. */
export function classesOfLogits(logits: Float32Array, rows: number, k: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    if (k === 1) { out[r] = logits[r]! > 0 ? 1 : 0; continue; }
    let best = 0;
    for (let j = 1; j < k; j++) if (logits[r * k + j]! > logits[r * k + best]!) best = j;
    out[r] = best;
  }
  return out;
}

/** σ(z) (rows) for one logit, softmax (rows, k) otherwise. */
export function probabilitiesOfLogits(logits: Float32Array, rows: number, k: number): Float32Array {
  if (k === 1) return logits.map(sigmoid);
  const p = new Float32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const o = r * k;
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[o + j]!);
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.exp(logits[o + j]! - max);
    for (let j = 0; j < k; j++) p[o + j] = Math.exp(logits[o + j]! - max) / s;
  }
  return p;
}
