import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';

/**
 * A file written under a temporary name beside its target, so that no reader ever sees half of
 * it: `commit()` fsyncs it and renames it over the target (rename is atomic within one file
 * system); `abort()` removes it. Exactly one of the two must be called.
 */
export interface AtomicFile {
  /** The target's name once committed. */
  readonly path: string;
  /** Where the bytes go until then: `${path}.tmp-${pid}-${random}`. */
  readonly tempPath: string;
  readonly handle: FileHandle;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** Opens a temporary file beside `path` for writing (it fails as `open(path, 'w')` would). */
export async function openAtomic(path: string): Promise<AtomicFile> {
  const tempPath = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const handle = await open(tempPath, 'w');
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  const abort = async (): Promise<void> => {
    await close().catch(() => undefined);
    await rm(tempPath, { force: true });
  };
  return {
    path, tempPath, handle, abort,
    commit: async () => {
      try {
        // The bytes must be on disk before the name is, or a crash could leave a complete name
        // over an empty file.
        await handle.sync();
        await close();
        await rename(tempPath, path);
      } catch (e) {
        await abort();
        throw e;
      }
    },
  };
}

/** Writes `data` to `path` atomically (see `openAtomic`). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const file = await openAtomic(path);
  try {
    await file.handle.writeFile(data);
  } catch (e) {
    await file.abort();
    throw e;
  }
  await file.commit();
}
