import { ModelFileError } from '../errors.js';

/**
 * safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?},
 * padded with spaces to a multiple of 8, then the raw little-endian tensor bytes. Readable by
 * the Python `safetensors` package and by PyTorch.
 */
export interface Tensor {
  dtype: 'F32' | 'F64';
  shape: number[];
  data: Float32Array | Float64Array;
}

const BYTES: Record<Tensor['dtype'], number> = { F32: 4, F64: 8 };
/** The Python implementation refuses headers above 100 MB; so do we, before parsing. */
const MAX_HEADER = 100_000_000;

export function encodeSafetensors(tensors: ReadonlyArray<[string, Tensor]>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header['__metadata__'] = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.length * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of tensors) {
    const src = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(src, at); // little-endian hosts only; Node runs on no big-endian platform we target
    at += src.length;
  }
  return out;
}

/** Parses and checks every header field against the bytes; `file` names the source in errors. */
export function decodeSafetensors(bytes: Uint8Array, file: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const bad = (why: string): ModelFileError => new ModelFileError('E_SAFETENSORS', `file ${file}: not a valid safetensors file: ${why}`);
  if (bytes.length < 8) throw bad(`only ${bytes.length} bytes`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > MAX_HEADER || 8 + headerLength > bytes.length) throw bad(`header length ${headerLength} exceeds the file (${bytes.length} bytes)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw bad(`header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('header is not an object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, Tensor>();
  const spans: { name: string; begin: number; end: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
        throw bad('__metadata__ is not an object of strings');
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    if (typeof entry !== 'object' || entry === null) throw bad(`tensor ${name}: entry is not an object`);
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e.dtype !== 'F32' && e.dtype !== 'F64') throw bad(`tensor ${name}: dtype ${String(e.dtype)} (quiver reads F32 and F64)`);
    const shape = e.shape;
    const offsets = e.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`tensor ${name}: bad shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isInteger(d) && d >= 0)) {
      throw bad(`tensor ${name}: bad data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const size = BYTES[e.dtype];
    if (end < begin || end > dataLength || end - begin !== count * size) {
      throw bad(`tensor ${name}: data_offsets [${begin}, ${end}] do not hold shape [${shape.join(', ')}] of ${e.dtype} within ${dataLength} data bytes`);
    }
    spans.push({ name, begin, end });
    // Copy (a Buffer's slice() would not): the source offset need not be aligned to the element size.
    const copy = Uint8Array.prototype.slice.call(bytes, dataStart + begin, dataStart + end);
    const data = e.dtype === 'F32' ? new Float32Array(copy.buffer) : new Float64Array(copy.buffer);
    tensors.set(name, { dtype: e.dtype, shape: shape as number[], data });
  }
  // As the Python reader demands: the tensors tile the data exactly, no overlap, gap or tail
  // (an overlap would let one edit change two tensors; a gap or tail is bytes nobody owns).
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const s of spans) {
    if (s.begin < at) throw bad(`tensor ${s.name}: data_offsets [${s.begin}, ${s.end}] overlap the previous tensor's, which ends at ${at}`);
    if (s.begin > at) throw bad(`tensor ${s.name}: data_offsets [${s.begin}, ${s.end}] leave bytes ${at}..${s.begin} that no tensor holds`);
    at = s.end;
  }
  if (at !== dataLength) throw bad(`${dataLength - at} data bytes after the last tensor (ends at ${at})`);
  return { tensors, metadata };
}
