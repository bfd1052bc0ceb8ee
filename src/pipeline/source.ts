import { open, type FileHandle } from 'node:fs/promises';
import { RecordBatchReader, type RecordBatch, type Schema } from 'apache-arrow';
import { DataError } from '../errors.js';

/** An Arrow source opened for reading one record batch at a time. */
export interface ArrowSource {
  file: string;
  schema: Schema;
  batches: AsyncIterable<RecordBatch>;
  close(): Promise<void>;
}

const ARROW_MAGIC = 'ARROW1';

/**
 * Opens an Arrow IPC file (random access through a FileHandle: the footer lists the batches
 * and only one is read at a time; Node read streams would make apache-arrow buffer the whole
 * file) or an IPC stream written to a file.
 */
export async function openArrowFile(file: string): Promise<ArrowSource> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError('E_NO_FILE', `file ${file}: no such file`, { cause: e });
    if (code === 'EISDIR') throw new DataError('E_NO_FILE', `file ${file}: is a directory, not an Arrow file`, { cause: e });
    throw new DataError('E_NO_FILE', `file ${file}: cannot open (${code ?? (e as Error).message})`, { cause: e });
  }
  try {
    const stats = await fh.stat();
    // open() succeeds on a directory on Linux; only reading it fails (EISDIR).
    if (stats.isDirectory()) throw new DataError('E_NO_FILE', `file ${file}: is a directory, not an Arrow file`);
    const size = stats.size;
    if (size === 0) throw new DataError('E_NOT_ARROW', `file ${file}: is empty, not an Arrow IPC file`);
    const head = Buffer.alloc(Math.min(8, size));
    await fh.read(head, 0, head.length, 0);
    const isFile = head.subarray(0, 6).toString('latin1') === ARROW_MAGIC;
    const isStream = head.length >= 4 && head.readUInt32LE(0) === 0xffffffff;
    if (!isFile && !isStream) {
      throw new DataError('E_NOT_ARROW', `file ${file}: not an Arrow IPC file or stream (it does not start with the Arrow magic bytes)`);
    }
    // apache-arrow decodes whatever lies before the last 10 bytes as the footer, so a file cut
    // at a batch boundary would read as garbage (an empty schema): the closing magic must be there.
    if (isFile) {
      const tail = Buffer.alloc(ARROW_MAGIC.length);
      if (size >= 2 * ARROW_MAGIC.length + 2) await fh.read(tail, 0, tail.length, size - tail.length);
      if (tail.toString('latin1') !== ARROW_MAGIC) throw corrupt(file, new Error('no Arrow footer at the end'));
    }
    let reader: Awaited<ReturnType<typeof RecordBatchReader.from>>;
    try {
      reader = await RecordBatchReader.from(fh);
      await reader.open();
    } catch (e) {
      throw corrupt(file, e);
    }
    const schema = reader.schema;
    if (schema === undefined) throw corrupt(file, new Error('no schema'));
    return {
      file, schema,
      batches: guarded(file, reader as AsyncIterable<RecordBatch>),
      close: async () => { await fh.close().catch(() => undefined); },
    };
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
}

function corrupt(file: string, cause: unknown): DataError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new DataError('E_CORRUPT_ARROW', `file ${file}: cannot be read as Arrow, it is cut off or corrupt (${why})`, { cause });
}

/** Turns a decoding failure midway (a cut-off file) into a DataError naming the file. */
async function* guarded(file: string, batches: AsyncIterable<RecordBatch>): AsyncGenerator<RecordBatch> {
  try {
    for await (const batch of batches) yield batch;
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw corrupt(file, e);
  }
}
