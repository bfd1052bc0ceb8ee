import { ConfigError } from '../errors.js';
import type { Prng } from './prng.js';

/**
 * Weight initializers, as Keras/TF.js define them, as plain data so a spec can be saved and a
 * worker can rebuild it. All draws come from the run's one seeded Prng, in row-major order of
 * the (nOut, nIn) weight.
 */
export type InitializerName =
  'heNormal' | 'heUniform' | 'glorotNormal' | 'glorotUniform' | 'lecunNormal' | 'lecunUniform' | 'zeros' | 'ones';

export type VarianceScalingMode = 'fanIn' | 'fanOut' | 'fanAvg';
export type VarianceScalingDistribution = 'uniform' | 'normal' | 'truncatedNormal';

export type InitializerSpec =
  | InitializerName
  | { name: 'varianceScaling'; scale: number; mode: VarianceScalingMode; distribution: VarianceScalingDistribution }
  | { name: 'constant'; value: number }
  | { name: 'uniform'; limit: number };

/** The presets, each a varianceScaling (He et al. 2015; Glorot & Bengio 2010; LeCun et al. 1998). */
const PRESETS: Readonly<Record<string, { scale: number; mode: VarianceScalingMode; distribution: VarianceScalingDistribution }>> = {
  heNormal: { scale: 2, mode: 'fanIn', distribution: 'truncatedNormal' },
  heUniform: { scale: 2, mode: 'fanIn', distribution: 'uniform' },
  glorotNormal: { scale: 1, mode: 'fanAvg', distribution: 'truncatedNormal' },
  glorotUniform: { scale: 1, mode: 'fanAvg', distribution: 'uniform' },
  lecunNormal: { scale: 1, mode: 'fanIn', distribution: 'truncatedNormal' },
  lecunUniform: { scale: 1, mode: 'fanIn', distribution: 'uniform' },
};

/** PyTorch's names for the same initializers. */
export const INITIALIZER_ALIASES: Readonly<Record<string, InitializerName>> = {
  xavierUniform: 'glorotUniform', xavierNormal: 'glorotNormal',
  kaimingUniform: 'heUniform', kaimingNormal: 'heNormal', zero: 'zeros',
};

export const INITIALIZER_NAMES: readonly string[] = [...Object.keys(PRESETS), 'zeros', 'ones'];

export function varianceScaling(args: { scale?: number; mode?: VarianceScalingMode; distribution?: VarianceScalingDistribution }): InitializerSpec {
  const scale = args.scale ?? 1; // Keras's default
  if (!(scale > 0)) throw new ConfigError('E_CONFIG', `varianceScaling: scale must be positive (got ${scale})`);
  return { name: 'varianceScaling', scale, mode: args.mode ?? 'fanIn', distribution: args.distribution ?? 'truncatedNormal' };
}
export const heNormal = (): InitializerSpec => 'heNormal';
export const heUniform = (): InitializerSpec => 'heUniform';
export const glorotNormal = (): InitializerSpec => 'glorotNormal';
export const glorotUniform = (): InitializerSpec => 'glorotUniform';
export const lecunNormal = (): InitializerSpec => 'lecunNormal';
export const lecunUniform = (): InitializerSpec => 'lecunUniform';
export const zeros = (): InitializerSpec => 'zeros';
export const constant = (args: { value: number }): InitializerSpec => ({ name: 'constant', value: args.value });
export const uniform = (args: { limit: number }): InitializerSpec => {
  if (!(args.limit >= 0)) throw new ConfigError('E_CONFIG', `uniform: limit must be >= 0 (got ${args.limit})`);
  return { name: 'uniform', limit: args.limit };
};

/** Resolves a name (or alias) given on the command line or in a config to a spec. */
export function initializerSpec(spec: InitializerSpec | string): InitializerSpec {
  if (typeof spec !== 'string') return spec;
  if (Object.hasOwn(PRESETS, spec) || spec === 'zeros' || spec === 'ones') return spec as InitializerName;
  if (Object.hasOwn(INITIALIZER_ALIASES, spec)) return INITIALIZER_ALIASES[spec]!;
  throw new ConfigError('E_UNKNOWN_INITIALIZER',
    `unknown initializer ${JSON.stringify(spec)}; choose one of ${INITIALIZER_NAMES.join(', ')} (aliases: ${Object.keys(INITIALIZER_ALIASES).join(', ')})`);
}

/**
 * Fills `out` (nOut·nIn values, row-major (nOut, nIn)) from `spec`.
 * varianceScaling: s = scale / n with n = fanIn, fanOut or their mean; uniform draws from
 * ±√(3s); normal has σ = √s; truncatedNormal is cut at 2σ and widened by 1/0.87962566 so its
 * variance is still s (Keras's constant).
 */
export function initialize(out: Float32Array, spec: InitializerSpec, fanIn: number, fanOut: number, rng: Prng): void {
  const s = initializerSpec(spec);
  if (s === 'zeros') { out.fill(0); return; }
  if (s === 'ones') { out.fill(1); return; }
  if (typeof s === 'object' && s.name === 'constant') { out.fill(s.value); return; }
  if (typeof s === 'object' && s.name === 'uniform') {
    for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-s.limit, s.limit);
    return;
  }
  const vs = typeof s === 'string' ? PRESETS[s]! : s;
  const n = vs.mode === 'fanIn' ? fanIn : vs.mode === 'fanOut' ? fanOut : (fanIn + fanOut) / 2;
  const variance = vs.scale / Math.max(1, n);
  if (vs.distribution === 'uniform') {
    const limit = Math.sqrt(3 * variance);
    for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
  } else if (vs.distribution === 'normal') {
    const sd = Math.sqrt(variance);
    for (let i = 0; i < out.length; i++) out[i] = sd * rng.normal();
  } else {
    const sd = Math.sqrt(variance) / 0.87962566103423978;
    for (let i = 0; i < out.length; i++) out[i] = sd * rng.truncatedNormal();
  }
}
