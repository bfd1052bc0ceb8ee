import { describe, expect, it } from 'vitest';
import { hiddenLayer, mlp } from '../../src/nn/layers.js';
import { Model } from '../../src/nn/model.js';
import { adam, sgd } from '../../src/nn/optimizers.js';
import { view } from '../../src/nn/params.js';
import { fit } from '../../src/pipeline/train.js';
import { syntheticDataset } from '../helpers/synthetic.js';

const data = syntheticDataset({ rows: 512, features: 20, informative: 10, classes: 2, seed: 4 });

describe('diagnostics on the epoch events', () => {
  it('report a unit held dead by a bias of −100, and nothing else dead', async () => {
    const model = Model.init(mlp({ inputs: 20, layers: [hiddenLayer({ units: 16, activation: 'relu' })] }), 1);
    view(model.params, model.layout.layers[0]!.bias!)[5] = -100;
    const h = await fit(model, data, { epochs: 2, batchSize: 128, optimizer: sgd({ learningRate: 0.01 }) });
    for (const e of h.epochs) {
      const l = e.layers[0]!;
      expect(l.deadUnits).toBe(1);
      expect(l.activeFraction).toBeGreaterThan(0.2);
      expect(l.activeFraction).toBeLessThan(15 / 16);
      expect(l.gradNorm).toBeGreaterThan(0);
      expect(l.updateRatio).toBeGreaterThan(0);
    }
    expect(h.warnings).toEqual([]);
  });

  it('warn once when over half the units of a layer are dead', async () => {
    const model = Model.init(mlp({ inputs: 20, layers: [hiddenLayer({ units: 8, activation: 'relu' })] }), 1);
    view(model.params, model.layout.layers[0]!.bias!).fill(-100, 0, 5);
    const h = await fit(model, data, { epochs: 3, optimizer: sgd({ learningRate: 0.01 }) });
    expect(h.epochs[0]!.layers[0]!.deadUnits).toBe(5);
    expect(h.warnings.map((w) => [w.code, w.epoch, w.layer])).toEqual([['W_DEAD_UNITS', 0, 0]]);
    expect(h.warnings[0]!.message).toMatch(/5 of 8 units are dead.*leakyRelu.*He initialization.*--batch-norm/);
  });

  it('a ten-layer sigmoid network shows a far smaller first-layer gradient than a ten-layer ReLU one with He init, and only it warns', async () => {
    const deep = (activation: 'sigmoid' | 'relu') => Model.init(mlp({
      inputs: 20, layers: Array.from({ length: 10 }, () => hiddenLayer({ units: 32, activation })),
    }), 7);
    const [sig, relu] = await Promise.all([deep('sigmoid'), deep('relu')].map(async (m) => fit(m, data, { epochs: 1, optimizer: sgd({ learningRate: 0.01 }) })));
    const ratio = (h: typeof sig): number => h.epochs[0]!.layers[0]!.gradNorm! / h.epochs[0]!.layers[9]!.gradNorm!;
    console.log(`first/last hidden gradient norm: sigmoid ${ratio(sig).toExponential(2)}, relu ${ratio(relu).toExponential(2)}`);
    expect(ratio(sig)).toBeLessThan(1e-3 * ratio(relu));
    expect(sig.warnings.map((w) => w.code)).toContain('W_VANISHING_GRADIENT');
    expect(relu.warnings.map((w) => w.code)).not.toContain('W_VANISHING_GRADIENT');
  });

  it('pre-activation moments of a batch-norm layer are near 0 and 1', async () => {
    const model = Model.init(mlp({ inputs: 20, layers: [hiddenLayer({ units: 16, activation: 'relu', batchNorm: true })] }), 1);
    const h = await fit(model, data, { epochs: 1, batchSize: 128, microBatch: 128, optimizer: sgd({ learningRate: 1e-6 }) });
    const l = h.epochs[0]!.layers[0]!;
    expect(Math.abs(l.preActivationMean)).toBeLessThan(1e-4);
    expect(Math.abs(l.preActivationStd - 1)).toBeLessThan(1e-3);
  });
});

describe('early stopping', () => {
  it('stops when the validation loss stops improving and keeps the best epoch\'s weights', async () => {
    const all = syntheticDataset({ rows: 520, features: 20, informative: 3, classes: 2, seed: 8, flipY: 0.2 });
    const part = (from: number, to: number) => ({
      ...all, rows: to - from, features: all.features.slice(from * 20, to * 20), labels: all.labels.slice(from, to),
    });
    const small = part(0, 120);
    const held = part(120, 520);
    const model = Model.init(mlp({ inputs: 20, layers: [hiddenLayer({ units: 128 })] }), 3);
    const h = await fit(model, small, {
      epochs: 300, batchSize: 32, optimizer: adam({ learningRate: 0.01 }), validationData: held, earlyStopping: { patience: 3 },
    });
    const losses = h.epochs.map((e) => e.validationLoss!);
    const best = losses.indexOf(Math.min(...losses));
    console.log(`early stopping: ${h.epochs.length} epochs, best ${best} (${losses[best]!.toFixed(4)})`);
    expect(h.end.stoppedEarly).toBe(true);
    expect(h.end.bestEpoch).toBe(best);
    expect(h.epochs.length).toBe(best + 4);
    expect(h.end.testLoss).toBeCloseTo(losses[best]!, 6);
  });

  it('needs validation data', async () => {
    await expect(fit(Model.init(mlp({ inputs: 20, layers: [] }), 1), data, { earlyStopping: { patience: 2 } }))
      .rejects.toThrow(/early stopping watches a validation loss/);
  });
});
