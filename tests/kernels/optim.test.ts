import { describe, expect, it } from 'vitest';
import { adamStep, sgdStep } from '../../src/kernels/optim.js';
import { mlp } from '../../src/nn/layers.js';
import { Model } from '../../src/nn/model.js';
import { adam, adamw, sgd } from '../../src/nn/optimizers.js';
import { learningRateAt } from '../../src/nn/schedules.js';
import { fit } from '../../src/pipeline/train.js';
import { syntheticDataset } from '../helpers/synthetic.js';

/**
 * A fixed quadratic f(p) = ½ Σ aᵢ (pᵢ − cᵢ)², gradient aᵢ (pᵢ − cᵢ): a few steps of each
 * optimizer kernel in float32 against the update written out from its paper in float64.
 */
const A = [0.5, 2, 10, 0.1, 4];
const C = [1, -2, 0.3, 5, 0];
const P0 = [0, 0.5, -1, 2, 3];
const grad = (p: ArrayLike<number>): number[] => A.map((a, i) => a * (p[i]! - C[i]!));
const STEPS = 6;

function run(step: (p: Float32Array, g: Float32Array, t: number) => void): Float32Array {
  const p = Float32Array.from(P0);
  for (let t = 1; t <= STEPS; t++) step(p, Float32Array.from(grad(p)), t);
  return p;
}

function expectClose(got: Float32Array, want: number[]): void {
  const worst = Math.max(...want.map((w, i) => Math.abs(got[i]! - w) / Math.max(1, Math.abs(w))));
  console.log(`max relative difference to the float64 update: ${worst.toExponential(2)}`);
  expect(worst).toBeLessThan(1e-5);
}

describe('optimizer kernels on a fixed quadratic, against float64', () => {
  it.each([
    { name: 'plain SGD', momentum: 0, nesterov: false, wd: 0 },
    { name: 'momentum 0.9', momentum: 0.9, nesterov: false, wd: 0 },
    { name: 'Nesterov 0.9', momentum: 0.9, nesterov: true, wd: 0 },
    { name: 'momentum and weight decay 0.01', momentum: 0.5, nesterov: false, wd: 0.01 },
  ])('$name', ({ momentum, nesterov, wd }) => {
    const lr = 0.05;
    const v = new Float32Array(5);
    const got = run((p, g) => sgdStep(p, p, g, v, v, 5, lr, momentum, nesterov, wd, 1, Infinity));
    // Sutskever et al. 2013 as PyTorch writes it: b ← μb + g; step along g + μb (Nesterov) or b.
    const p = P0.slice();
    const b = [0, 0, 0, 0, 0];
    for (let t = 1; t <= STEPS; t++) {
      const g = grad(p).map((gi, i) => gi + wd * p[i]!);
      for (let i = 0; i < 5; i++) {
        b[i] = t === 1 ? g[i]! : momentum * b[i]! + g[i]!;
        const d = momentum === 0 ? g[i]! : nesterov ? g[i]! + momentum * b[i]! : b[i]!;
        p[i] -= lr * d;
      }
    }
    expectClose(got, p);
  });

  it.each([
    { name: 'Adam', decoupled: false, wd: 0 },
    { name: 'Adam with L2 0.1', decoupled: false, wd: 0.1 },
    { name: 'AdamW 0.1', decoupled: true, wd: 0.1 },
  ])('$name', ({ decoupled, wd }) => {
    const [lr, b1, b2, eps] = [0.1, 0.9, 0.999, 1e-8];
    const m = new Float32Array(5);
    const v = new Float32Array(5);
    const got = run((p, g, t) => adamStep(p, p, g, m, m, v, v, 5, lr, b1, b2, eps, wd, decoupled, t, 1, Infinity));
    // Kingma & Ba 2015, Algorithm 1; Loshchilov & Hutter 2019, Algorithm 2 (decay by lr·λ).
    const p = P0.slice();
    const mm = [0, 0, 0, 0, 0];
    const vv = [0, 0, 0, 0, 0];
    for (let t = 1; t <= STEPS; t++) {
      const g = grad(p).map((gi, i) => gi + (decoupled ? 0 : wd * p[i]!));
      for (let i = 0; i < 5; i++) {
        if (decoupled) p[i] *= 1 - lr * wd;
        mm[i] = b1 * mm[i]! + (1 - b1) * g[i]!;
        vv[i] = b2 * vv[i]! + (1 - b2) * g[i]! ** 2;
        const mHat = mm[i]! / (1 - b1 ** t);
        const vHat = vv[i]! / (1 - b2 ** t);
        p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
      }
    }
    expectClose(got, p);
  });

  it('refuses Nesterov without momentum and bad hyper-parameters with E_CONFIG', () => {
    expect(() => sgd({ nesterov: true })).toThrow(/nesterov needs a momentum/);
    expect(() => adam({ beta1: 1 })).toThrow(/beta1 must be in \[0, 1\)/);
    expect(() => adamw({ weightDecay: -1 })).toThrow(/weightDecay must be a number >= 0/);
    expect(adamw().weightDecay).toBe(0.01);
    expect(adam().learningRate).toBe(0.001);
  });
});

describe('gradient clipping through a training step', () => {
  // A model with no hidden layer, from zero weights, and one step at learning rate 1: the new
  // weights are exactly minus the (clipped) gradient.
  const data = syntheticDataset({ rows: 200, features: 12, informative: 6, classes: 3, seed: 2 });
  const spec = mlp({ inputs: 12, classes: 3, layers: [], outputInitializer: 'zeros' });
  async function firstStep(options: { clipNorm?: number; clipValue?: number }): Promise<Float32Array> {
    const model = Model.init(spec, 1);
    await fit(model, data, { epochs: 1, optimizer: sgd({ learningRate: 1 }), workers: 'inline', ...options });
    return model.params;
  }
  const norm = (v: Float32Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

  it('--clip-norm: the global norm after clipping equals the limit within 1e-6, and the direction is unchanged', async () => {
    const g = await firstStep({});
    expect(norm(g)).toBeGreaterThan(0.1);
    const clipped = await firstStep({ clipNorm: 0.1 });
    console.log(`gradient norm ${norm(g).toFixed(6)}, after clipping to 0.1: ${norm(clipped).toPrecision(9)}`);
    expect(Math.abs(norm(clipped) - 0.1)).toBeLessThan(1e-6);
    const scale = norm(clipped) / norm(g);
    g.forEach((v, i) => expect(Math.abs(clipped[i]! - v * scale)).toBeLessThan(1e-7));
    const loose = await firstStep({ clipNorm: 1e6 });
    expect(Array.from(loose)).toEqual(Array.from(g)); // under the limit: untouched
  });

  it('--clip-value clamps each gradient to ±v and leaves smaller ones as they are', async () => {
    const g = await firstStep({});
    const limit = 0.5 * Math.max(...Array.from(g, Math.abs));
    const clipped = await firstStep({ clipValue: limit });
    g.forEach((v, i) => expect(clipped[i]).toBeCloseTo(Math.max(-limit, Math.min(limit, v)), 6));
    expect(clipped.some((v) => Math.abs(v) === Math.fround(limit))).toBe(true);
  });
});

describe('learning-rate schedules', () => {
  it('step, exponential and cosine follow PyTorch\'s StepLR, ExponentialLR and CosineAnnealingLR; warm-up is linear', () => {
    expect([0, 9, 10, 25].map((e) => learningRateAt(1, { name: 'step', stepSize: 10, gamma: 0.5 }, e, 30, 0))).toEqual([1, 1, 0.5, 0.25]);
    expect(learningRateAt(2, { name: 'exponential', gamma: 0.9 }, 3, 10, 0)).toBeCloseTo(2 * 0.9 ** 3, 12);
    expect(learningRateAt(1, { name: 'cosine', minLearningRate: 0.1 }, 0, 10, 0)).toBe(1);
    expect(learningRateAt(1, { name: 'cosine', minLearningRate: 0.1 }, 5, 10, 0)).toBeCloseTo(0.55, 12);
    expect([0, 1, 3, 4].map((s) => learningRateAt(1, { name: 'constant', warmupSteps: 4 }, 0, 10, s))).toEqual([0.25, 0.5, 1, 1]);
  });

  it('the epoch events carry the rate the schedule gave', async () => {
    const data = syntheticDataset({ rows: 64, features: 4, informative: 2, classes: 2, seed: 3 });
    const model = Model.init(mlp({ inputs: 4, layers: [] }), 1);
    const h = await fit(model, data, { epochs: 4, optimizer: sgd({ learningRate: 0.8 }), lrSchedule: { name: 'step', stepSize: 2, gamma: 0.5 } });
    expect(h.epochs.map((e) => e.learningRate)).toEqual([0.8, 0.8, 0.4, 0.4]);
  });
});
