/**
 * Decoders for compressed Arrow IPC buffers, registered once with apache-arrow's compression
 * registry when this module is first imported (source.ts imports it). pyarrow and Polars write
 * LZ4_FRAME or ZSTD bodies by default; without a codec apache-arrow throws "Record batch is
 * compressed but codec not found".
 *
 * - LZ4_FRAME: lz4-napi's `decompressFrameSync` (native liblz4). `lz4js` 0.2.0 is not used:
 *   it returns wrong bytes for frames Polars and pyarrow write.
 * - ZSTD: fzstd, a pure-JS decoder.
 *
 * Only decoders are registered: quiver reads compressed files, it writes uncompressed ones.
 *
 * @example
 * import './codecs.js'; // before the first RecordBatchReader reads a compressed batch
 */
import { CompressionType, compressionRegistry } from 'apache-arrow';
import { decompress as zstdDecompress } from 'fzstd';
import { decompressFrameSync } from 'lz4-napi';

/**
 * apache-arrow views the decoded bytes as typed arrays (Float64Array, BigInt64Array), which must
 * start at a multiple of 8 bytes; a Buffer from a native module may not, so copy those.
 */
function aligned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
}

/** LZ4 frame format (not the raw block format, which Arrow IPC does not use). */
export function decodeLz4Frame(data: Uint8Array): Uint8Array {
  const out = decompressFrameSync(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  return aligned(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
}

export function decodeZstd(data: Uint8Array): Uint8Array {
  return aligned(zstdDecompress(data));
}

let registered = false;

/** Registers the decoders with apache-arrow; idempotent. */
export function registerCodecs(): void {
  if (registered) return;
  compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: decodeLz4Frame });
  compressionRegistry.set(CompressionType.ZSTD, { decode: decodeZstd });
  registered = true;
}

registerCodecs();
