/**
 * Optimizer updates over one contiguous range of the parameter vector (a weight shard). They
 * read the parameters of the last completed step from `pIn` and write the new ones to `pOut`,
 * the other of the two parameter buffers, so a step that fails midway never leaves a mix.
 * Optimizer state is double-buffered the same way (xIn → xOut). In and out may be the same
 * arrays for in-place (hogwild) updates. Each gradient is first multiplied by `gradScale` (the
 * global-norm clipping factor, 1 without) and clamped to ±clipValue (Infinity without), as
 * torch.nn.utils.clip_grad_norm_ / clip_grad_value_ do before optimizer.step().
 */
import type { Floats } from './types.js';

/**
 * SGD with momentum as PyTorch defines it (torch.optim.SGD, dampening 0):
 *   v ← μ·v + g;  p ← p − lr·v        (μ = 0: p ← p − lr·g, and v is not used)
 * The fast path for plain SGD and momentum; sgdStep below has every option. With `sums`,
 * adds the update's squared norms to it (see updateSums).
 */
export function sgdUpdate(pOut: Floats, pIn: Floats, grad: Floats, vOut: Floats | null, vIn: Floats | null,
                          n: number, learningRate: number, momentum: number, sums: Float64Array | null = null): void {
  if (momentum === 0 || vOut === null || vIn === null) {
    for (let i = 0; i < n; i++) pOut[i] = pIn[i]! - learningRate * grad[i]!;
  } else {
    for (let i = 0; i < n; i++) {
      const v = momentum * vIn[i]! + grad[i]!;
      vOut[i] = v;
      pOut[i] = pIn[i]! - learningRate * v;
    }
  }
  if (sums !== null) updateSums(sums, pOut, pIn, n);
}

/** sums[0..2] += Σ (new − old)², Σ old², Σ new², in float64: the update's and the weights' squared norms. */
export function updateSums(sums: Float64Array, pNew: Floats, pOld: Floats, n: number): void {
  let delta = 0;
  let old = 0;
  let neu = 0;
  for (let i = 0; i < n; i++) {
    const p = pOld[i]!;
    const q = pNew[i]!;
    delta += (q - p) * (q - p);
    old += p * p;
    neu += q * q;
  }
  sums[0] += delta;
  sums[1] += old;
  sums[2] += neu;
}

/** g·gradScale clamped to [−clipValue, clipValue]. */
function clipped(g: number, gradScale: number, clipValue: number): number {
  const v = g * gradScale;
  return v > clipValue ? clipValue : v < -clipValue ? -clipValue : v;
}

/**
 * torch.optim.SGD with every option:
 *   g ← g + wd·p;  v ← μ·v + g;  d = nesterov ? g + μ·v : v   (μ = 0: d = g);  p ← p − lr·d
 */
export function sgdStep(pOut: Floats, pIn: Floats, grad: Floats, vOut: Floats | null, vIn: Floats | null, n: number,
                        learningRate: number, momentum: number, nesterov: boolean, weightDecay: number,
                        gradScale: number, clipValue: number): void {
  for (let i = 0; i < n; i++) {
    const p = pIn[i]!;
    const g = clipped(grad[i]!, gradScale, clipValue) + weightDecay * p;
    let d = g;
    if (momentum > 0 && vOut !== null && vIn !== null) {
      const v = momentum * vIn[i]! + g;
      vOut[i] = v;
      d = nesterov ? g + momentum * v : v;
    }
    pOut[i] = p - learningRate * d;
  }
}

/**
 * torch.optim.Adam (decoupled = false: L2, g ← g + wd·p) and AdamW (decoupled: p ← p·(1 − lr·wd)
 * first), at step t ≥ 1:
 *   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
 *   p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
 */
export function adamStep(pOut: Floats, pIn: Floats, grad: Floats, mOut: Floats, mIn: Floats, vOut: Floats, vIn: Floats,
                         n: number, learningRate: number, beta1: number, beta2: number, epsilon: number,
                         weightDecay: number, decoupled: boolean, t: number, gradScale: number, clipValue: number): void {
  const stepSize = learningRate / (1 - beta1 ** t);
  const bc2 = Math.sqrt(1 - beta2 ** t);
  const decay = decoupled ? 1 - learningRate * weightDecay : 1;
  const l2 = decoupled ? 0 : weightDecay;
  for (let i = 0; i < n; i++) {
    const p = pIn[i]!;
    const g = clipped(grad[i]!, gradScale, clipValue) + l2 * p;
    const m = beta1 * mIn[i]! + (1 - beta1) * g;
    const v = beta2 * vIn[i]! + (1 - beta2) * g * g;
    mOut[i] = m;
    vOut[i] = v;
    pOut[i] = p * decay - stepSize * m / (Math.sqrt(v) / bc2 + epsilon);
  }
}

/**
 * Batch norm's running statistics (PyTorch's BatchNorm1d, momentum 0.1): r ← r + μ·(s − w·r),
 * where s = Σ wᵢ·statᵢ is the rows-weighted sum of the micro-shards' statistics summed from the
 * gradient slots and w = Σ wᵢ their share of the batch (1 for a whole step, rows/B for one
 * hogwild micro-shard). With w = 1 it is r ← (1 − μ)·r + μ·s.
 */
export function runningStatsUpdate(rOut: Floats, rIn: Floats, stats: Floats, n: number, momentum: number, weight: number): void {
  for (let i = 0; i < n; i++) {
    const r = rIn[i]!;
    rOut[i] = r + momentum * (stats[i]! - weight * r);
  }
}
