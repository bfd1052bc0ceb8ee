/**
 * Optimizer updates over one contiguous range of the parameter vector (a weight shard). They
 * read the parameters of the last completed step from `pIn` and write the new ones to `pOut`,
 * the other of the two parameter buffers, so a step that fails midway never leaves a mix.
 */
import type { Floats } from './types.js';

/**
 * SGD with momentum as PyTorch defines it (torch.optim.SGD, dampening 0):
 *   v ← μ·v + g;  p ← p − lr·v        (μ = 0: p ← p − lr·g, and v is not used)
 * The velocity is double-buffered like the parameters (vIn → vOut); in and out may be the
 * same arrays for in-place (hogwild) updates.
 */
export function sgdUpdate(pOut: Floats, pIn: Floats, grad: Floats, vOut: Floats | null, vIn: Floats | null,
                          n: number, learningRate: number, momentum: number): void {
  if (momentum === 0 || vOut === null || vIn === null) {
    for (let i = 0; i < n; i++) pOut[i] = pIn[i]! - learningRate * grad[i]!;
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = momentum * vIn[i]! + grad[i]!;
    vOut[i] = v;
    pOut[i] = pIn[i]! - learningRate * v;
  }
}
