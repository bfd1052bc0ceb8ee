import { Field, FixedSizeList, Float32, Float64, Int16, makeData, RecordBatch, Schema, Struct, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { QuiverError } from '../../src/errors.js';
import { copyRows, planColumns } from '../../src/pipeline/columns.js';
import { readAhead } from '../../src/pipeline/streamRows.js';
import { table } from '../helpers/arrow.js';

const ROWS = 10;

/** A batch of every kind of feature column the fast copy has a loop for: float32, float64, int16, and a FixedSizeList<float32> of 2. */
function mixedBatch(spoil: { column: string; row: number; value: number } | null = null): RecordBatch {
  const value = (column: string, r: number, v: number): number => (spoil !== null && spoil.column === column && spoil.row === r ? spoil.value : v);
  const emb = Float32Array.from({ length: ROWS * 2 }, (_, i) => value('emb', i >> 1, i * 0.5 - 3));
  const embType = new FixedSizeList(2, new Field('item', new Float32(), false));
  const embData = makeData({ type: embType, length: ROWS, nullCount: 0, child: makeData({ type: new Float32(), length: ROWS * 2, data: emb }) });
  const t = table({
    a: vectorFromArray(Array.from({ length: ROWS }, (_, r) => value('a', r, r * 1.5)), new Float32()),
    b: vectorFromArray(Array.from({ length: ROWS }, (_, r) => value('b', r, -r / 3)), new Float64()),
    c: vectorFromArray(Array.from({ length: ROWS }, (_, r) => r * 7 - 20), new Int16()),
    label: Array.from({ length: ROWS }, (_, r) => r % 2),
  });
  const b = t.batches[0]!;
  const fields = [...b.schema.fields.slice(0, 3), new Field('emb', embType, false), b.schema.fields[3]!];
  const children = [...b.data.children.slice(0, 3), embData, b.data.children[3]!];
  const schema = new Schema(fields);
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: ROWS, nullCount: 0, children }));
}

function failure(f: () => unknown): QuiverError {
  try { f(); } catch (e) { expect(e).toBeInstanceOf(QuiverError); return e as QuiverError; }
  throw new Error('no error');
}

describe('copyRows a slice at a time', () => {
  const batch = mixedBatch();
  const plan = planColumns('mixed.arrow', batch.schema, 'label');
  const n = plan.features.length;

  it('gives, slice after slice, what one copy of the whole batch gives, with and without skipped rows', () => {
    expect(plan.features.map((f) => f.name)).toEqual(['a', 'b', 'c', 'emb[0]', 'emb[1]']);
    for (const skip of [null, Uint8Array.from({ length: ROWS }, (_, r) => (r % 3 === 1 ? 1 : 0))]) {
      const whole = { f: new Float32Array(ROWS * n), l: new Float32Array(ROWS) };
      const kept = copyRows(plan, batch, 100, whole.f, whole.l, 0, { skip }).rows;
      const sliced = { f: new Float32Array(ROWS * n), l: new Float32Array(ROWS) };
      let at = 0;
      for (const [start, end] of [[0, 3], [3, 3], [3, 7], [7, 10]] as const) {
        const r = copyRows(plan, batch, 100, sliced.f, sliced.l, at, { skip, start, end });
        expect(r.dropped).toBe(end - start - r.rows);
        at += r.rows;
      }
      expect(at).toBe(kept);
      expect(sliced).toEqual(whole);
    }
  });

  it('writes each value as float32 in row-major order', () => {
    const f = new Float32Array(ROWS * n);
    copyRows(plan, batch, 0, f, new Float32Array(ROWS), 0);
    for (const r of [0, 4, 9]) {
      expect(Array.from(f.subarray(r * n, (r + 1) * n))).toEqual([r * 1.5, Math.fround(-r / 3), r * 7 - 20, r * 2 * 0.5 - 3, (r * 2 + 1) * 0.5 - 3]);
    }
  });

  it('names the first invalid value by its row in the file, whichever slice holds it, and passes over one outside the slice', () => {
    const cases = [
      { spoil: { column: 'a', row: 6, value: NaN }, code: 'E_NOT_FINITE', message: /mixed\.arrow, column "a", row 106: feature value NaN/ },
      { spoil: { column: 'b', row: 5, value: 1e39 }, code: 'E_NOT_FINITE', message: /column "b", row 105: feature value 1e\+39 is too large for float32/ },
      { spoil: { column: 'emb', row: 8, value: -Infinity }, code: 'E_NOT_FINITE', message: /column "emb\[0\]", row 108: feature value -Infinity/ },
    ];
    for (const c of cases) {
      const bad = mixedBatch(c.spoil);
      const f = new Float32Array(ROWS * n);
      const l = new Float32Array(ROWS);
      const e = failure(() => copyRows(plan, bad, 100, f, l, 0, { start: 4, end: 10 }));
      expect(e.code).toBe(c.code);
      expect(e.message).toMatch(c.message);
      expect(copyRows(plan, bad, 100, f, l, 0, { start: 0, end: 4 }).rows).toBe(4);
      const skip = new Uint8Array(ROWS);
      skip[c.spoil.row] = 1;
      expect(copyRows(plan, bad, 100, f, l, 0, { skip }).rows).toBe(ROWS - 1);
    }
  });

  it('refuses a range outside the batch', () => {
    const f = new Float32Array(ROWS * n);
    expect(() => copyRows(plan, batch, 0, f, new Float32Array(ROWS), 0, { start: 4, end: 11 })).toThrow(RangeError);
    expect(() => copyRows(plan, batch, 0, f, new Float32Array(ROWS), 0, { start: 5, end: 4 })).toThrow(RangeError);
  });
});

describe('readAhead', () => {
  it('asks for the next value while the current one is in use, and ends the source when the reader stops early', async () => {
    const asked: number[] = [];
    let ended = false;
    async function* source(): AsyncGenerator<number> {
      try {
        for (let i = 0; i < 5; i++) { asked.push(i); yield i; }
      } finally {
        ended = true;
      }
    }
    const seen: number[] = [];
    for await (const v of readAhead(source())) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(asked).toContain(v + 1); // the next one was asked for before this one was done with
      seen.push(v);
      if (v === 2) break;
    }
    expect(seen).toEqual([0, 1, 2]);
    expect(ended).toBe(true);
  });

  it('passes the source\'s error on at the value where it happened', async () => {
    async function* failing(): AsyncGenerator<number> { yield 1; throw new Error('read failed'); }
    const seen: number[] = [];
    await expect((async () => { for await (const v of readAhead(failing())) seen.push(v); })()).rejects.toThrow('read failed');
    expect(seen).toEqual([1]);
  });
});
