import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/nn/prng.js';

describe('Prng', () => {
  it('is reproducible from its seed and its saved state', () => {
    const a = new Prng(42), b = new Prng(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    const state = a.getState();
    const after = Array.from({ length: 3 }, () => a.normal());
    const c = new Prng(0);
    c.setState(state);
    expect(Array.from({ length: 3 }, () => c.normal())).toEqual(after);
  });

  it('draws uniform values in [0, 1) with mean ½ and normals with variance 1', () => {
    const r = new Prng(3);
    const u = Array.from({ length: 100_000 }, () => r.next());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(u.reduce((s, v) => s + v, 0) / u.length).toBeCloseTo(0.5, 2);
    const z = Array.from({ length: 100_000 }, () => r.normal());
    const m = z.reduce((s, v) => s + v, 0) / z.length;
    expect(m).toBeCloseTo(0, 1);
    expect(z.reduce((s, v) => s + (v - m) ** 2, 0) / z.length).toBeCloseTo(1, 1);
  });

  it('shuffles into a permutation, differently for different seeds', () => {
    const a = Uint32Array.from({ length: 100 }, (_, i) => i);
    const b = a.slice();
    new Prng(1).shuffle(a);
    new Prng(2).shuffle(b);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(a).not.toEqual(b);
  });
});
