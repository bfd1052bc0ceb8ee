import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { RecordBatchReader, tableFromIPC, type RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuiverError } from '../../src/errors.js';
import { ipcFormatOf, openBatchWriter, writeBatches } from '../../src/io/predictions.js';
import { removeDir, table, tempDir } from '../helpers/arrow.js';

let root: string;
beforeAll(() => { root = tempDir(); });
afterAll(() => { removeDir(root); });

let n = 0;
/** A fresh, empty directory: what is in it afterwards is what the writer left. */
function freshDir(): string {
  const dir = path.join(root, `d${n++}`);
  mkdirSync(dir);
  return dir;
}

const parts = [0, 1, 2].map((k) => table({ x: [k, k + 0.5, k + 0.25], label: [k, k, k] }).batches[0]!);
const schema = parts[0]!.schema;

async function failure(p: Promise<unknown>): Promise<QuiverError> {
  const e = await p.then(() => undefined, (e: unknown) => e);
  expect(e).toBeInstanceOf(QuiverError);
  return e as QuiverError;
}

describe('writeBatches', () => {
  it('writes an IPC file (.arrow, .feather) with every batch, read back as written', async () => {
    for (const name of ['p.arrow', 'p.feather']) {
      const dir = freshDir();
      const file = path.join(dir, name);
      expect(await writeBatches(file, schema, parts)).toEqual({ rows: 9 });
      expect(readdirSync(dir)).toEqual([name]);
      const bytes = readFileSync(file);
      expect(bytes.subarray(0, 6).toString('latin1')).toBe('ARROW1');
      const t = tableFromIPC(bytes);
      expect(t.batches.length).toBe(3);
      expect([...t.getChild('x')!]).toEqual(parts.flatMap((b) => [...b.getChild('x')!]));
    }
  });

  it('writes an IPC stream for .arrows', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'p.arrows');
    await writeBatches(file, schema, parts);
    const bytes = readFileSync(file);
    expect(bytes.readUInt32LE(0)).toBe(0xffffffff);
    const reader = RecordBatchReader.from(bytes);
    expect(reader.isStream()).toBe(true);
    expect([...tableFromIPC(bytes).getChild('label')!]).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
  });

  it('puts each batch on disk before the next is drawn', async () => {
    const dir = freshDir();
    const sizes: number[] = [];
    async function* slow(): AsyncGenerator<RecordBatch> {
      for (const b of parts) {
        const temp = readdirSync(dir).filter((f) => f.includes('.tmp-'));
        sizes.push(temp.length === 1 ? statSync(path.join(dir, temp[0]!)).size : -1);
        yield b;
      }
    }
    await writeBatches(path.join(dir, 'p.arrow'), schema, slow());
    expect(sizes[0]).toBeGreaterThan(0); // the magic bytes, before any batch
    expect(sizes[1]).toBeGreaterThan(sizes[0]!);
    expect(sizes[2]).toBeGreaterThan(sizes[1]!);
  });

  it('writes a valid empty file when there are no batches', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'empty.arrow');
    await writeBatches(file, schema, []);
    const t = tableFromIPC(readFileSync(file));
    expect(t.numRows).toBe(0);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['x', 'label']);
  });

  it('leaves no file and no temporary when the batches fail midway', async () => {
    for (const name of ['p.arrow', 'p.arrows']) {
      const dir = freshDir();
      async function* failing(): AsyncGenerator<RecordBatch> {
        yield parts[0]!;
        yield parts[1]!;
        throw new Error('the third batch is bad');
      }
      await expect(writeBatches(path.join(dir, name), schema, failing())).rejects.toThrow(/third batch/);
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it('refuses a batch of other columns with E_SCHEMA_CHANGED and leaves nothing', async () => {
    const dir = freshDir();
    const other = table({ y: [1], label: [0] }).batches[0]!;
    const e = await failure(writeBatches(path.join(dir, 'p.arrow'), schema, [parts[0]!, other]));
    expect(e.code).toBe('E_SCHEMA_CHANGED');
    expect(e.message).toMatch(/y: Float32, label: Int32/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a name of no Arrow format with E_CONFIG, and a missing directory with E_OUT_FILE', async () => {
    expect(() => ipcFormatOf('p.parquet')).toThrow(/cannot tell the Arrow format from the name/);
    expect(ipcFormatOf('-')).toBe('stream');
    expect(ipcFormatOf('P.ARROWS')).toBe('stream');
    const e = await failure(openBatchWriter(path.join(root, 'no', 'such', 'p.arrow'), schema));
    expect(e.code).toBe('E_OUT_FILE');
    expect(e.message).toMatch(/p\.arrow: cannot write \(no such directory\)/);
  });
});
