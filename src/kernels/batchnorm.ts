/**
 * Batch normalization over (m, n): rows are examples, columns units (Ioffe & Szegedy 2015,
 * arXiv:1502.03167), as PyTorch's BatchNorm1d computes it:
 *   ẑ = (z − mean) / √(var + eps),  y = gamma·ẑ + beta
 * with the biased variance of the batch while training and the running statistics at evaluation.
 * Sums are taken in float64, one unit (column) at a time.
 */
import type { Floats } from './types.js';

/** PyTorch's BatchNorm1d default. */
export const BATCH_NORM_EPSILON = 1e-5;
/** PyTorch's BatchNorm1d default: running ← (1 − momentum)·running + momentum·batch. */
export const BATCH_NORM_MOMENTUM = 0.1;

/** Training: mean (n), var (n) (biased) of z's columns, and y (m,n) normalized with them. */
export function batchNormForwardTrain(y: Floats, mean: Floats, variance: Floats, z: Floats, gamma: Floats, beta: Floats,
                                      m: number, n: number): void {
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let r = 0; r < m; r++) s += z[r * n + j]!;
    const mu = s / m;
    let q = 0;
    for (let r = 0; r < m; r++) { const d = z[r * n + j]! - mu; q += d * d; }
    const v = q / m;
    mean[j] = mu;
    variance[j] = v;
    const scale = gamma[j]! / Math.sqrt(v + BATCH_NORM_EPSILON);
    const shift = beta[j]! - mu * scale;
    for (let r = 0; r < m; r++) y[r * n + j] = z[r * n + j]! * scale + shift;
  }
}

/** Evaluation: y (m,n) = gamma·(z − runningMean)/√(runningVar + eps) + beta. */
export function batchNormForwardEval(y: Floats, z: Floats, gamma: Floats, beta: Floats, runningMean: Floats,
                                     runningVar: Floats, m: number, n: number): void {
  for (let j = 0; j < n; j++) {
    const scale = gamma[j]! / Math.sqrt(runningVar[j]! + BATCH_NORM_EPSILON);
    const shift = beta[j]! - runningMean[j]! * scale;
    for (let r = 0; r < m; r++) y[r * n + j] = z[r * n + j]! * scale + shift;
  }
}

/**
 * Backward of batchNormForwardTrain, given dy (m,n); dgamma, dbeta (n) accumulate, dz (m,n) is
 * written and may alias dy. With ẑ the normalized z and s = 1/√(var + eps):
 *   dgamma = Σ_r dy·ẑ,   dbeta = Σ_r dy,
 *   dz = gamma·s · (dy − dbeta/m − ẑ·dgamma/m)      (the batch's sums, not the accumulated ones)
 */
export function batchNormBackward(dz: Floats, dgamma: Floats, dbeta: Floats, dy: Floats, z: Floats, mean: Floats,
                                  variance: Floats, gamma: Floats, m: number, n: number): void {
  for (let j = 0; j < n; j++) {
    const mu = mean[j]!;
    const s = 1 / Math.sqrt(variance[j]! + BATCH_NORM_EPSILON);
    let sumDy = 0;
    let sumDyZhat = 0;
    for (let r = 0; r < m; r++) {
      const g = dy[r * n + j]!;
      sumDy += g;
      sumDyZhat += g * (z[r * n + j]! - mu) * s;
    }
    dgamma[j] = dgamma[j]! + sumDyZhat;
    dbeta[j] = dbeta[j]! + sumDy;
    const k = gamma[j]! * s;
    const meanDy = sumDy / m;
    const meanDyZhat = sumDyZhat / m;
    for (let r = 0; r < m; r++) {
      const i = r * n + j;
      dz[i] = k * (dy[i]! - meanDy - (z[i]! - mu) * s * meanDyZhat);
    }
  }
}
