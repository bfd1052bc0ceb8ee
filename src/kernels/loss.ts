/**
 * Losses from logits, in the numerically stable forms. Forward returns the *sum* over rows (the
 * caller divides by the global batch size); backward writes dlogits already multiplied by
 * `scale` (1/B for the mean loss over a global batch of B rows). Labels are class indices held
 * as float32 (exact up to 2²⁴).
 */
import type { Floats } from './types.js';

/**
 * Binary cross-entropy of z = logit, y ∈ {0,1}:
 *   −y·log σ(z) − (1−y)·log(1 − σ(z)) = max(z,0) − z·y + log(1 + e^(−|z|))
 * which never takes the log of 0 nor overflows exp. d/dz = σ(z) − y.
 */
export function binaryCrossentropyForward(logits: Floats, labels: Floats, m: number): number {
  let sum = 0;
  for (let i = 0; i < m; i++) {
    const z = logits[i]!;
    sum += Math.max(z, 0) - z * labels[i]! + Math.log1p(Math.exp(-Math.abs(z)));
  }
  return sum;
}
export function binaryCrossentropyBackward(dlogits: Floats, logits: Floats, labels: Floats,
                                           m: number, scale: number): void {
  for (let i = 0; i < m; i++) {
    const z = logits[i]!;
    const p = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    dlogits[i] = scale * (p - labels[i]!);
  }
}
/** Rows whose logit is on the side of its label (σ(z) > 0.5 ⇔ z > 0 predicts class 1). */
export function binaryCorrect(logits: Floats, labels: Floats, m: number): number {
  let correct = 0;
  for (let i = 0; i < m; i++) if ((logits[i]! > 0 ? 1 : 0) === labels[i]) correct++;
  return correct;
}

/**
 * Sparse categorical cross-entropy over logits (m,k), label c: log Σ_j e^(z_j) − z_c, with the
 * row maximum subtracted first. d/dz_j = softmax(z)_j − [j = c].
 */
export function sparseCategoricalCrossentropyForward(logits: Floats, labels: Floats,
                                                     m: number, k: number): number {
  let sum = 0;
  for (let i = 0; i < m; i++) {
    const o = i * k;
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[o + j]!);
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.exp(logits[o + j]! - max);
    sum += Math.log(s) + max - logits[o + labels[i]!]!;
  }
  return sum;
}
export function sparseCategoricalCrossentropyBackward(dlogits: Floats, logits: Floats,
                                                      labels: Floats, m: number, k: number,
                                                      scale: number): void {
  for (let i = 0; i < m; i++) {
    const o = i * k;
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[o + j]!);
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.exp(logits[o + j]! - max);
    const c = labels[i]!;
    for (let j = 0; j < k; j++) {
      dlogits[o + j] = scale * (Math.exp(logits[o + j]! - max) / s - (j === c ? 1 : 0));
    }
  }
}
/** Rows whose largest logit is at their label (the first maximum wins ties, as argmax does). */
export function argmaxCorrect(logits: Floats, labels: Floats, m: number, k: number): number {
  let correct = 0;
  for (let i = 0; i < m; i++) {
    const o = i * k;
    let best = 0;
    for (let j = 1; j < k; j++) if (logits[o + j]! > logits[o + best]!) best = j;
    if (best === labels[i]) correct++;
  }
  return correct;
}
