import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { constant, initialize, initializerSpec, uniform, varianceScaling, type InitializerSpec } from '../../src/nn/initializers.js';
import { hiddenLayer } from '../../src/nn/layers.js';
import { Prng } from '../../src/nn/prng.js';

function draw(spec: InitializerSpec, fanIn: number, fanOut: number, seed = 1): Float32Array {
  const out = new Float32Array(fanIn * fanOut);
  initialize(out, spec, fanIn, fanOut, new Prng(seed));
  return out;
}

function stats(a: Float32Array): { mean: number; variance: number; maxAbs: number } {
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
  return { mean, variance, maxAbs: a.reduce((m, v) => Math.max(m, Math.abs(v)), 0) };
}

describe('variance-scaling initializers give the variance their papers prescribe', () => {
  const [fanIn, fanOut] = [200, 300];
  it.each([
    ['heNormal', 2 / fanIn, 'truncatedNormal'],
    ['heUniform', 2 / fanIn, 'uniform'],
    ['glorotNormal', 2 / (fanIn + fanOut), 'truncatedNormal'],
    ['glorotUniform', 2 / (fanIn + fanOut), 'uniform'],
    ['lecunNormal', 1 / fanIn, 'truncatedNormal'],
    ['lecunUniform', 1 / fanIn, 'uniform'],
  ] as const)('%s: variance %f', (name, variance, distribution) => {
    const s = stats(draw(name, fanIn, fanOut));
    expect(Math.abs(s.mean)).toBeLessThan(0.01 * Math.sqrt(variance) * 10);
    expect(s.variance / variance).toBeGreaterThan(0.97);
    expect(s.variance / variance).toBeLessThan(1.03);
    // uniform stays within ±√(3·var); truncated normal within 2σ of its widened σ
    const bound = distribution === 'uniform' ? Math.sqrt(3 * variance) : 2 * Math.sqrt(variance) / 0.87962566103423978;
    expect(s.maxAbs).toBeLessThanOrEqual(bound * (1 + 1e-6));
  });

  it('varianceScaling with fanOut and a normal distribution', () => {
    const s = stats(draw(varianceScaling({ scale: 3, mode: 'fanOut', distribution: 'normal' }), 100, 400));
    expect(s.variance / (3 / 400)).toBeGreaterThan(0.97);
    expect(s.variance / (3 / 400)).toBeLessThan(1.03);
  });

  it('constant, zeros, ones and uniform({ limit })', () => {
    expect(new Set(draw(constant({ value: 0.5 }), 3, 4))).toEqual(new Set([0.5]));
    expect(new Set(draw('zeros', 3, 4))).toEqual(new Set([0]));
    expect(new Set(draw('ones', 3, 4))).toEqual(new Set([1]));
    const u = draw(uniform({ limit: 0.1 }), 50, 50);
    expect(stats(u).maxAbs).toBeLessThanOrEqual(Math.fround(0.1));
    expect(stats(u).maxAbs).toBeGreaterThan(0.09);
  });

  it('the same seed draws the same weights, another seed others', () => {
    expect(draw('heNormal', 10, 10, 7)).toEqual(draw('heNormal', 10, 10, 7));
    expect(draw('heNormal', 10, 10, 7)).not.toEqual(draw('heNormal', 10, 10, 8));
  });
});

describe('initializer names', () => {
  it('default to He for the ReLU family and Glorot for tanh and sigmoid', () => {
    for (const a of ['relu', 'leakyRelu', 'prelu', 'elu', 'swish', 'gelu']) {
      expect(hiddenLayer({ units: 3, activation: a }).kernelInitializer).toBe('heNormal');
    }
    for (const a of ['tanh', 'sigmoid']) expect(hiddenLayer({ units: 3, activation: a }).kernelInitializer).toBe('glorotUniform');
  });
  it('map PyTorch aliases', () => {
    expect(initializerSpec('xavierUniform')).toBe('glorotUniform');
    expect(initializerSpec('kaimingNormal')).toBe('heNormal');
  });
  it('refuse an unknown name, listing the choices', () => {
    expect(() => initializerSpec('heNormall')).toThrow(/unknown initializer "heNormall".*heNormal, heUniform/);
    try { initializerSpec('x'); } catch (e) { expect((e as ConfigError).code).toBe('E_UNKNOWN_INITIALIZER'); }
  });
});
