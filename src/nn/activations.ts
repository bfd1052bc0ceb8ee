import * as k from '../kernels/activations.js';
import { ConfigError } from '../errors.js';
import type { Floats } from '../kernels/types.js';
import type { InitializerName } from './initializers.js';

/** Activation names, lowerCamel as Keras/TF.js spell them. */
export type ActivationName =
  'relu' | 'leakyRelu' | 'prelu' | 'elu' | 'swish' | 'gelu' | 'tanh' | 'sigmoid' | 'linear';

/**
 * One activation: forward y = f(x) over a (m, units) block, backward dx = dy·f'(x) (dx may alias
 * dy), the learned per-unit slope for prelu, and the initializer its layers get by default.
 */
export interface Activation {
  readonly name: ActivationName;
  /** The formula, for docs and `--help`. */
  readonly formula: string;
  /** Where it comes from. */
  readonly paper: string;
  /** He for the ReLU family (He et al. 2015), Glorot for the saturating ones (Glorot & Bengio 2010). */
  readonly defaultInitializer: InitializerName;
  /** Learns one slope per unit (prelu's alpha), initialised to `alphaInit`. */
  readonly learnsAlpha: boolean;
  forward(y: Floats, x: Floats, alpha: Floats | null, m: number, units: number): void;
  /** `dalpha` (units) accumulates; it is null unless learnsAlpha. */
  backward(dx: Floats, dalpha: Floats | null, dy: Floats, x: Floats, y: Floats,
           alpha: Floats | null, m: number, units: number): void;
}

/** PyTorch's default negative slope; TF.js uses 0.3. */
export const LEAKY_RELU_ALPHA = 0.01;
/** PyTorch's and He et al.'s initial PReLU slope. */
export const PRELU_ALPHA_INIT = 0.25;
/** ELU's alpha, 1 in PyTorch, Keras and the paper. */
export const ELU_ALPHA = 1;

export const ACTIVATIONS: Readonly<Record<ActivationName, Activation>> = {
  relu: {
    name: 'relu', formula: 'max(0, x)', paper: 'Nair & Hinton 2010, ICML',
    defaultInitializer: 'heNormal', learnsAlpha: false,
    forward: (y, x, _a, m, u) => k.reluForward(y, x, m * u),
    backward: (dx, _da, dy, x, _y, _a, m, u) => k.reluBackward(dx, dy, x, m * u),
  },
  leakyRelu: {
    name: 'leakyRelu', formula: `x if x > 0 else ${LEAKY_RELU_ALPHA}·x`, paper: 'Maas, Hannun & Ng 2013, ICML workshop',
    defaultInitializer: 'heNormal', learnsAlpha: false,
    forward: (y, x, _a, m, u) => k.leakyReluForward(y, x, LEAKY_RELU_ALPHA, m * u),
    backward: (dx, _da, dy, x, _y, _a, m, u) => k.leakyReluBackward(dx, dy, x, LEAKY_RELU_ALPHA, m * u),
  },
  prelu: {
    name: 'prelu', formula: 'x if x > 0 else a·x, a learned per unit (initially 0.25)',
    paper: 'He, Zhang, Ren & Sun 2015, arXiv:1502.01852',
    defaultInitializer: 'heNormal', learnsAlpha: true,
    forward: (y, x, a, m, u) => k.preluForward(y, x, a!, m, u),
    backward: (dx, da, dy, x, _y, a, m, u) => k.preluBackward(dx, da!, dy, x, a!, m, u),
  },
  elu: {
    name: 'elu', formula: 'x if x > 0 else eˣ − 1', paper: 'Clevert, Unterthiner & Hochreiter 2016, arXiv:1511.07289',
    defaultInitializer: 'heNormal', learnsAlpha: false,
    forward: (y, x, _a, m, u) => k.eluForward(y, x, ELU_ALPHA, m * u),
    backward: (dx, _da, dy, x, _y, _a, m, u) => k.eluBackward(dx, dy, x, ELU_ALPHA, m * u),
  },
  swish: {
    name: 'swish', formula: 'x·σ(x) (SiLU)', paper: 'Ramachandran, Zoph & Le 2017, arXiv:1710.05941; Elfwing et al. 2018',
    defaultInitializer: 'heNormal', learnsAlpha: false,
    forward: (y, x, _a, m, u) => k.swishForward(y, x, m * u),
    backward: (dx, _da, dy, x, _y, _a, m, u) => k.swishBackward(dx, dy, x, m * u),
  },
  gelu: {
    name: 'gelu', formula: '½x(1 + tanh(√(2/π)(x + 0.044715x³)))', paper: 'Hendrycks & Gimpel 2016, arXiv:1606.08415',
    defaultInitializer: 'heNormal', learnsAlpha: false,
    forward: (y, x, _a, m, u) => k.geluForward(y, x, m * u),
    backward: (dx, _da, dy, x, _y, _a, m, u) => k.geluBackward(dx, dy, x, m * u),
  },
  tanh: {
    name: 'tanh', formula: 'tanh(x)', paper: 'LeCun, Bottou, Orr & Müller 1998, Efficient BackProp',
    defaultInitializer: 'glorotUniform', learnsAlpha: false,
    forward: (y, x, _a, m, u) => k.tanhForward(y, x, m * u),
    backward: (dx, _da, dy, _x, y, _a, m, u) => k.tanhBackward(dx, dy, y, m * u),
  },
  sigmoid: {
    name: 'sigmoid', formula: '1/(1 + e⁻ˣ)', paper: 'Rumelhart, Hinton & Williams 1986, Nature',
    defaultInitializer: 'glorotUniform', learnsAlpha: false,
    forward: (y, x, _a, m, u) => k.sigmoidForward(y, x, m * u),
    backward: (dx, _da, dy, _x, y, _a, m, u) => k.sigmoidBackward(dx, dy, y, m * u),
  },
  linear: {
    name: 'linear', formula: 'x', paper: '-',
    defaultInitializer: 'glorotUniform', learnsAlpha: false,
    forward: (y, x, _a, m, u) => k.linearForward(y, x, m * u),
    backward: (dx, _da, dy, _x, _y, _a, m, u) => k.linearBackward(dx, dy, m * u),
  },
};

/** Other spellings users bring from PyTorch and Keras, mapped to the one quiver uses. */
export const ACTIVATION_ALIASES: Readonly<Record<string, ActivationName>> = {
  silu: 'swish', leaky_relu: 'leakyRelu', leakyrelu: 'leakyRelu', identity: 'linear', none: 'linear',
};

/** The canonical name for `name` or an alias; a ConfigError listing the choices otherwise. */
export function activationName(name: string): ActivationName {
  if (Object.hasOwn(ACTIVATIONS, name)) return name as ActivationName;
  for (const key of [name, name.toLowerCase()]) {
    if (Object.hasOwn(ACTIVATION_ALIASES, key)) return ACTIVATION_ALIASES[key]!;
  }
  throw new ConfigError('E_UNKNOWN_ACTIVATION',
    `unknown activation ${JSON.stringify(name)}; choose one of ${Object.keys(ACTIVATIONS).join(', ')} (aliases: ${Object.keys(ACTIVATION_ALIASES).join(', ')})`);
}
