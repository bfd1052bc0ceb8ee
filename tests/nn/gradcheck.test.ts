import { describe, expect, it } from 'vitest';
import { ACTIVATIONS, type ActivationName } from '../../src/nn/activations.js';
import { hiddenLayer, mlp, type ModelSpec } from '../../src/nn/layers.js';
import { backward, forward, layerViews, lossSum, workspace, workspaceSize, type TrainPass } from '../../src/nn/network.js';
import { tsKernels } from '../../src/kernels/kernels.js';
import { initParams, paramLayout } from '../../src/nn/params.js';
import { Prng } from '../../src/nn/prng.js';
import { randomArray } from '../helpers/random.js';

/** The whole network's analytic gradient against float64 central differences, every parameter. */
function gradcheck(spec: ModelSpec, rows: number, seed: number, train?: TrainPass): number {
  const rng = new Prng(seed);
  const layout = paramLayout(spec);
  const p32 = new Float32Array(layout.size);
  initParams(p32, spec, layout, rng);
  const params = Float64Array.from(p32, (v) => v + rng.uniform(-0.1, 0.1)); // nonzero biases, slopes off 0.25
  const x = randomArray(Float64Array, rows * spec.inputs, rng, 2);
  const labels = Float64Array.from({ length: rows }, () => rng.int(spec.classes));
  const ws = workspace(new Float64Array(workspaceSize(spec, rows)), spec, rows);
  const meanLoss = (p: Float64Array): number => {
    const logits = forward(spec, layerViews(p, layout), ws, x, rows, tsKernels, train);
    return lossSum(spec, logits, labels, rows).loss / rows;
  };
  meanLoss(params);
  const grad = new Float64Array(layout.size);
  backward(spec, layerViews(params, layout), layerViews(grad, layout), ws, x, labels, rows, 1 / rows, tsKernels, train);
  const h = 1e-6;
  let worst = 0;
  let largest = 0;
  for (let i = 0; i < params.length; i++) {
    const keep = params[i]!;
    params[i] = keep + h; const up = meanLoss(params);
    params[i] = keep - h; const dn = meanLoss(params);
    params[i] = keep;
    worst = Math.max(worst, Math.abs((up - dn) / (2 * h) - grad[i]!));
    largest = Math.max(largest, Math.abs(grad[i]!));
  }
  return worst / largest;
}

const ACTS = Object.keys(ACTIVATIONS) as ActivationName[];

describe('backward through the whole model matches float64 finite differences', () => {
  it.each(ACTS)('two hidden %s layers, two classes', (activation) => {
    const spec = mlp({ inputs: 5, layers: [hiddenLayer({ units: 7, activation }), hiddenLayer({ units: 4, activation })] });
    const rel = gradcheck(spec, 9, 11);
    console.log(`gradcheck ${activation} binary: max |analytic − fd| / max |grad| = ${rel.toExponential(2)}`);
    expect(rel).toBeLessThan(1e-6);
  });

  it.each(ACTS)('one hidden %s layer, four classes (softmax)', (activation) => {
    const spec = mlp({ inputs: 3, classes: 4, layers: [hiddenLayer({ units: 6, activation })] });
    const rel = gradcheck(spec, 8, 12);
    console.log(`gradcheck ${activation} 4-class: ${rel.toExponential(2)}`);
    expect(rel).toBeLessThan(1e-6);
  });

  it('a layer without bias and mixed activations', () => {
    const spec = mlp({
      inputs: 4, classes: 3,
      layers: [hiddenLayer({ units: 5, activation: 'prelu', useBias: false }), hiddenLayer({ units: 3, activation: 'gelu' })],
    });
    expect(gradcheck(spec, 6, 13)).toBeLessThan(1e-6);
  });
});

describe('batch norm and dropout, training mode, against float64 finite differences', () => {
  const pass: TrainPass = { seed: 7, step: 3, rowStart: 5 };

  it.each(['relu', 'tanh', 'prelu', 'swish'] as const)('batch norm before two hidden %s layers', (activation) => {
    const spec = mlp({
      inputs: 4, classes: 3,
      layers: [hiddenLayer({ units: 6, activation, batchNorm: true }), hiddenLayer({ units: 5, activation, batchNorm: true })],
    });
    const rel = gradcheck(spec, 10, 21, pass);
    console.log(`gradcheck batch norm ${activation}: ${rel.toExponential(2)}`);
    expect(rel).toBeLessThan(1e-6);
  });

  it('dropout 0.3 and 0.5 on two hidden layers, with the same masks in forward and backward', () => {
    const spec = mlp({
      inputs: 5, layers: [hiddenLayer({ units: 8, activation: 'elu', dropout: 0.3 }), hiddenLayer({ units: 6, activation: 'sigmoid', dropout: 0.5, batchNorm: true })],
    });
    const rel = gradcheck(spec, 12, 22, pass);
    console.log(`gradcheck dropout: ${rel.toExponential(2)}`);
    expect(rel).toBeLessThan(1e-6);
  });
});
