/**
 * Small Arrow IPC files for pipeline and CLI tests, written into a temporary directory.
 *
 * @example
 * const dir = tempDir();
 * const file = writeArrow(dir, 'nan.arrow', { f0: [1, 2, 3], f1: [0, 1, NaN], label: [0, 1, 0] });
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CompressionType, Float32, Int32, RecordBatch, RecordBatchFileWriter, RecordBatchStreamWriter, Table,
  compressionRegistry, tableToIPC, vectorFromArray, type DataType, type Vector,
} from 'apache-arrow';
import { compressFrameSync } from 'lz4-napi';
import { Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import { decodeLz4Frame } from '../../src/pipeline/codecs.js';

/** A fresh directory under the system's temporary one; remove it with `removeDir`. */
export function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'quiver-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A column: a ready vector, or plain values (null allowed) typed float32, or int32 for "label". */
export type Column = Vector | readonly (number | null)[];

function toVector(name: string, c: Column): Vector {
  if (!Array.isArray(c)) return c as Vector;
  const type: DataType = name === 'label' ? new Int32() : new Float32();
  return vectorFromArray(c as (number | null)[], type);
}

/** A table of the columns, in the order given. */
export function table(columns: Record<string, Column>): Table {
  return new Table(Object.fromEntries(Object.entries(columns).map(([k, c]) => [k, toVector(k, c)])));
}

/** One table whose record batches are the given tables' (each table one batch or more). */
export function batches(...tables: Table[]): Table {
  return new Table(tables.flatMap((t) => t.batches) as RecordBatch[]);
}

/** Writes `columns` (or a table) as an Arrow IPC file (or stream) in `dir` and returns its path. */
export function writeArrow(dir: string, name: string, columns: Record<string, Column> | Table,
                           format: 'file' | 'stream' = 'file'): string {
  const t = columns instanceof Table ? columns : table(columns);
  const file = path.join(dir, name);
  writeFileSync(file, tableToIPC(t, format));
  return file;
}

/** `n` float32 features f0..f{n-1} of `rows` rows and a label column, all finite. */
export function simpleColumns(rows: number, n = 2, label = (r: number): number => r % 2): Record<string, Column> {
  const cols: Record<string, Column> = {};
  for (let j = 0; j < n; j++) cols[`f${j}`] = Array.from({ length: rows }, (_, r) => (r + 1) * (j + 1) * 0.25);
  cols.label = Array.from({ length: rows }, (_, r) => label(r));
  return cols;
}

/**
 * Writes a table as an IPC file (or stream) whose record batch bodies are LZ4_FRAME-compressed,
 * as pyarrow and Polars write them. Registers an LZ4 encoder (lz4-napi) beside quiver's decoder.
 */
export function writeLz4Arrow(dir: string, name: string, t: Table, format: 'file' | 'stream' = 'file'): string {
  compressionRegistry.set(CompressionType.LZ4_FRAME, {
    encode: (data) => new Uint8Array(compressFrameSync(Buffer.from(data.buffer, data.byteOffset, data.byteLength))),
    decode: decodeLz4Frame,
  });
  const Writer = format === 'file' ? RecordBatchFileWriter : RecordBatchStreamWriter;
  const writer = new Writer({ compressionType: CompressionType.LZ4_FRAME });
  writer.writeAll(t);
  const file = path.join(dir, name);
  writeFileSync(file, writer.toUint8Array(true));
  return file;
}

/** An IPC stream whose schema changes after the first part: `first`'s batches, then `second`'s. */
export function writeSchemaChange(dir: string, name: string, first: Table, second: Table): string {
  const a = tableToIPC(first, 'stream');
  const b = tableToIPC(second, 'stream');
  const file = path.join(dir, name);
  // Without a's end-of-stream marker (8 bytes), b's schema message arrives midway through one stream.
  writeFileSync(file, Buffer.concat([a.subarray(0, a.length - 8), b]));
  return file;
}

/** Writes a table as a Parquet file (parquet-wasm) with row groups of at most `rowGroupRows` rows. */
export function writeParquetFile(dir: string, name: string, t: Table, rowGroupRows = 1 << 20): string {
  const wasmTable = WasmTable.fromIPCStream(tableToIPC(t, 'stream'));
  const props = new WriterPropertiesBuilder().setMaxRowGroupSize(rowGroupRows).build();
  const file = path.join(dir, name);
  writeFileSync(file, writeParquet(wasmTable, props));
  return file;
}
