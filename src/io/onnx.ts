/**
 * A model as an ONNX graph (https://onnx.ai/onnx/operators/), built with the `onnx-proto`
 * message classes (protobufjs over onnx.proto), never by hand, so onnxruntime, Netron and
 * `onnx.checker` read it.
 *
 * The graph computes what Model.predictProba does:
 *
 *   input (N, inputs) float32, N dynamic
 *   → Sub mean, Div std                      when model.info.standardize (x − mean) / std
 *   → per layer i:
 *       Gemm(x, W, b, transB=1)               W stored (nOut, nIn) as PyTorch's Linear: x·Wᵀ + b
 *       BatchNormalization(eps 1e-5)          when layer.batchNorm: running mean/var, inference mode
 *       activation                            Relu, LeakyRelu, PRelu, Elu, x·Sigmoid(x), Gelu(tanh), …
 *       (dropout is the identity at inference: no node)
 *   → probability: Sigmoid (N, 1) for one logit (two classes), Softmax(axis 1) (N, K) otherwise
 *
 * Initializers keep the safetensors names (`layers.0.weight`, …), so the two files line up.
 *
 * @example
 * const bytes = onnxModel(await loadModel('out/seed'));
 * const session = await ort.InferenceSession.create(bytes);
 * const { probability } = await session.run({ input: new ort.Tensor('float32', x, [rows, 20]) });
 */
import onnxProto from 'onnx-proto';
import { DataError } from '../errors.js';
import { BATCH_NORM_EPSILON } from '../kernels/batchnorm.js';
import type { ActivationName } from '../nn/activations.js';
import { ELU_ALPHA, LEAKY_RELU_ALPHA } from '../nn/activations.js';
import type { Model } from '../nn/model.js';
import { view, type TensorSlice } from '../nn/params.js';
import { writeFileAtomic } from './atomic.js';
import { quiverVersion } from './modelFile.js';

const onnx = onnxProto.onnx;

/**
 * Opset 20: the first with Gelu (and its approximate="tanh", quiver's gelu). Every other op used
 * here is unchanged since opset 13–15. IR version 9 is the one that goes with opset 20 (ONNX 1.15).
 */
export const ONNX_OPSET = 20;
export const ONNX_IR_VERSION = 9;
/** The graph's input and output names. */
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'probability';

type Attribute = InstanceType<typeof onnx.AttributeProto>;
type Node = InstanceType<typeof onnx.NodeProto>;
type TensorProto = InstanceType<typeof onnx.TensorProto>;

const FLOAT = onnx.TensorProto.DataType.FLOAT;

function floatAttribute(name: string, f: number): Attribute {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f });
}
function intAttribute(name: string, i: number): Attribute {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });
}
function stringAttribute(name: string, s: string): Attribute {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(s) });
}

/** A float32 initializer; raw_data is little-endian as ONNX requires (and every host Node runs on is). */
function floatTensor(name: string, dims: number[], values: Float32Array): TensorProto {
  const raw = new Uint8Array(values.byteLength);
  raw.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: raw });
}

/** A float32 (N, width) value with a symbolic batch dimension. */
function batchValue(name: string, width: number): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: width }] } } },
  });
}

/** Nodes and initializers as they are added, with fresh value names. */
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: TensorProto[] = [];
  private count = 0;

  /** Adds one node and returns its (single) output's name. */
  op(opType: string, inputs: string[], attributes: Attribute[] = [], output?: string): string {
    const out = output ?? `${opType.toLowerCase()}_${this.count}`;
    this.nodes.push(onnx.NodeProto.create({ name: `${opType}_${this.count++}`, opType, input: inputs, output: [out], attribute: attributes }));
    return out;
  }

  constant(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }
}

/** The activation's nodes on x; alpha is the PReLU slope initializer's name. */
function activation(g: GraphBuilder, name: ActivationName, x: string, alpha: string | null): string {
  switch (name) {
    case 'relu': return g.op('Relu', [x]);
    case 'leakyRelu': return g.op('LeakyRelu', [x], [floatAttribute('alpha', LEAKY_RELU_ALPHA)]);
    // slope (units) broadcasts over (N, units).
    case 'prelu': return g.op('PRelu', [x, alpha!]);
    case 'elu': return g.op('Elu', [x], [floatAttribute('alpha', ELU_ALPHA)]);
    // swish(x) = x·σ(x); ONNX has no Swish op (HardSwish is another function).
    case 'swish': return g.op('Mul', [x, g.op('Sigmoid', [x])]);
    // ½x(1 + tanh(√(2/π)(x + 0.044715x³))): the formula of src/kernels/activations.ts.
    case 'gelu': return g.op('Gelu', [x], [stringAttribute('approximate', 'tanh')]);
    case 'tanh': return g.op('Tanh', [x]);
    case 'sigmoid': return g.op('Sigmoid', [x]);
    case 'linear': return x;
  }
}

/** The model's tensor called `name`, or undefined. */
function tensorNamed(model: Model, name: string): TensorSlice | undefined {
  return model.layout.tensors.find((t) => t.name === name);
}

/** The model's tensor called `name`; its absence is a bug (the layout comes from the spec). */
function tensor(model: Model, name: string): TensorSlice {
  const t = tensorNamed(model, name);
  if (t === undefined) throw new Error(`onnx export: the model's layout has no tensor ${name}`);
  return t;
}

/** The model as a serialized ONNX ModelProto. */
export function onnxModel(model: Model): Uint8Array {
  const { spec, info } = model;
  const g = new GraphBuilder();
  const param = (name: string): string => {
    const t = tensor(model, name);
    return g.constant(name, t.shape, view(model.params, t));
  };

  let x = ONNX_INPUT;
  const s = info.standardize;
  if (s !== undefined) {
    // (x − mean) / std as applyStandardization does, with mean and std rounded to float32.
    const mean = g.constant('standardize.mean', [spec.inputs], Float32Array.from(s.mean));
    const std = g.constant('standardize.std', [spec.inputs], Float32Array.from(s.std));
    x = g.op('Div', [g.op('Sub', [x, mean]), std]);
  }

  spec.layers.forEach((layer, i) => {
    const p = `layers.${i}`;
    const gemmInputs = [x, param(`${p}.weight`)];
    if (layer.useBias) gemmInputs.push(param(`${p}.bias`));
    x = g.op('Gemm', gemmInputs, [intAttribute('transB', 1)]);
    if (layer.batchNorm === true) {
      // y = (z − runningMean) / √(runningVar + ε) · gamma + beta, PyTorch's BatchNorm1d in eval().
      const bn = ['gamma', 'beta', 'runningMean', 'runningVar'].map((n) => param(`${p}.bn.${n}`));
      x = g.op('BatchNormalization', [x, ...bn], [floatAttribute('epsilon', BATCH_NORM_EPSILON)]);
    }
    const alpha = tensorNamed(model, `${p}.alpha`) === undefined ? null : param(`${p}.alpha`);
    x = activation(g, layer.activation, x, alpha);
  });

  const outputs = model.outputs;
  if (outputs === 1) g.op('Sigmoid', [x], [], ONNX_OUTPUT);
  else g.op('Softmax', [x], [intAttribute('axis', 1)], ONNX_OUTPUT);

  const metadata: Record<string, string> = {};
  if (info.features !== undefined) metadata['features'] = JSON.stringify(info.features);
  if (info.classLabels !== undefined) metadata['classLabels'] = JSON.stringify(info.classLabels);
  if (info.label !== undefined) metadata['label'] = info.label;

  const proto = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'quiver',
    producerVersion: quiverVersion(),
    docString: outputs === 1
      ? 'probability (N, 1): P(class 1) = sigmoid(logit)'
      : `probability (N, ${outputs}): softmax over the ${outputs} classes, in class order`,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: onnx.GraphProto.create({
      name: 'quiver_mlp',
      node: g.nodes,
      initializer: g.initializers,
      input: [batchValue(ONNX_INPUT, spec.inputs)],
      output: [batchValue(ONNX_OUTPUT, outputs)],
    }),
  });
  return onnx.ModelProto.encode(proto).finish();
}

/** Writes the model's ONNX graph to `file` atomically; returns its size in bytes. */
export async function writeOnnx(file: string, model: Model): Promise<number> {
  const bytes = onnxModel(model);
  try {
    await writeFileAtomic(file, bytes);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError('E_OUT_FILE', `file ${file}: cannot write (${code === 'ENOENT' ? 'no such directory' : code ?? (e as Error).message})`, { cause: e });
  }
  return bytes.length;
}
