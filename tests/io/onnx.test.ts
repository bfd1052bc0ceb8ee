import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ACTIVATIONS, type ActivationName } from '../../src/nn/activations.js';
import { hiddenLayer, mlp, type DenseLayerArgs } from '../../src/nn/layers.js';
import { Model, type ModelInfo } from '../../src/nn/model.js';
import { view } from '../../src/nn/params.js';
import { Prng } from '../../src/nn/prng.js';
import { ONNX_OPSET, onnxModel } from '../../src/io/onnx.js';
import { maxDiff, randomArray } from '../helpers/random.js';

const onnx = onnxProto.onnx;
const INPUTS = 5;
const ROWS = 64;

/**
 * A small model whose every tensor is drawn at random (biases and PReLU slopes too, and batch
 * norm's statistics, so no op sees a convenient 0 or 1), with inputs spread over both signs.
 */
function randomModel(seed: number, classes: number, layer: Omit<DenseLayerArgs, 'units'>, standardize: boolean): Model {
  const rng = new Prng(seed);
  const info: ModelInfo = {};
  if (standardize) {
    info.standardize = {
      mean: Array.from({ length: INPUTS }, () => rng.uniform(-2, 2)),
      std: Array.from({ length: INPUTS }, () => rng.uniform(0.3, 3)),
    };
  }
  const model = Model.init(mlp({ inputs: INPUTS, classes, layers: [hiddenLayer({ units: 7, ...layer }), hiddenLayer({ units: 6, ...layer })] }), seed, info);
  for (const t of model.layout.tensors) {
    const v = view(model.params, t);
    if (t.role === 'bias' || t.role === 'beta' || t.role === 'runningMean') v.set(randomArray(Float32Array, t.length, rng, 0.5));
    if (t.role === 'alpha') v.set(randomArray(Float32Array, t.length, rng, 0.5));
    if (t.role === 'gamma' || t.role === 'runningVar') for (let i = 0; i < t.length; i++) v[i] = rng.uniform(0.5, 2);
  }
  return model;
}

function inputsFor(model: Model, seed: number): Float32Array {
  const x = randomArray(Float32Array, ROWS * INPUTS, new Prng(seed), 3);
  const s = model.info.standardize;
  if (s !== undefined) for (let i = 0; i < x.length; i++) x[i] = s.mean[i % INPUTS]! + x[i]! * s.std[i % INPUTS]!;
  return x;
}

async function runOnnx(bytes: Uint8Array, x: Float32Array, rows: number): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ input: new ort.Tensor('float32', x, [rows, x.length / rows]) });
    return out['probability']!;
  } finally {
    await session.release();
  }
}

/** The graph's op types, in order. */
function ops(bytes: Uint8Array): string[] {
  return onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType!);
}

const ACTIVATION_OPS: Record<ActivationName, string[]> = {
  relu: ['Relu'], leakyRelu: ['LeakyRelu'], prelu: ['PRelu'], elu: ['Elu'], swish: ['Sigmoid', 'Mul'],
  gelu: ['Gelu'], tanh: ['Tanh'], sigmoid: ['Sigmoid'], linear: [],
};

describe('ONNX export, run in onnxruntime', () => {
  let seed = 1;
  for (const activation of Object.keys(ACTIVATIONS) as ActivationName[]) {
    for (const classes of [2, 4]) {
      for (const standardize of [false, true]) {
        const name = `${activation}, ${classes} classes${standardize ? ', standardized' : ''}: probabilities within 1e-5 of predictProba`;
        const s = seed++;
        it(name, async () => {
          const model = randomModel(s, classes, { activation }, standardize);
          const bytes = onnxModel(model);
          const x = inputsFor(model, 1000 + s);
          const got = await runOnnx(bytes, x, ROWS);
          const want = model.predictProba(x, ROWS);
          expect(got.dims).toEqual([ROWS, classes === 2 ? 1 : classes]);
          const d = maxDiff(got.data as Float32Array, want);
          console.log(`onnx ${activation} ${classes} classes${standardize ? ' std' : ''}: max diff ${d.abs.toExponential(2)}`);
          expect(d.abs).toBeLessThan(1e-5);
          // Probabilities away from 0 and 1, where a wrong graph could not hide behind saturation.
          expect(want.filter((p) => p > 0.02 && p < 0.98).length).toBeGreaterThan(want.length / 4);
          const layer = ['Gemm', ...ACTIVATION_OPS[activation]];
          expect(ops(bytes)).toEqual([...(standardize ? ['Sub', 'Div'] : []), ...layer, ...layer, 'Gemm', classes === 2 ? 'Sigmoid' : 'Softmax']);
        });
      }
    }
  }

  for (const classes of [2, 3]) {
    it(`batch norm (Gemm → BatchNormalization → activation; dropout, identity at inference, adds nothing), ${classes} classes: within 1e-5 of predictProba`, async () => {
      const model = randomModel(50 + classes, classes, { activation: 'gelu', batchNorm: true, dropout: 0.3 }, true);
      const bytes = onnxModel(model);
      const x = inputsFor(model, 60 + classes);
      const d = maxDiff((await runOnnx(bytes, x, ROWS)).data as Float32Array, model.predictProba(x, ROWS));
      console.log(`onnx batch norm ${classes} classes: max diff ${d.abs.toExponential(2)}`);
      expect(d.abs).toBeLessThan(1e-5);
      expect(ops(bytes)).toEqual(['Sub', 'Div', 'Gemm', 'BatchNormalization', 'Gelu', 'Gemm', 'BatchNormalization', 'Gelu', 'Gemm', classes === 2 ? 'Sigmoid' : 'Softmax']);
    });
  }

  it('a layer without bias is a Gemm of two inputs, and still matches', async () => {
    const model = randomModel(70, 3, { activation: 'tanh', useBias: false }, false);
    const bytes = onnxModel(model);
    const gemms = onnx.ModelProto.decode(bytes).graph!.node!.filter((n) => n.opType === 'Gemm');
    expect(gemms.map((n) => n.input!.length)).toEqual([2, 2, 3]);
    const x = inputsFor(model, 71);
    expect(maxDiff((await runOnnx(bytes, x, ROWS)).data as Float32Array, model.predictProba(x, ROWS)).abs).toBeLessThan(1e-5);
  });

  it('takes any batch size: one row and 1000 rows', async () => {
    const model = randomModel(80, 2, { activation: 'relu' }, false);
    const bytes = onnxModel(model);
    for (const rows of [1, 1000]) {
      const x = randomArray(Float32Array, rows * INPUTS, new Prng(rows), 3);
      const got = await runOnnx(bytes, x, rows);
      expect(got.dims).toEqual([rows, 1]);
      expect(maxDiff(got.data as Float32Array, model.predictProba(x, rows)).abs).toBeLessThan(1e-5);
    }
  });

  it('is a standard model: opset ≥ 17 of the default domain, input (N, inputs), output (N, K), weights under the safetensors names', () => {
    const model = randomModel(90, 3, { activation: 'prelu' }, true);
    model.info.features = ['a', 'b', 'c', 'd', 'e'];
    model.info.classLabels = ['x', 'y', 'z'];
    const proto = onnx.ModelProto.decode(onnxModel(model));
    expect(proto.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', ONNX_OPSET]]);
    expect(ONNX_OPSET).toBeGreaterThanOrEqual(17);
    const g = proto.graph!;
    const dims = (v: typeof g.input[number]): (string | number)[] => v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
    expect(g.input.map((v) => v.name)).toEqual(['input']);
    expect(dims(g.input[0]!)).toEqual(['N', INPUTS]);
    expect(g.output.map((v) => v.name)).toEqual(['probability']);
    expect(dims(g.output[0]!)).toEqual(['N', 3]);
    expect(g.initializer.map((t) => t.name)).toEqual(['standardize.mean', 'standardize.std', ...model.layout.tensors.map((t) => t.name)]);
    const w = g.initializer.find((t) => t.name === 'layers.0.weight')!;
    expect(w.dims.map(Number)).toEqual([7, INPUTS]);
    const raw = w.rawData;
    expect(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))).toEqual(view(model.params, model.layout.tensors[0]!));
    const meta = Object.fromEntries(proto.metadataProps.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta['features']!)).toEqual(model.info.features);
    expect(JSON.parse(meta['classLabels']!)).toEqual(['x', 'y', 'z']);
    expect(proto.producerName).toBe('quiver');
  });
});
