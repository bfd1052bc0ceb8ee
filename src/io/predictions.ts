/**
 * Record batches out to Arrow: an IPC file (`.arrow`, `.feather`, `.ipc`: random access, with
 * a footer) or an IPC stream (`.arrows`, or `-` for stdout), one batch at a time. Each batch's
 * bytes are written before the next batch is taken, so memory stays at about one batch. A file
 * is written to a temporary name beside its target and renamed into place only when complete;
 * on failure the temporary file is removed and nothing is left. Stdout is just streamed.
 *
 * @example
 * const out = await openBatchWriter('preds.arrow', schema);
 * try {
 *   for (const batch of batches) await out.write(batch);
 *   await out.close();
 * } catch (e) {
 *   await out.abort();
 *   throw e;
 * }
 */
import { once } from 'node:events';
import { RecordBatchFileWriter, RecordBatchStreamWriter, util, type RecordBatch, type Schema } from 'apache-arrow';
import { ConfigError, DataError } from '../errors.js';
import { openAtomic, type AtomicFile } from './atomic.js';

export type IpcFormat = 'file' | 'stream';

/** The path that means standard output. */
export const STDOUT = '-';

/** The format a target's name asks for; `-` is a stream to stdout. */
export function ipcFormatOf(target: string): IpcFormat {
  if (target === STDOUT || /\.arrows$/i.test(target)) return 'stream';
  if (/\.(arrow|feather|ipc)$/i.test(target)) return 'file';
  throw new ConfigError('E_CONFIG', `file ${target}: cannot tell the Arrow format from the name (.arrow, .feather or .ipc for an IPC file, .arrows for an IPC stream, - for stdout)`);
}

export interface BatchWriter {
  /** Rows written so far. */
  readonly rows: number;
  /** Writes one batch (its schema must equal the writer's). */
  write(batch: RecordBatch): Promise<void>;
  /** Ends the stream or file (a file's footer) and, for a file, renames it into place. */
  close(): Promise<void>;
  /** Gives up: a file's temporary is removed; stdout is left as it is. */
  abort(): Promise<void>;
}

/** The writers that say how many bytes they have queued, so that exactly those can be taken off. */
class CountingFileWriter extends RecordBatchFileWriter {
  get bytesQueued(): number { return this._position; }
}
class CountingStreamWriter extends RecordBatchStreamWriter {
  get bytesQueued(): number { return this._position; }
}

/** Where the bytes go: a temporary file, or stdout. */
interface Sink {
  write(bytes: Buffer): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

function fileSink(file: AtomicFile): Sink {
  let position = 0;
  return {
    write: async (bytes) => {
      for (let offset = 0; offset < bytes.byteLength;) {
        const { bytesWritten } = await file.handle.write(bytes, offset, bytes.byteLength - offset, position);
        offset += bytesWritten;
        position += bytesWritten;
      }
    },
    commit: () => file.commit(),
    abort: () => file.abort(),
  };
}

function stdoutSink(): Sink {
  return {
    write: async (bytes) => {
      if (bytes.byteLength > 0 && !process.stdout.write(bytes)) await once(process.stdout, 'drain');
    },
    commit: async () => undefined,
    abort: async () => undefined,
  };
}

/**
 * The Arrow writer silently ends the file at a batch whose schema differs from the first (by
 * apache-arrow's compareSchemas), so such a batch is refused here instead.
 */
function checkSchema(batch: RecordBatch, schema: Schema, target: string): RecordBatch {
  if (util.compareSchemas(schema, batch.schema)) return batch;
  const columns = (s: Schema): string => s.fields.map((f) => `${f.name}: ${String(f.type)}${f.nullable ? '' : ' not null'}`).join(', ');
  throw new DataError('E_SCHEMA_CHANGED', `${target === STDOUT ? 'stdout' : `file ${target}`}: a record batch of columns (${columns(batch.schema)}) cannot be written after a schema of (${columns(schema)})`);
}

function cannotWrite(target: string, e: unknown): DataError {
  if (e instanceof DataError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such directory' : code === 'EPIPE' ? 'the reader closed the pipe' : code ?? (e as Error).message;
  return new DataError('E_OUT_FILE', `${target === STDOUT ? 'stdout' : `file ${target}`}: cannot write (${why})`, { cause: e });
}

/**
 * Opens `target` for writing batches of `schema` (the schema is written at once, so a writer
 * closed with no batches still leaves a valid, empty file). `format` defaults to the name's.
 */
export async function openBatchWriter(target: string, schema: Schema, format: IpcFormat = ipcFormatOf(target)): Promise<BatchWriter> {
  const sink = target === STDOUT ? stdoutSink() : fileSink(await openAtomic(target).catch((e: unknown) => { throw cannotWrite(target, e); }));
  const writer = format === 'file' ? new CountingFileWriter() : new CountingStreamWriter();
  // write() and close() queue their bytes synchronously; we take them off the queue ourselves so
  // they are written before the next batch is made (piping toNodeStream() would not hold us back).
  const queue = writer[Symbol.asyncIterator]();
  let taken = 0;
  let rows = 0;
  let ended = false;
  const drain = async (bytes: number): Promise<void> => {
    const chunks: Uint8Array[] = [];
    for (let n = 0; n < bytes;) {
      const next = await queue.next();
      if (next.done) break;
      chunks.push(next.value);
      n += next.value.byteLength;
    }
    taken += bytes;
    await sink.write(Buffer.concat(chunks)).catch((e: unknown) => { throw cannotWrite(target, e); });
  };
  writer.reset(undefined, schema);
  try {
    await drain(writer.bytesQueued - taken);
  } catch (e) {
    await sink.abort();
    throw e;
  }
  return {
    get rows() { return rows; },
    write: async (batch) => {
      if (ended) throw new Error('BatchWriter: write after close or abort');
      writer.write(checkSchema(batch, schema, target));
      await drain(writer.bytesQueued - taken);
      rows += batch.numRows;
    },
    close: async () => {
      if (ended) throw new Error('BatchWriter: closed twice');
      ended = true;
      writer.close(); // queues the end of stream (and a file's footer), then ends the queue
      try {
        await drain(Infinity);
      } catch (e) {
        await sink.abort();
        throw e;
      }
      await sink.commit().catch((e: unknown) => { throw cannotWrite(target, e); });
    },
    abort: async () => {
      if (ended) return;
      ended = true;
      writer.abort();
      await sink.abort();
    },
  };
}

/** Writes every batch of `batches` (all of `schema`) to `target`; nothing is left on failure. */
export async function writeBatches(target: string, schema: Schema, batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
                                   format?: IpcFormat): Promise<{ rows: number }> {
  const out = await openBatchWriter(target, schema, format);
  try {
    for await (const batch of batches) await out.write(batch);
    await out.close();
  } catch (e) {
    await out.abort();
    throw e;
  }
  return { rows: out.rows };
}
