/**
 * Elementwise activation kernels over n values, each forward right above its backward.
 * x is the pre-activation, y = f(x) the output. Backward *writes* dx = dy · f'(x) (it is the
 * first thing done to a layer's output gradient, nothing to add to), and dx may alias dy.
 * Where f is not differentiable (0 for the ReLU family) the convention is PyTorch's.
 */
import type { Floats } from './types.js';

export function linearForward(y: Floats, x: Floats, n: number): void {
  if (y !== x) y.set(x.subarray(0, n));
}
export function linearBackward(dx: Floats, dy: Floats, n: number): void {
  if (dx !== dy) dx.set(dy.subarray(0, n));
}

/**
 * relu(x) = max(0, x) = ½(x + |x|), written without a branch: on real data the sign is a coin
 * toss, and a mispredicted branch per element costs more than the arithmetic (2.5× here).
 * ½(x + |x|) is exact in float64 for every float32 x. relu'(0) = 0 as in PyTorch.
 */
export function reluForward(y: Floats, x: Floats, n: number): void {
  for (let i = 0; i < n; i++) { const v = x[i]!; y[i] = 0.5 * (v + Math.abs(v)); }
}
/** dx = dy · [x > 0]; the comparison is multiplied in, not branched on, for the same reason. */
export function reluBackward(dx: Floats, dy: Floats, x: Floats, n: number): void {
  for (let i = 0; i < n; i++) dx[i] = dy[i]! * +(x[i]! > 0);
}

/** leakyRelu(x) = x for x > 0, alpha·x otherwise; the slope at 0 is alpha, as in PyTorch. */
export function leakyReluForward(y: Floats, x: Floats, alpha: number, n: number): void {
  for (let i = 0; i < n; i++) { const v = x[i]!; y[i] = v > 0 ? v : alpha * v; }
}
export function leakyReluBackward(dx: Floats, dy: Floats, x: Floats, alpha: number, n: number): void {
  for (let i = 0; i < n; i++) dx[i] = x[i]! > 0 ? dy[i]! : alpha * dy[i]!;
}

/** prelu over (m, units): slope alpha[u] learned per unit. */
export function preluForward(y: Floats, x: Floats, alpha: Floats, m: number, units: number): void {
  for (let r = 0; r < m; r++) {
    const o = r * units;
    for (let u = 0; u < units; u++) { const v = x[o + u]!; y[o + u] = v > 0 ? v : alpha[u]! * v; }
  }
}
/** dalpha (units) += Σ_rows dy·x where x ≤ 0. */
export function preluBackward(dx: Floats, dalpha: Floats, dy: Floats, x: Floats,
                              alpha: Floats, m: number, units: number): void {
  for (let r = 0; r < m; r++) {
    const o = r * units;
    for (let u = 0; u < units; u++) {
      const v = x[o + u]!, g = dy[o + u]!;
      if (v > 0) {
        dx[o + u] = g;
      } else {
        dalpha[u] = dalpha[u]! + g * v;
        dx[o + u] = alpha[u]! * g;
      }
    }
  }
}

/** elu(x) = x for x > 0, alpha·(eˣ − 1) otherwise; elu'(x) = y + alpha there. */
export function eluForward(y: Floats, x: Floats, alpha: number, n: number): void {
  for (let i = 0; i < n; i++) { const v = x[i]!; y[i] = v > 0 ? v : alpha * Math.expm1(v); }
}
export function eluBackward(dx: Floats, dy: Floats, x: Floats, alpha: number, n: number): void {
  for (let i = 0; i < n; i++) { const v = x[i]!; dx[i] = v > 0 ? dy[i]! : dy[i]! * alpha * Math.exp(v); }
}

/** swish(x) = x·σ(x); swish'(x) = σ(x)·(1 + x·(1 − σ(x))). */
export function swishForward(y: Floats, x: Floats, n: number): void {
  for (let i = 0; i < n; i++) { const v = x[i]!; y[i] = v * sigmoid(v); }
}
export function swishBackward(dx: Floats, dy: Floats, x: Floats, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i]!, s = sigmoid(v);
    dx[i] = dy[i]! * s * (1 + v * (1 - s));
  }
}

const GELU_C = Math.sqrt(2 / Math.PI);
/** gelu(x) ≈ ½x(1 + tanh(c(x + 0.044715x³))), c = √(2/π): the tanh approximation. */
export function geluForward(y: Floats, x: Floats, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    y[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v)));
  }
}
/** gelu'(x) = ½(1 + t) + ½x(1 − t²)·c(1 + 3·0.044715x²), t = tanh(c(x + 0.044715x³)). */
export function geluBackward(dx: Floats, dy: Floats, x: Floats, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    const t = Math.tanh(GELU_C * (v + 0.044715 * v * v * v));
    dx[i] = dy[i]! * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * v * v));
  }
}

/** tanh'(x) = 1 − y². */
export function tanhForward(y: Floats, x: Floats, n: number): void {
  for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]!);
}
export function tanhBackward(dx: Floats, dy: Floats, y: Floats, n: number): void {
  for (let i = 0; i < n; i++) { const t = y[i]!; dx[i] = dy[i]! * (1 - t * t); }
}

/** σ'(x) = y(1 − y). */
export function sigmoidForward(y: Floats, x: Floats, n: number): void {
  for (let i = 0; i < n; i++) y[i] = sigmoid(x[i]!);
}
export function sigmoidBackward(dx: Floats, dy: Floats, y: Floats, n: number): void {
  for (let i = 0; i < n; i++) { const s = y[i]!; dx[i] = dy[i]! * s * (1 - s); }
}

/** σ(x) = 1/(1 + e⁻ˣ), written so that neither branch overflows. */
export function sigmoid(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}
