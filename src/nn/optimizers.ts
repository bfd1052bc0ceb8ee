import { ConfigError } from '../errors.js';

/** SGD with optional momentum (torch.optim.SGD semantics: v ← μv + g, p ← p − lr·v). */
export interface SgdSpec {
  name: 'sgd';
  /** 0.01, Keras's and TF.js's default (PyTorch has none). */
  learningRate: number;
  /** 0: plain SGD, as in PyTorch and Keras. */
  momentum: number;
}

export type OptimizerSpec = SgdSpec;

export function sgd(args: { learningRate?: number; momentum?: number } = {}): SgdSpec {
  const learningRate = args.learningRate ?? 0.01;
  const momentum = args.momentum ?? 0;
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
    throw new ConfigError('E_CONFIG', `learningRate must be a positive number (got ${learningRate})`);
  }
  if (!(momentum >= 0 && momentum < 1)) {
    throw new ConfigError('E_CONFIG', `momentum must be in [0, 1) (got ${momentum})`);
  }
  return { name: 'sgd', learningRate, momentum };
}

/** Parameter-shaped vectors of state the optimizer keeps (momentum's velocity). */
export function optimizerSlots(spec: OptimizerSpec): number {
  return spec.momentum > 0 ? 1 : 0;
}
