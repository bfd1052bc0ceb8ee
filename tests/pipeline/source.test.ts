import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Float32, Float64, Int32, tableToIPC, vectorFromArray, type RecordBatch } from 'apache-arrow';
import { Observable, Subject, from } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import { loadDataset } from '../../src/pipeline/dataset.js';
import {
  openArrowFile, openSource, sourceFromBatches, sourceFromObservable, sourceFromTable, type ArrowSource,
} from '../../src/pipeline/source.js';
import {
  batches, removeDir, simpleColumns, table, tempDir, writeArrow, writeLz4Arrow, writeParquetFile, writeSchemaChange,
} from '../helpers/arrow.js';

let dir: string;
beforeAll(() => { dir = tempDir(); });
afterAll(() => { removeDir(dir); });

const rx = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Three record batches of 3, 1 and 5 rows; f0 = the row, label = row % 3. */
function threeBatches() {
  const part = (from: number, rows: number) => table({
    f0: Array.from({ length: rows }, (_, r) => from + r),
    label: Array.from({ length: rows }, (_, r) => (from + r) % 3),
  });
  return batches(part(0, 3), part(3, 1), part(4, 5));
}

async function all(source: ArrowSource): Promise<number[]> {
  const rows: number[] = [];
  for await (const b of source.batches) rows.push(...Array.from(b.getChild('f0')!.toArray() as Float32Array));
  return rows;
}

async function rejection(p: Promise<unknown>): Promise<DataError> {
  const e = await p.then(() => undefined, (e: unknown) => e);
  expect(e).toBeInstanceOf(DataError);
  return e as DataError;
}

const nine = Array.from({ length: 9 }, (_, r) => r);

describe('IPC file', () => {
  it('reads any record batch alone, in any order, by its index in the footer', async () => {
    const source = await openSource(writeArrow(dir, 'three.arrow', threeBatches()));
    try {
      expect(source.format).toBe('ipc-file');
      expect(source.batchCount).toBe(3);
      const rows = async (i: number) => Array.from((await source.readBatch!(i)).getChild('f0')!.toArray() as Float32Array);
      expect(await rows(2)).toEqual([4, 5, 6, 7, 8]);
      expect(await rows(0)).toEqual([0, 1, 2]);
      expect(await rows(1)).toEqual([3]);
      // Reads at once share one file position: they are queued, each gets its own batch.
      const together = await Promise.all([2, 1, 0, 2].map((i) => source.readBatch!(i)));
      expect(together.map((b) => b.numRows)).toEqual([5, 1, 3, 5]);
      await expect(source.readBatch!(3)).rejects.toThrow(RangeError);
    } finally {
      await source.close();
    }
  });

  it('iterates every batch in order, again on each pass', async () => {
    const source = await openSource(writeArrow(dir, 'again.arrow', threeBatches()));
    try {
      expect(source.replayable).toBe(true);
      expect(await all(source)).toEqual(nine);
      expect(await all(source)).toEqual(nine);
    } finally {
      await source.close();
    }
  });

  it('reads one record batch by its byte range, not the whole file', async () => {
    const rows = 50_000;
    const part = (k: number) => table({ f0: Array.from({ length: rows }, (_, r) => k * rows + r), label: Array.from({ length: rows }, () => k % 2) });
    const file = writeArrow(dir, 'big.arrow', batches(part(0), part(1), part(2), part(3)));
    const size = statSync(file).size;
    // FileHandle's class is not exported: wrap read on the prototype of a handle, counting the bytes asked for.
    const probe = await open(file);
    const proto = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    const real = proto.read;
    let bytes = 0;
    proto.read = async function (this: unknown, ...args: unknown[]) {
      bytes += typeof args[2] === 'number' ? args[2] : 0;
      return real.apply(this, args);
    };
    try {
      const source = await openSource(file);
      bytes = 0;
      const batch = await source.readBatch!(2);
      await source.close();
      expect(batch.numRows).toBe(rows);
      expect(batch.getChild('f0')!.get(0)).toBe(2 * rows);
      expect(bytes).toBeGreaterThanOrEqual(rows * 8); // the batch body: f0 float32 + label int32
      expect(bytes).toBeLessThan(size / 2);
    } finally {
      proto.read = real;
    }
  });

  it('is what openArrowFile opens, as before', async () => {
    const source = await openArrowFile(writeArrow(dir, 'old.arrow', threeBatches()));
    expect(await all(source)).toEqual(nine);
    await source.close();
  });
});

describe('IPC stream', () => {
  it('reads a .arrows file as it comes, without random access, again on each pass', async () => {
    const source = await openSource(writeArrow(dir, 'three.arrows', threeBatches(), 'stream'));
    try {
      expect(source.format).toBe('ipc-stream');
      expect(source.batchCount).toBeUndefined();
      expect(source.readBatch).toBeUndefined();
      expect(await all(source)).toEqual(nine);
      expect(await all(source)).toEqual(nine);
    } finally {
      await source.close();
    }
  });

  it('reads stdin (`-`) as it arrives, once', async () => {
    const bytes = tableToIPC(threeBatches(), 'stream');
    // Chunks that cut through messages, as a pipe delivers them.
    const chunks = [bytes.subarray(0, 3), bytes.subarray(3, 100), bytes.subarray(100)];
    const source = await openSource('-', { stdin: Readable.from(chunks) });
    expect(source.file).toBe('stdin');
    expect(source.replayable).toBe(false);
    expect(await all(source)).toEqual(nine);
    const again = await rejection(all(source));
    expect(again.code).toBe('E_ONE_PASS');
    expect(again.message).toMatch(/stdin: can be read only once/);
    await source.close();
  });

  it('names stdin in the error for a stream cut off there', async () => {
    const bytes = tableToIPC(batches(table(simpleColumns(40, 4)), table(simpleColumns(40, 4))), 'stream');
    const e = await rejection(loadDataset(await openSource('-', { stdin: Readable.from([bytes.subarray(0, bytes.length - 200)]) })));
    expect(e.code).toBe('E_CORRUPT_ARROW');
    expect(e.message).toMatch(/^file stdin: .*cut off/);
  });

  it('rejects text, nothing, or Parquet on stdin with E_NOT_ARROW', async () => {
    const stdin = (bytes: Uint8Array | string) => openSource('-', { stdin: Readable.from(bytes.length ? [Buffer.from(bytes)] : []) });
    expect((await rejection(stdin('f0,label\n1,0\n'))).message).toMatch(/stdin: not an Arrow IPC/);
    expect((await rejection(stdin(''))).message).toMatch(/stdin: is empty/);
    const parquet = writeParquetFile(dir, 'for-stdin.parquet', table(simpleColumns(4)));
    const e = await rejection(openSource('-', { stdin: Readable.from([readFileSync(parquet)]) }));
    expect(e.code).toBe('E_NOT_ARROW');
    expect(e.message).toMatch(/stdin: is Parquet.*pass it as a file/);
  });

  it('rejects a stream whose schema changes midway with E_SCHEMA_CHANGED naming the file and batch', async () => {
    const first = batches(table({ f0: [1, 2], label: [0, 1] }), table({ f0: [3], label: [1] }));
    const second = table({ f0: vectorFromArray([4, 5], new Float64()), label: [0, 1] });
    const file = writeSchemaChange(dir, 'changes.arrows', first, second);
    const e = await rejection(loadDataset(file));
    expect(e.code).toBe('E_SCHEMA_CHANGED');
    expect(e.message).toMatch(new RegExp(`${rx(file)}: the schema changes at record batch 2 \\(row 3\\).*f0: Float32.*now f0: Float64`));
  });

  it('reads on through a second schema message that repeats the first', async () => {
    const file = writeSchemaChange(dir, 'repeats.arrows', table({ f0: [1, 2], label: [0, 1] }), table({ f0: [3], label: [1] }));
    const ds = await loadDataset(file);
    expect(Array.from(ds.features)).toEqual([1, 2, 3]);
  });
});

describe('compressed IPC', () => {
  const cols = () => table({
    f0: vectorFromArray(Array.from({ length: 3000 }, (_, r) => (r % 97) * 0.5), new Float32()),
    f1: vectorFromArray(Array.from({ length: 3000 }, (_, r) => r * 1e-3 - 1), new Float64()),
    label: vectorFromArray(Array.from({ length: 3000 }, (_, r) => r % 3), new Int32()),
  });

  it.each(['file', 'stream'] as const)('reads an LZ4_FRAME-compressed IPC %s to the same values', async (format) => {
    const t = cols();
    const file = writeLz4Arrow(dir, `lz4-${format}.arrow`, batches(t, t));
    // Compressed: the file is much smaller than the 2 × 3000 × 16 bytes of its columns.
    expect(statSync(file).size).toBeLessThan(2 * 3000 * 16 * 0.75);
    const ds = await loadDataset(file);
    expect(ds.rows).toBe(6000);
    const want = Array.from({ length: 6000 }, (_, i) => { const r = i % 3000; return [Math.fround((r % 97) * 0.5), Math.fround(r * 1e-3 - 1)]; }).flat();
    expect(Array.from(ds.features)).toEqual(want);
    expect(Array.from(ds.labels)).toEqual(Array.from({ length: 6000 }, (_, i) => (i % 3000) % 3));
  });
});

describe('format by magic bytes', () => {
  it('reads an IPC file or a Parquet file whatever the extension', async () => {
    const bytes = tableToIPC(threeBatches(), 'file');
    const odd = path.join(dir, 'data.bin');
    writeFileSync(odd, bytes);
    expect((await loadDataset(odd)).rows).toBe(9);
    const pq = writeParquetFile(dir, 'really-parquet.arrow', threeBatches());
    const ds = await loadDataset(pq);
    expect(Array.from(ds.features)).toEqual(nine);
  });

  it('rejects a CSV named .parquet with E_NOT_PARQUET, and an empty one', async () => {
    const csv = path.join(dir, 'data.parquet');
    writeFileSync(csv, 'f0,label\n1,0\n');
    const e = await rejection(loadDataset(csv));
    expect(e.code).toBe('E_NOT_PARQUET');
    expect(e.message).toMatch(new RegExp(`${rx(csv)}: not a Parquet file`));
    const empty = path.join(dir, 'empty.parquet');
    writeFileSync(empty, '');
    expect((await rejection(loadDataset(empty))).code).toBe('E_NOT_PARQUET');
  });

  it('rejects a file of unknown format with E_NOT_ARROW saying what it is not', async () => {
    const file = path.join(dir, 'data.txt');
    writeFileSync(file, 'hello world\n');
    const e = await rejection(loadDataset(file));
    expect(e.code).toBe('E_NOT_ARROW');
    expect(e.message).toMatch(/not an Arrow IPC file or stream, nor a Parquet file/);
  });
});

describe('library sources', () => {
  it('reads a Table with random access, as loadDataset does', async () => {
    const source = sourceFromTable(threeBatches());
    expect(source.batchCount).toBe(3);
    expect((await source.readBatch!(1)).numRows).toBe(1);
    expect(await all(source)).toEqual(nine);
    const ds = await loadDataset(source);
    expect(ds.file).toBe('table');
    expect(Array.from(ds.labels)).toEqual(nine.map((r) => r % 3));
  });

  it('reads an async iterable of batches once, naming it in messages', async () => {
    async function* gen(): AsyncGenerator<RecordBatch> { yield* threeBatches().batches; }
    const source = await sourceFromBatches(gen(), 'my batches');
    expect(source.batchCount).toBeUndefined();
    expect(await all(source)).toEqual(nine);
    expect((await rejection(all(source))).code).toBe('E_ONE_PASS');

    const nulls = table({ f0: [1, null], label: [0, 1] });
    const e = await rejection(loadDataset(await sourceFromBatches(nulls.batches, 'my batches')));
    expect(e.message).toMatch(/my batches, column "f0", row 1: null/);
  });

  it('rejects an iterable with no batches with E_NO_ROWS, and one whose schema changes', async () => {
    expect((await rejection(sourceFromBatches([]))).code).toBe('E_NO_ROWS');
    const a = table({ f0: [1], label: [0] }).batches[0]!;
    const b = table({ f0: vectorFromArray([2], new Int32()), label: [1] }).batches[0]!;
    const e = await rejection(loadDataset(await sourceFromBatches([a, a, b], 'mixed')));
    expect(e.code).toBe('E_SCHEMA_CHANGED');
    expect(e.message).toMatch(/mixed: the schema changes at record batch 2 \(row 2\)/);
  });

  it('reads an Observable of batches, buffering what it emits ahead of the reader', async () => {
    const subject = new Subject<RecordBatch>();
    const list = threeBatches().batches;
    const opening = sourceFromObservable(subject, 'live');
    subject.next(list[0]!);
    const source = await opening;
    subject.next(list[1]!); // before anyone asks: buffered
    const reading = all(source);
    subject.next(list[2]!);
    subject.complete();
    expect(await reading).toEqual(nine);
    expect((await loadDataset(await sourceFromObservable(from(list)))).rows).toBe(9);
  });

  it('unsubscribes from the Observable when the reader stops early', async () => {
    let unsubscribed = false;
    const list = threeBatches().batches;
    const observable = new Observable<RecordBatch>((subscriber) => {
      list.forEach((b) => subscriber.next(b));
      return () => { unsubscribed = true; };
    });
    const source = await sourceFromObservable(observable);
    for await (const _ of source.batches) break;
    expect(unsubscribed).toBe(true);
  });

  it('passes an Observable\'s error on to the reader', async () => {
    const list = threeBatches().batches;
    const observable = new Observable<RecordBatch>((subscriber) => {
      subscriber.next(list[0]!);
      subscriber.error(new Error('upstream failed'));
    });
    const source = await sourceFromObservable(observable);
    await expect(all(source)).rejects.toThrow('upstream failed');
  });
});
