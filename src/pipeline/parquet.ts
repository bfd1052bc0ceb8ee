/**
 * Parquet files (what DuckDB and Spark jobs write) as an Arrow source, through parquet-wasm
 * (arrow-rs's reader compiled to WebAssembly).
 *
 * The file is never read whole: `fs.openAsBlob` gives a Blob backed by the file, and
 * parquet-wasm's `ParquetFile.fromFile` reads it by `blob.slice(start, end)`: the footer first,
 * then only the column chunks of the row group asked for. Each row group crosses from
 * WebAssembly memory to JS as Arrow IPC bytes (one copy), which apache-arrow reads in place.
 *
 * Random access is by row group: `readBatch(i)` is row group i as one RecordBatch; `batches`
 * gives each row group in slices of at most PARQUET_BATCH_ROWS rows. WebAssembly memory grows
 * to the largest row group decoded and does not shrink.
 *
 * @example
 * const source = await openParquet('part-0.parquet', size);
 * const first = await source.readBatch!(0); // row group 0
 */
import { openAsBlob } from 'node:fs';
import { open } from 'node:fs/promises';
import {
  RecordBatch, Struct, makeData, tableFromIPC, vectorFromArray, type Schema,
} from 'apache-arrow';
import { ParquetFile, type Table as WasmTable } from 'parquet-wasm';
import { DataError, where } from '../errors.js';
import { checkedBatches, type ArrowSource } from './source.js';

/** Rows per RecordBatch when `batches` streams a row group (Parquet's own default is 1024). */
export const PARQUET_BATCH_ROWS = 65536;

const MAGIC = 'PAR1';

function corrupt(file: string, cause: unknown, at?: string): DataError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new DataError('E_CORRUPT_PARQUET', `${where(file)}: cannot be read as Parquet${at ? ` at ${at}` : ''}, it is cut off or corrupt (${why})`, { cause });
}

/** A wasm table's batches in JS memory (one copy, as IPC bytes). */
function toJs(table: WasmTable): RecordBatch[] {
  return tableFromIPC(table.intoIPCStream()).batches;
}

/** A RecordBatch of no rows (a row group may be empty). */
function emptyBatch(schema: Schema): RecordBatch {
  const children = schema.fields.map((f) => vectorFromArray([], f.type).data[0]!);
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 0, nullCount: 0, children }));
}

/** Opens a Parquet file of `size` bytes (its first bytes already checked to be PAR1). */
export async function openParquet(file: string, size: number): Promise<ArrowSource> {
  // A file cut off has lost its footer, which holds the schema and the row groups' offsets.
  const fh = await open(file, 'r');
  try {
    const tail = Buffer.alloc(4);
    if (size >= 12) await fh.read(tail, 0, 4, size - 4);
    if (tail.toString('latin1') !== MAGIC) throw corrupt(file, new Error('no Parquet footer at the end'));
  } finally {
    await fh.close();
  }
  let pq: ParquetFile;
  let schema: Schema;
  let rowGroupRows: number[];
  try {
    pq = await ParquetFile.fromFile(await openAsBlob(file));
    schema = tableFromIPC(pq.schema().intoIPCStream()).schema;
    const metadata = pq.metadata();
    rowGroupRows = metadata.rowGroups().map((g) => g.numRows());
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw corrupt(file, e);
  }
  const batchCount = rowGroupRows.length;
  let closed = false;
  const live = (): ParquetFile => {
    if (closed) throw new Error(`${where(file)}: read after close`);
    return pq;
  };

  const readBatch = async (index: number): Promise<RecordBatch> => {
    if (!Number.isInteger(index) || index < 0 || index >= batchCount) {
      throw new RangeError(`${where(file)}: row group index ${index} is outside 0..${batchCount - 1}`);
    }
    let batches: RecordBatch[];
    try {
      // batchSize = the row group's rows, so the row group comes back as one batch.
      batches = toJs(await live().read({ rowGroups: [index], batchSize: Math.max(1, rowGroupRows[index]!) }));
    } catch (e) {
      throw corrupt(file, e, `row group ${index}`);
    }
    if (batches.length === 0) return emptyBatch(schema);
    if (batches.length > 1) throw corrupt(file, new Error(`row group ${index} came back as ${batches.length} batches`));
    return batches[0]!;
  };

  async function* all(): AsyncGenerator<RecordBatch> {
    for (let g = 0; g < batchCount; g++) {
      let stream: ReadableStream;
      try {
        stream = await live().stream({ rowGroups: [g], batchSize: PARQUET_BATCH_ROWS });
      } catch (e) {
        throw corrupt(file, e, `row group ${g}`);
      }
      const reader = stream.getReader();
      try {
        for (;;) {
          let next: ReadableStreamReadResult<{ intoIPCStream(): Uint8Array }>;
          try {
            next = await reader.read() as ReadableStreamReadResult<{ intoIPCStream(): Uint8Array }>;
          } catch (e) {
            throw corrupt(file, e, `row group ${g}`);
          }
          if (next.done) break;
          yield* tableFromIPC(next.value.intoIPCStream()).batches;
        }
      } finally {
        await reader.cancel().catch(() => undefined);
      }
    }
  }

  return {
    file, schema, batchCount, readBatch, replayable: true, format: 'parquet',
    batches: { [Symbol.asyncIterator]: () => checkedBatches(file, schema, all(), false) },
    close: async () => {
      if (!closed) { closed = true; pq.free(); }
    },
  };
}
