import { ConfigError } from '../errors.js';

/**
 * Learning-rate schedules, as PyTorch's lr_scheduler classes define them, stepped once per
 * epoch; an optional linear warm-up multiplies the first `warmupSteps` steps' rate by
 * (step + 1)/warmupSteps (Goyal et al. 2017, arXiv:1706.02677).
 */
export type LrScheduleName = 'constant' | 'step' | 'exponential' | 'cosine';
export const LR_SCHEDULE_NAMES: readonly LrScheduleName[] = ['constant', 'step', 'exponential', 'cosine'];

export interface LrSchedule {
  name: LrScheduleName;
  /** step: epochs between decays (StepLR's step_size); 10 by default. */
  stepSize?: number;
  /** step: the decay per stepSize epochs (StepLR's gamma, 0.1); exponential: per epoch (0.95). */
  gamma?: number;
  /** cosine: the rate reached at the last epoch (CosineAnnealingLR's eta_min, 0). */
  minLearningRate?: number;
  /** Steps of linear warm-up from the start of the run (0: none). */
  warmupSteps?: number;
}

export function checkSchedule(s: LrSchedule): LrSchedule {
  const bad = (what: string, v: unknown): never => { throw new ConfigError('E_CONFIG', `lrSchedule ${what} (got ${v})`); };
  if (!LR_SCHEDULE_NAMES.includes(s.name)) bad(`name must be one of ${LR_SCHEDULE_NAMES.join(', ')}`, JSON.stringify(s.name));
  if (s.stepSize !== undefined && !(Number.isInteger(s.stepSize) && s.stepSize >= 1)) bad('stepSize must be an integer >= 1', s.stepSize);
  if (s.gamma !== undefined && !(s.gamma > 0 && s.gamma <= 1)) bad('gamma must be in (0, 1]', s.gamma);
  if (s.minLearningRate !== undefined && !(s.minLearningRate >= 0)) bad('minLearningRate must be >= 0', s.minLearningRate);
  if (s.warmupSteps !== undefined && !(Number.isInteger(s.warmupSteps) && s.warmupSteps >= 0)) bad('warmupSteps must be an integer >= 0', s.warmupSteps);
  return s;
}

/** The rate of a step in epoch `epoch` (0-based) of `epochs`, the run's `step`-th (0-based). */
export function learningRateAt(base: number, s: LrSchedule | undefined, epoch: number, epochs: number, step: number): number {
  let lr = base;
  switch (s?.name ?? 'constant') {
    case 'step': lr = base * (s!.gamma ?? 0.1) ** Math.floor(epoch / (s!.stepSize ?? 10)); break;
    case 'exponential': lr = base * (s!.gamma ?? 0.95) ** epoch; break;
    case 'cosine': {
      const min = s!.minLearningRate ?? 0;
      lr = min + (base - min) * (1 + Math.cos(Math.PI * epoch / epochs)) / 2;
      break;
    }
    default: break;
  }
  const warm = s?.warmupSteps ?? 0;
  return step < warm ? lr * (step + 1) / warm : lr;
}
