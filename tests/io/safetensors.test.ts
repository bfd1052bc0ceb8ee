import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import { ModelFileError } from '../../src/errors.js';
import { referenceTensors } from '../helpers/seed.js';

describe('safetensors', () => {
  it('reads the PyTorch reference files with PyTorch\'s names and (nOut, nIn) shapes', () => {
    const t = referenceTensors('init-relu.safetensors');
    expect([...t.keys()].sort()).toEqual(['layers.0.bias', 'layers.0.weight', 'layers.1.bias', 'layers.1.weight']);
    expect(t.get('layers.0.weight')!.length).toBe(64 * 20);
    expect(referenceTensors('grad0-relu.f64.safetensors').get('layers.0.weight')).toBeInstanceOf(Float64Array);
  });

  it('round-trips tensors and metadata, with an 8-byte aligned header', () => {
    const w = Float32Array.from([1, -2.5, 3e-8, 4, 5, 6]);
    const bytes = encodeSafetensors([['layers.0.weight', { dtype: 'F32', shape: [2, 3], data: w }],
      ['x', { dtype: 'F64', shape: [1], data: Float64Array.of(Math.PI) }]], { format: 'pt' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const { tensors, metadata } = decodeSafetensors(bytes, 'mem');
    expect(tensors.get('layers.0.weight')!.data).toEqual(w);
    expect(tensors.get('layers.0.weight')!.shape).toEqual([2, 3]);
    expect(tensors.get('x')!.data[0]).toBe(Math.PI);
    expect(metadata).toEqual({ format: 'pt' });
  });

  it('refuses a cut-off file, a lying header and a bad dtype with E_SAFETENSORS', () => {
    const good = encodeSafetensors([['a', { dtype: 'F32', shape: [4], data: new Float32Array(4) }]]);
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, good.length - 4), /data_offsets \[0, 16\] do not hold shape \[4\]/],
      [good.subarray(0, 5), /only 5 bytes/],
      [Buffer.from(Buffer.from(good).toString('latin1').replace('[4]', '[5]'), 'latin1'), /do not hold shape \[5\]/],
      [Buffer.from(Buffer.from(good).toString('latin1').replace('F32', 'I32'), 'latin1'), /dtype I32/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => decodeSafetensors(bytes, 'w.safetensors')).toThrow(ModelFileError);
      expect(() => decodeSafetensors(bytes, 'w.safetensors')).toThrow(message);
      try { decodeSafetensors(bytes, 'w.safetensors'); } catch (e) { expect((e as ModelFileError).code).toBe('E_SAFETENSORS'); }
    }
  });
});
