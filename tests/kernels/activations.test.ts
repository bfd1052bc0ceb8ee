import { describe, expect, it } from 'vitest';
import { ACTIVATIONS, LEAKY_RELU_ALPHA, activationName, type ActivationName } from '../../src/nn/activations.js';
import { ConfigError } from '../../src/errors.js';

const NAMES = Object.keys(ACTIVATIONS) as ActivationName[];
/** Kinked at 0: finite differences there average the two one-sided slopes. */
const KINKED = new Set<ActivationName>(['relu', 'leakyRelu', 'prelu']);
const H = 1e-6;
const POINTS = [-5, -2.5, -1, -0.3, -1e-3, -1e-5, 0, 1e-5, 1e-3, 0.3, 1, 2.5, 5];

function f64(values: number[]): Float64Array { return Float64Array.from(values); }

/** y = f(x) elementwise, in float64, one unit per value (prelu's slope 0.25 everywhere). */
function apply(name: ActivationName, x: Float64Array): Float64Array {
  const y = new Float64Array(x.length);
  ACTIVATIONS[name].forward(y, x, new Float64Array(x.length).fill(0.25), 1, x.length);
  return y;
}

describe('activation derivatives match float64 central finite differences', () => {
  it.each(NAMES)('%s', (name) => {
    const x = f64(POINTS);
    const y = apply(name, x);
    const dx = new Float64Array(x.length);
    const dalpha = new Float64Array(x.length);
    ACTIVATIONS[name].backward(dx, dalpha, new Float64Array(x.length).fill(1), x, y, new Float64Array(x.length).fill(0.25), 1, x.length);
    let worst = 0;
    POINTS.forEach((p, i) => {
      if (KINKED.has(name) && Math.abs(p) <= H) return; // see the convention test below
      const fd = (apply(name, f64([p + H]))[0]! - apply(name, f64([p - H]))[0]!) / (2 * H);
      worst = Math.max(worst, Math.abs(fd - dx[i]!));
      expect(dx[i]).toBeCloseTo(fd, 6); // 5e-7: elu's second derivative jumps at 0, costing O(h) there
    });
    console.log(`${name}: max |analytic − finite difference| ${worst.toExponential(2)}`);
  });

  it('prelu slope gradient matches finite differences over alpha', () => {
    const x = f64([-2, -0.5, 0.5, 3]);
    const dy = f64([0.3, -1.2, 0.7, 2]);
    const alpha = f64([0.25, 0.1, 0.4, 0.2]);
    const dalpha = new Float64Array(4);
    ACTIVATIONS.prelu.backward(new Float64Array(4), dalpha, dy, x, new Float64Array(4), alpha, 1, 4);
    const loss = (a: Float64Array): number => {
      const y = new Float64Array(4);
      ACTIVATIONS.prelu.forward(y, x, a, 1, 4);
      return y.reduce((s, v, i) => s + v * dy[i]!, 0);
    };
    for (let u = 0; u < 4; u++) {
      const up = alpha.slice(); up[u] = up[u]! + H;
      const dn = alpha.slice(); dn[u] = dn[u]! - H;
      expect(dalpha[u]).toBeCloseTo((loss(up) - loss(dn)) / (2 * H), 7);
    }
  });
});

describe('activation values', () => {
  it('follow their formulas at sample points', () => {
    const x = f64([-2, 0, 1.5]);
    expect([...apply('relu', x)]).toEqual([0, 0, 1.5]);
    expect([...apply('leakyRelu', x)]).toEqual([-2 * LEAKY_RELU_ALPHA, 0, 1.5]);
    expect([...apply('prelu', x)]).toEqual([-0.5, 0, 1.5]);
    expect(apply('elu', x)[0]).toBeCloseTo(Math.exp(-2) - 1, 12);
    expect(apply('swish', x)[2]).toBeCloseTo(1.5 / (1 + Math.exp(-1.5)), 12);
    expect(apply('gelu', x)[2]).toBeCloseTo(0.5 * 1.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (1.5 + 0.044715 * 1.5 ** 3))), 12);
    expect(apply('sigmoid', f64([-800, 800]))).toEqual(f64([0, 1])); // no overflow to NaN
    expect(apply('tanh', x)[0]).toBeCloseTo(Math.tanh(-2), 12);
  });

  it('take PyTorch\'s slope at the kink: relu 0, leakyRelu and prelu alpha', () => {
    const slopeAt0 = (name: ActivationName): number => {
      const dx = new Float64Array(1);
      ACTIVATIONS[name].backward(dx, new Float64Array(1), f64([1]), f64([0]), f64([0]), f64([0.25]), 1, 1);
      return dx[0]!;
    };
    expect(slopeAt0('relu')).toBe(0);
    expect(slopeAt0('leakyRelu')).toBe(LEAKY_RELU_ALPHA);
    expect(slopeAt0('prelu')).toBe(0.25);
  });

  it('backward may write into its own input gradient (dx aliasing dy)', () => {
    for (const name of NAMES) {
      const x = f64([-1, 0.5, 2]);
      const y = apply(name, x);
      const separate = new Float64Array(3);
      const alpha = f64([0.25, 0.25, 0.25]);
      ACTIVATIONS[name].backward(separate, new Float64Array(3), f64([1, 2, 3]), x, y, alpha, 1, 3);
      const inPlace = f64([1, 2, 3]);
      ACTIVATIONS[name].backward(inPlace, new Float64Array(3), inPlace, x, y, alpha, 1, 3);
      expect([...inPlace]).toEqual([...separate]);
    }
  });
});

describe('activation names', () => {
  it('map aliases to one spelling', () => {
    expect(activationName('silu')).toBe('swish');
    expect(activationName('relu')).toBe('relu');
  });
  it('refuse an unknown name with the choices', () => {
    expect(() => activationName('relux')).toThrow(ConfigError);
    expect(() => activationName('relux')).toThrow(/unknown activation "relux".*relu, leakyRelu, prelu/);
    try { activationName('relux'); } catch (e) { expect((e as ConfigError).code).toBe('E_UNKNOWN_ACTIVATION'); }
  });
});
