import { ConfigError } from '../errors.js';

/**
 * Optimizers as plain data (a worker rebuilds the update from the spec alone), with PyTorch's
 * semantics and defaults; the updates themselves are in kernels/optim.ts.
 */

/** SGD with optional momentum, Nesterov momentum and L2 weight decay, as torch.optim.SGD (dampening 0). */
export interface SgdSpec {
  name: 'sgd';
  /** 0.01, Keras's and TF.js's default (PyTorch has none). */
  learningRate: number;
  /** 0: plain SGD, as in PyTorch and Keras. */
  momentum: number;
  /** Nesterov momentum (Sutskever et al. 2013), as PyTorch writes it: p ← p − lr·(g + μ·v). */
  nesterov: boolean;
  /** L2 penalty added to the gradient: g ← g + wd·p. 0 as in PyTorch. */
  weightDecay: number;
}

/**
 * Adam (Kingma & Ba 2015, arXiv:1412.6980) and AdamW (Loshchilov & Hutter 2019,
 * arXiv:1711.05101), as torch.optim.Adam / AdamW: Adam adds weightDecay·p to the gradient (L2),
 * AdamW decays the weights directly, p ← p·(1 − lr·wd), before the Adam step.
 */
export interface AdamSpec {
  name: 'adam' | 'adamw';
  /** 0.001, PyTorch's and Keras's default. */
  learningRate: number;
  /** 0.9 and 0.999, the paper's and PyTorch's. */
  beta1: number;
  beta2: number;
  /** 1e-8, PyTorch's (Keras uses 1e-7). */
  epsilon: number;
  /** Adam: 0; AdamW: 0.01, PyTorch's defaults. */
  weightDecay: number;
}

export type OptimizerSpec = SgdSpec | AdamSpec;
export type OptimizerName = OptimizerSpec['name'];
export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['sgd', 'adam', 'adamw'];

function check(ok: boolean, what: string, value: unknown): void {
  if (!ok) throw new ConfigError('E_CONFIG', `${what} (got ${value})`);
}

function learningRate(value: number): number {
  check(value > 0 && Number.isFinite(value), 'learningRate must be a positive number', value);
  return value;
}

function weightDecay(value: number): number {
  check(value >= 0 && Number.isFinite(value), 'weightDecay must be a number >= 0', value);
  return value;
}

export function sgd(args: { learningRate?: number; momentum?: number; nesterov?: boolean; weightDecay?: number } = {}): SgdSpec {
  const momentum = args.momentum ?? 0;
  check(momentum >= 0 && momentum < 1, 'momentum must be in [0, 1)', momentum);
  const nesterov = args.nesterov ?? false;
  // PyTorch refuses Nesterov without momentum: it would be plain SGD under another name.
  check(!nesterov || momentum > 0, 'nesterov needs a momentum > 0; momentum is', momentum);
  return { name: 'sgd', learningRate: learningRate(args.learningRate ?? 0.01), momentum, nesterov, weightDecay: weightDecay(args.weightDecay ?? 0) };
}

interface AdamArgs { learningRate?: number; beta1?: number; beta2?: number; epsilon?: number; weightDecay?: number }

function adamLike(name: AdamSpec['name'], args: AdamArgs, defaultDecay: number): AdamSpec {
  const beta1 = args.beta1 ?? 0.9;
  const beta2 = args.beta2 ?? 0.999;
  const epsilon = args.epsilon ?? 1e-8;
  check(beta1 >= 0 && beta1 < 1, 'beta1 must be in [0, 1)', beta1);
  check(beta2 >= 0 && beta2 < 1, 'beta2 must be in [0, 1)', beta2);
  check(epsilon > 0, 'epsilon must be > 0', epsilon);
  return { name, learningRate: learningRate(args.learningRate ?? 0.001), beta1, beta2, epsilon, weightDecay: weightDecay(args.weightDecay ?? defaultDecay) };
}

export function adam(args: AdamArgs = {}): AdamSpec {
  return adamLike('adam', args, 0);
}

export function adamw(args: AdamArgs = {}): AdamSpec {
  return adamLike('adamw', args, 0.01);
}

/** Parameter-shaped vectors of state the optimizer keeps: momentum's velocity, Adam's two moments. */
export function optimizerSlots(spec: OptimizerSpec): number {
  if (spec.name === 'sgd') return spec.momentum > 0 ? 1 : 0;
  return 2;
}
