import { ConfigError } from '../errors.js';
import { ACTIVATIONS, activationName, type ActivationName } from './activations.js';
import { initializerSpec, type InitializerSpec } from './initializers.js';

/**
 * A dense layer, y = f(x·Wᵀ + b), as plain serialisable data. W is stored (units, inputs) =
 * (nOut, nIn), the orientation of PyTorch's Linear, so weights move between the two untouched.
 */
export interface DenseLayerSpec {
  /** Number of output units (nOut). */
  units: number;
  /** The nonlinearity f; the output layer is 'linear' and its loss applies sigmoid or softmax. */
  activation: ActivationName;
  /** How W is drawn; by default He for the ReLU family, Glorot for tanh/sigmoid/linear. */
  kernelInitializer: InitializerSpec;
  /** How b is drawn; zeros as in Keras. */
  biasInitializer: InitializerSpec;
  /** Whether the layer has a bias b. */
  useBias: boolean;
  /**
   * Batch normalization of x·Wᵀ + b before the activation (Ioffe & Szegedy 2015,
   * arXiv:1502.03167), with learned gamma/beta and running statistics for evaluation, as
   * PyTorch's Linear → BatchNorm1d → activation. Statistics are taken per micro-shard (ghost
   * batch norm), so results do not depend on the worker count. Absent means false.
   */
  batchNorm?: boolean;
  /**
   * Inverted dropout on the layer's output while training (Srivastava et al. 2014, JMLR 15):
   * each output is zeroed with this probability and the rest scaled by 1/(1 − p); identity at
   * evaluation. Absent means 0.
   */
  dropout?: number;
}

export interface DenseLayerArgs {
  units: number;
  activation?: ActivationName | string;
  kernelInitializer?: InitializerSpec | string;
  biasInitializer?: InitializerSpec | string;
  useBias?: boolean;
  /** Batch normalization before the activation (default false). */
  batchNorm?: boolean;
  /** Dropout probability on the output while training, in [0, 1) (default 0). */
  dropout?: number;
}

/** A hidden layer: `hiddenLayer({ units: 64, activation: 'relu' })`. Activation defaults to relu. */
export function hiddenLayer(args: DenseLayerArgs): DenseLayerSpec {
  return dense(args, 'relu');
}

function dense(args: DenseLayerArgs, defaultActivation: ActivationName): DenseLayerSpec {
  if (!Number.isInteger(args.units) || args.units < 1) {
    throw new ConfigError('E_CONFIG', `layer units must be a positive integer (got ${args.units})`);
  }
  const activation = activationName(args.activation ?? defaultActivation);
  const dropout = args.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) throw new ConfigError('E_CONFIG', `dropout must be in [0, 1) (got ${dropout})`);
  return {
    units: args.units,
    activation,
    kernelInitializer: initializerSpec(args.kernelInitializer ?? ACTIVATIONS[activation].defaultInitializer),
    biasInitializer: initializerSpec(args.biasInitializer ?? 'zeros'),
    useBias: args.useBias ?? true,
    ...(args.batchNorm === true && { batchNorm: true }),
    ...(dropout > 0 && { dropout }),
  };
}

/** What the network predicts: two classes (1 logit, sigmoid) or K ≥ 3 classes (K logits, softmax). */
export type Loss = 'binaryCrossentropy' | 'sparseCategoricalCrossentropy';

export interface ModelSpec {
  /** Number of input features. */
  inputs: number;
  /** Hidden layers, then the output layer (linear, producing logits). */
  layers: DenseLayerSpec[];
  /** Number of classes, ≥ 2. */
  classes: number;
  /** binaryCrossentropy for 2 classes, sparseCategoricalCrossentropy for more. */
  loss: Loss;
}

export interface ModelArgs {
  inputs: number;
  /** The hidden layers, from hiddenLayer(). */
  layers: DenseLayerSpec[];
  /** 2 (the default) or more. */
  classes?: number;
  /** The output layer's weight initializer: glorotUniform, Keras's Dense default. */
  outputInitializer?: InitializerSpec | string;
}

/** A multilayer perceptron: the hidden layers, then an output layer chosen by the number of classes. */
export function mlp(args: ModelArgs): ModelSpec {
  if (!Number.isInteger(args.inputs) || args.inputs < 1) {
    throw new ConfigError('E_CONFIG', `model inputs must be a positive integer (got ${args.inputs})`);
  }
  const classes = args.classes ?? 2;
  if (!Number.isInteger(classes) || classes < 2) {
    throw new ConfigError('E_CONFIG', `classes must be an integer >= 2 (got ${classes})`);
  }
  const output = dense({
    units: classes === 2 ? 1 : classes, activation: 'linear',
    kernelInitializer: args.outputInitializer ?? 'glorotUniform',
  }, 'linear');
  return {
    inputs: args.inputs,
    layers: [...args.layers.map((l) => ({ ...l })), output],
    classes,
    loss: classes === 2 ? 'binaryCrossentropy' : 'sparseCategoricalCrossentropy',
  };
}

/** Width of layer i's input. */
export function fanIn(spec: ModelSpec, i: number): number {
  return i === 0 ? spec.inputs : spec.layers[i - 1]!.units;
}
