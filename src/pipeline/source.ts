/**
 * Arrow sources: where record batches come from, one at a time, whatever the format.
 *
 * | source                          | random access (`readBatch`)   | memory                                  |
 * |---------------------------------|-------------------------------|-----------------------------------------|
 * | IPC file (.arrow .feather .ipc) | yes, by record batch (footer) | one batch at a time, read by range      |
 * | IPC stream (.arrows)            | no; replayable from disk      | one batch at a time                     |
 * | stdin (`-`)                     | no; one pass                  | one batch at a time (an IPC *file* piped in is read whole) |
 * | Parquet (.parquet)              | yes, by row group             | one row group, read by range (parquet.ts) |
 * | Table                           | yes                           | the caller's                            |
 * | AsyncIterable, Observable       | no; one pass                  | an Observable's batches that arrive ahead of the consumer |
 *
 * The format is told by the file's first bytes (ARROW1, the 0xFFFFFFFF stream marker, PAR1);
 * the extension only chooses the message when they are none of these.
 *
 * @example
 * const source = await openSource('train.parquet');
 * try {
 *   for await (const batch of source.batches) console.log(batch.numRows);
 * } finally {
 *   await source.close();
 * }
 */
import './codecs.js';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { RecordBatchReader, type RecordBatch, type Schema, type Table } from 'apache-arrow';
import type { Observable } from 'rxjs';
import { ConfigError, DataError, QuiverError, where } from '../errors.js';
import { pullObservable } from './pull.js';

export type SourceFormat = 'ipc-file' | 'ipc-stream' | 'parquet' | 'table' | 'batches' | 'observable';

/** An Arrow source opened for reading one record batch at a time. */
export interface ArrowSource {
  /** Where the batches come from, for messages: the path, "stdin", or the name given. */
  file: string;
  schema: Schema;
  /**
   * Every record batch, in order. Iterating again starts over from the first batch when
   * `replayable`; a one-pass source throws E_ONE_PASS instead.
   */
  batches: AsyncIterable<RecordBatch>;
  /** How many batches `readBatch` reads (Parquet: row groups); undefined without random access. */
  batchCount?: number;
  /** Batch `index` in [0, batchCount), read alone; only with random access. */
  readBatch?(index: number): Promise<RecordBatch>;
  /** Whether `batches` can be iterated more than once (files and tables, not pipes). */
  replayable?: boolean;
  format?: SourceFormat;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** What `-` reads (default process.stdin). */
  stdin?: NodeJS.ReadableStream;
}

const ARROW_MAGIC = 'ARROW1';
const PARQUET_MAGIC = 'PAR1';
const ARROW_EXTENSIONS = new Set(['.arrow', '.feather', '.ipc', '.arrows']);

// Messages, built in one place.
function corrupt(file: string, cause: unknown, at?: string): DataError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new DataError('E_CORRUPT_ARROW', `${where(file)}: cannot be read as Arrow${at ? ` at ${at}` : ''}, it is cut off or corrupt (${why})`, { cause });
}

function notArrow(file: string, ext: string): DataError {
  const what = ARROW_EXTENSIONS.has(ext) || file === 'stdin'
    ? 'not an Arrow IPC file or stream (it does not start with the Arrow magic bytes)'
    : 'not an Arrow IPC file or stream, nor a Parquet file (it starts with none of their magic bytes)';
  return new DataError('E_NOT_ARROW', `${where(file)}: ${what}`);
}

function onePass(file: string): DataError {
  return new DataError('E_ONE_PASS', `${where(file)}: can be read only once (a pipe or a one-pass stream); read it from a file to go over it again`);
}

function describeSchema(schema: Schema): string {
  return schema.fields.map((f) => `${f.name}: ${f.type}`).join(', ');
}

function sameSchema(a: Schema, b: Schema): boolean {
  return a.fields.length === b.fields.length
    && a.fields.every((f, i) => f.name === b.fields[i]!.name && String(f.type) === String(b.fields[i]!.type));
}

function schemaChanged(file: string, batch: number, row: number, was: Schema, now: Schema): DataError {
  return new DataError('E_SCHEMA_CHANGED',
    `${where(file)}: the schema changes at record batch ${batch} (row ${row}): columns were ${describeSchema(was)}; now ${describeSchema(now)}`);
}

/**
 * Yields `batches`, checking each has `schema` (an IPC stream may carry a new schema message
 * midway). With `decoding`, a failure that is not already a QuiverError is a corrupt file.
 */
export async function* checkedBatches(file: string, schema: Schema, batches: AsyncIterable<RecordBatch>,
                                      decoding = true): AsyncGenerator<RecordBatch> {
  let index = 0;
  let row = 0;
  const iterator = batches[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<RecordBatch>;
      try {
        next = await iterator.next();
      } catch (e) {
        if (!decoding || e instanceof QuiverError) throw e;
        throw corrupt(file, e, `record batch ${index}`);
      }
      if (next.done) return;
      const batch = next.value;
      if (!sameSchema(schema, batch.schema)) throw schemaChanged(file, index, row, schema, batch.schema);
      index++;
      row += batch.numRows;
      yield batch;
    }
  } finally {
    await iterator.return?.();
  }
}

/** An iterable that can be iterated once; a second time throws E_ONE_PASS. */
function once(file: string, make: () => AsyncIterator<RecordBatch>): AsyncIterable<RecordBatch> {
  let used = false;
  return {
    [Symbol.asyncIterator]() {
      if (used) throw onePass(file);
      used = true;
      return make();
    },
  };
}

async function openHandle(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError('E_NO_FILE', `file ${file}: no such file`, { cause: e });
    if (code === 'EISDIR') throw new DataError('E_NO_FILE', `file ${file}: is a directory, not an Arrow file`, { cause: e });
    throw new DataError('E_NO_FILE', `file ${file}: cannot open (${code ?? (e as Error).message})`, { cause: e });
  }
}

/**
 * Opens `file` (a path, or `-` for stdin) as a source: an Arrow IPC file or stream, or Parquet.
 * Nothing is read whole: an IPC file and a Parquet file are read by byte ranges through their
 * footers, a stream as it arrives.
 */
export async function openSource(file: string, options: OpenOptions = {}): Promise<ArrowSource> {
  if (file === '-') return openStdin(options.stdin ?? process.stdin);
  const fh = await openHandle(file);
  let handedOver = false;
  try {
    const stats = await fh.stat();
    // open() succeeds on a directory on Linux; only reading it fails (EISDIR).
    if (stats.isDirectory()) throw new DataError('E_NO_FILE', `file ${file}: is a directory, not an Arrow file`);
    const ext = path.extname(file).toLowerCase();
    const size = stats.size;
    if (size === 0) {
      if (ext === '.parquet') throw new DataError('E_NOT_PARQUET', `file ${file}: is empty, not a Parquet file`);
      throw new DataError('E_NOT_ARROW', `file ${file}: is empty, not an Arrow IPC file`);
    }
    const head = Buffer.alloc(Math.min(8, size));
    await fh.read(head, 0, head.length, 0);
    if (head.subarray(0, 4).toString('latin1') === PARQUET_MAGIC) {
      await fh.close();
      handedOver = true;
      // Loaded on first use: parquet-wasm's module costs some 23 MB of RSS that IPC readers need not carry.
      const { openParquet } = await import('./parquet.js');
      return await openParquet(file, size);
    }
    const isFile = head.subarray(0, 6).toString('latin1') === ARROW_MAGIC;
    const isStream = head.length >= 4 && head.readUInt32LE(0) === 0xffffffff;
    if (!isFile && !isStream) {
      if (ext === '.parquet') throw new DataError('E_NOT_PARQUET', `file ${file}: not a Parquet file (it does not start with PAR1)`);
      throw notArrow(file, ext);
    }
    const source = isFile ? await openIpcFile(file, fh, size) : await openIpcStream(file, fh);
    handedOver = true;
    return source;
  } finally {
    if (!handedOver) await fh.close().catch(() => undefined);
  }
}

/**
 * The old name, kept for callers: opens any source openSource does (it was IPC only).
 * @deprecated use openSource
 */
export function openArrowFile(file: string): Promise<ArrowSource> {
  return openSource(file);
}

/** An IPC file: the footer lists the record batches, each read alone at its offset. */
async function openIpcFile(file: string, fh: FileHandle, size: number): Promise<ArrowSource> {
  // apache-arrow decodes whatever lies before the last 10 bytes as the footer, so a file cut
  // at a batch boundary would read as garbage (an empty schema): the closing magic must be there.
  const tail = Buffer.alloc(ARROW_MAGIC.length);
  if (size >= 2 * ARROW_MAGIC.length + 2) await fh.read(tail, 0, tail.length, size - tail.length);
  if (tail.toString('latin1') !== ARROW_MAGIC) throw corrupt(file, new Error('no Arrow footer at the end'));
  let reader: RecordBatchReader;
  try {
    // Given a FileHandle, apache-arrow reads by position (AsyncRandomAccessFile); a Node read
    // stream would make it buffer the whole file.
    reader = await RecordBatchReader.from(fh);
    await reader.open();
  } catch (e) {
    throw corrupt(file, e);
  }
  const schema = reader.schema;
  if (schema === undefined || !reader.isFile()) throw corrupt(file, new Error('no schema'));
  const batchCount = reader.numRecordBatches;
  // Reads share the reader's file position (seek, then read): one at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const readBatch = (index: number): Promise<RecordBatch> => {
    if (!Number.isInteger(index) || index < 0 || index >= batchCount) {
      return Promise.reject(new RangeError(`${where(file)}: record batch index ${index} is outside 0..${batchCount - 1}`));
    }
    const read = queue.then(async () => {
      let batch: RecordBatch | null;
      try {
        batch = await (reader.readRecordBatch(index) as Promise<RecordBatch | null>);
      } catch (e) {
        throw corrupt(file, e, `record batch ${index}`);
      }
      if (batch === null) throw corrupt(file, new Error('the footer points past the data'), `record batch ${index}`);
      return batch;
    });
    queue = read.catch(() => undefined);
    return read;
  };
  async function* all(): AsyncGenerator<RecordBatch> {
    for (let i = 0; i < batchCount; i++) yield await readBatch(i);
  }
  return {
    file, schema, batchCount, readBatch, replayable: true, format: 'ipc-file',
    batches: { [Symbol.asyncIterator]: () => checkedBatches(file, schema, all()) },
    close: async () => { await queue; await fh.close().catch(() => undefined); },
  };
}

/**
 * An IPC stream on disk: read front to back. Each iteration opens the file afresh, since
 * apache-arrow closes the handle when a stream reader reaches its end.
 */
async function openIpcStream(file: string, fh: FileHandle): Promise<ArrowSource> {
  const start = async (handle: FileHandle): Promise<RecordBatchReader> => {
    try {
      const reader = await RecordBatchReader.from(handle);
      await reader.open();
      return reader;
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw corrupt(file, e);
    }
  };
  let pending: RecordBatchReader | null = await start(fh);
  const schema = pending.schema;
  if (schema === undefined) throw corrupt(file, new Error('no schema'));
  const readers = new Set<RecordBatchReader>();
  async function* all(): AsyncGenerator<RecordBatch> {
    const reader = pending ?? await start(await openHandle(file));
    pending = null;
    readers.add(reader);
    try {
      yield* reader as AsyncIterable<RecordBatch>;
    } finally {
      readers.delete(reader);
    }
  }
  return {
    file, schema, replayable: true, format: 'ipc-stream',
    batches: { [Symbol.asyncIterator]: () => checkedBatches(file, schema, all()) },
    close: async () => {
      const open = [...readers, ...(pending ? [pending] : [])];
      pending = null;
      for (const r of open) await Promise.resolve(r.cancel()).catch(() => undefined);
      await fh.close().catch(() => undefined);
    },
  };
}

/** The first `n` bytes of a byte stream, and the whole stream again (those bytes included). */
async function peek(stream: AsyncIterable<Uint8Array | string>, n: number): Promise<{ head: Buffer; bytes: AsyncIterable<Uint8Array> }> {
  const iterator = stream[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < n) {
    const next = await iterator.next();
    if (next.done) { done = true; break; }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    seen.push(chunk);
    length += chunk.length;
  }
  async function* bytes(): AsyncGenerator<Uint8Array> {
    yield* seen;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    }
  }
  return { head: Buffer.concat(seen).subarray(0, n), bytes: bytes() };
}

/** stdin: an IPC stream read as it arrives, one pass. */
async function openStdin(stream: NodeJS.ReadableStream): Promise<ArrowSource> {
  const file = 'stdin';
  const { head, bytes } = await peek(stream as AsyncIterable<Uint8Array | string>, 8);
  if (head.length === 0) throw new DataError('E_NOT_ARROW', `${where(file)}: is empty, not an Arrow IPC stream`);
  if (head.subarray(0, 4).toString('latin1') === PARQUET_MAGIC) {
    throw new DataError('E_NOT_ARROW', `${where(file)}: is Parquet, which is read through its footer at the end; pass it as a file, not a pipe`);
  }
  const isFile = head.subarray(0, 6).toString('latin1') === ARROW_MAGIC;
  const isStream = head.length >= 4 && head.readUInt32LE(0) === 0xffffffff;
  if (!isFile && !isStream) throw notArrow(file, '');
  let reader: RecordBatchReader;
  try {
    // An IPC *file* piped in has its footer at the end: apache-arrow reads it whole first.
    reader = await RecordBatchReader.from(bytes);
    await reader.open();
  } catch (e) {
    throw corrupt(file, e);
  }
  const schema = reader.schema;
  if (schema === undefined) throw corrupt(file, new Error('no schema'));
  return {
    file, schema, replayable: false, format: 'ipc-stream',
    batches: once(file, () => checkedBatches(file, schema, reader as AsyncIterable<RecordBatch>)),
    close: async () => { await Promise.resolve(reader.cancel()).catch(() => undefined); },
  };
}

/** A Table held in memory, read batch by batch (random access, replayable). */
export function sourceFromTable(table: Table, name = 'table'): ArrowSource {
  const { schema } = table;
  const list = table.batches;
  async function* all(): AsyncGenerator<RecordBatch> { yield* list; }
  return {
    file: name, schema, batchCount: list.length, replayable: true, format: 'table',
    readBatch: async (index) => {
      const batch = list[index];
      if (batch === undefined) throw new RangeError(`${where(name)}: record batch index ${index} is outside 0..${list.length - 1}`);
      return batch;
    },
    batches: { [Symbol.asyncIterator]: () => checkedBatches(name, schema, all(), false) },
    close: async () => undefined,
  };
}

/**
 * Record batches from an (async) iterable, read once. The first batch is pulled now, for the
 * schema; every later one must have the same schema (E_SCHEMA_CHANGED).
 */
export async function sourceFromBatches(batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
                                        name = 'batches', format: SourceFormat = 'batches'): Promise<ArrowSource> {
  const iterator: AsyncIterator<RecordBatch> | Iterator<RecordBatch> = Symbol.asyncIterator in batches
    ? batches[Symbol.asyncIterator]() : batches[Symbol.iterator]();
  const first = await iterator.next();
  if (first.done) {
    await iterator.return?.();
    throw new DataError('E_NO_ROWS', `${where(name)}: has no record batches`);
  }
  const schema = first.value.schema;
  let finished = false;
  async function* all(): AsyncGenerator<RecordBatch> {
    try {
      yield first.value as RecordBatch;
      for (;;) {
        const next = await iterator.next();
        if (next.done) { finished = true; return; }
        yield next.value;
      }
    } finally {
      if (!finished) { finished = true; await iterator.return?.(); }
    }
  }
  return {
    file: name, schema, replayable: false, format,
    batches: once(name, () => checkedBatches(name, schema, all(), false)),
    close: async () => { if (!finished) { finished = true; await iterator.return?.(); } },
  };
}

/**
 * An Observable's record batches as a pull source. An Observable cannot be paused: it is
 * subscribed to now, and whatever it emits before the consumer asks is queued (pull.ts), so a
 * fast producer ahead of a slow consumer grows the queue, up to `maxQueued` batches (unbounded
 * by default; past it, E_OVERRUN). A file source, which is pulled, needs no queue.
 * Unsubscribes when the consumer stops early or the source is closed.
 *
 * @example
 * const source = await sourceFromObservable(from(table.batches));
 */
export function sourceFromObservable(observable: Observable<RecordBatch>, name = 'observable',
                                     options: { maxQueued?: number } = {}): Promise<ArrowSource> {
  return sourceFromBatches(pullObservable(observable, { ...options, overrun: (n) => overrun(name, n) }), name, 'observable');
}

/** An Observable ran ahead of its reader by more than the queue holds. */
export function overrun(name: string, maxQueued: number): QuiverError {
  return new ConfigError('E_OVERRUN',
    `${where(name)}: emitted more than ${maxQueued} record batches ahead of the reader, and RxJS cannot slow a source down; ` +
    'raise the bound (maxQueuedBatches) if they fit in memory, or hand over an AsyncIterable or a file, which is read at the reader\'s pace');
}
