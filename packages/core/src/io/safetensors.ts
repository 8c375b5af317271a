/**
 * safetensors reader/writer. Files are read tensor by tensor with positional reads, so files
 * over 2 GiB work; every header is validated (offsets, sizes, dtypes) and errors name the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, type Tensor } from '../runtime/tf.js';
import { BYTES, SAFETENSORS_DTYPES, decode, encode, type DecodedArray, type StDtype } from './dtype.js';
import { writeFileAtomic } from './atomic.js';

export { writeFileAtomic } from './atomic.js';

export interface TensorInfo {
  dtype: StDtype;
  shape: number[];
  /** Byte offsets [begin, end) relative to the start of the data section. */
  offsets: [number, number];
}

/** A decoded tensor kept in JS memory (no tfjs tensor allocated). */
export interface HostTensor {
  dtype: StDtype;
  shape: number[];
  data: DecodedArray;
}

const MAX_HEADER = 100 * 1024 * 1024;

/** Parse and validate a header; `fileSize` is the whole file's size. */
function parseHeader(json: string, fileSize: number, dataStart: number, where: string): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new Error(`${where}: header is not valid JSON (${(e as Error).message}) — the file is corrupted or not safetensors`);
  }
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${where}: header must be a JSON object`);
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const dataSize = fileSize - dataStart;
  const spans: [number, number, string][] = [];
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (v ?? {}) as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e?.dtype !== 'string' || !(SAFETENSORS_DTYPES as readonly string[]).includes(e.dtype)) {
      throw new Error(`${where}: tensor "${name}" has unsupported dtype ${JSON.stringify(e?.dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`);
    }
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${where}: tensor "${name}" has an invalid shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[1] < off[0]) {
      throw new Error(`${where}: tensor "${name}" has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const dtype = e.dtype as StDtype;
    const shape = e.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
    if (off[1] - off[0] !== expected) throw new Error(`${where}: tensor "${name}" (${dtype} [${shape}]) needs ${expected} bytes but its offsets span ${off[1] - off[0]}`);
    if (off[1] > dataSize) {
      throw new Error(`${where}: tensor "${name}" ends at byte ${off[1]} of the data section but the file has only ${dataSize} data bytes — the file is truncated`);
    }
    tensors.set(name, { dtype, shape, offsets: [off[0], off[1]] });
    spans.push([off[0], off[1], name]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) throw new Error(`${where}: tensors "${spans[i - 1][2]}" and "${spans[i][2]}" overlap — the header is corrupted`);
  }
  return { tensors, metadata };
}

/** An open safetensors file; tensors are read on demand. */
export class SafetensorsFile {
  readonly tensors: Map<string, TensorInfo>;
  readonly metadata: Record<string, string>;
  private fd: number | null;
  private readonly dataStart: number;

  private constructor(readonly path: string, fd: number, tensors: Map<string, TensorInfo>, metadata: Record<string, string>, dataStart: number) {
    this.fd = fd;
    this.tensors = tensors;
    this.metadata = metadata;
    this.dataStart = dataStart;
  }

  /** Open and validate the header of `file`. */
  static open(file: string): SafetensorsFile {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      throw new Error(`cannot open safetensors file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < 8) throw new Error(`${file}: only ${size} bytes — too short to be safetensors (truncated?)`);
      const lenBuf = Buffer.alloc(8);
      fs.readSync(fd, lenBuf, 0, 8, 0);
      const n = Number(lenBuf.readBigUInt64LE(0));
      if (n > MAX_HEADER || 8 + n > size) throw new Error(`${file}: header length ${n} exceeds the file size ${size} — truncated or not safetensors`);
      const hb = Buffer.alloc(n);
      fs.readSync(fd, hb, 0, n, 8);
      const { tensors, metadata } = parseHeader(hb.toString('utf8'), size, 8 + n, file);
      return new SafetensorsFile(file, fd, tensors, metadata, 8 + n);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  keys(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (t == null) throw new Error(`${this.path}: no tensor named "${name}"`);
    return t;
  }

  /** Raw little-endian bytes of one tensor. */
  readBytes(name: string): Uint8Array {
    if (this.fd == null) throw new Error(`${this.path}: file already closed`);
    const { offsets } = this.info(name);
    const len = offsets[1] - offsets[0];
    const buf = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const chunk = Math.min(len - done, 1 << 30);
      const got = fs.readSync(this.fd, buf, done, chunk, this.dataStart + offsets[0] + done);
      if (got === 0) throw new Error(`${this.path}: unexpected end of file while reading tensor "${name}"`);
      done += got;
    }
    return buf;
  }

  /** One tensor decoded into JS memory. */
  readHost(name: string): HostTensor {
    const { dtype, shape } = this.info(name);
    return { dtype, shape, data: decode(this.readBytes(name), dtype, `${this.path}:${name}`) };
  }

  /** One tensor as a tfjs tensor (float dtypes → float32, integer → int32, U8/BOOL → int32/bool). */
  read(name: string): Tensor {
    return hostToTensor(this.readHost(name));
  }

  close(): void {
    if (this.fd != null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** Convert a host tensor to tfjs. */
export function hostToTensor(h: HostTensor): Tensor {
  if (h.dtype === 'BOOL') return tf.tensor(h.data, h.shape, 'bool');
  if (h.data instanceof Uint8Array) return tf.tensor(Int32Array.from(h.data), h.shape, 'int32');
  return tf.tensor(h.data, h.shape, h.data instanceof Int32Array ? 'int32' : 'float32');
}

/** Read every tensor of one file (or of a sharded `*.safetensors.index.json`) into tfjs tensors. */
export function loadSafetensors(file: string, filter?: (name: string) => boolean): Map<string, Tensor> {
  if (file.endsWith('.index.json')) return loadSharded(file, filter);
  const f = SafetensorsFile.open(file);
  try {
    const out = new Map<string, Tensor>();
    for (const k of f.keys()) if (!filter || filter(k)) out.set(k, f.read(k));
    return out;
  } finally {
    f.close();
  }
}

/** Read a sharded checkpoint through its `model.safetensors.index.json` (`weight_map`: name → shard file). */
export function loadSharded(indexFile: string, filter?: (name: string) => boolean): Map<string, Tensor> {
  let index: { weight_map?: Record<string, string> };
  try {
    index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read shard index ${indexFile}: ${(e as Error).message}`);
  }
  if (index.weight_map == null || typeof index.weight_map !== 'object') throw new Error(`${indexFile}: missing "weight_map"`);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(index.weight_map)) {
    if (filter && !filter(name)) continue;
    byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  }
  const out = new Map<string, Tensor>();
  for (const [shard, names] of byShard) {
    const f = SafetensorsFile.open(path.join(path.dirname(indexFile), shard));
    try {
      for (const n of names) {
        if (!f.tensors.has(n)) throw new Error(`${indexFile}: "${n}" is mapped to ${shard}, which does not contain it`);
        out.set(n, f.read(n));
      }
    } finally {
      f.close();
    }
  }
  return out;
}

/** Something that can be written: a tfjs tensor or a host array. */
export type Writable = Tensor | HostTensor;

export interface SaveOptions {
  metadata?: Record<string, string>;
  /** Store float tensors as this dtype (default F32). */
  floatDtype?: 'F32' | 'F16' | 'BF16';
}

function toHost(t: Writable, floatDtype: StDtype): { dtype: StDtype; shape: number[]; bytes: Uint8Array } {
  if ('data' in t && 'dtype' in t && !(t instanceof tf.Tensor)) {
    const h = t as HostTensor;
    const dtype = h.data instanceof Float32Array && (h.dtype === 'F32' || h.dtype === 'F16' || h.dtype === 'BF16' || h.dtype === 'F64') ? (h.dtype === 'F32' ? floatDtype : h.dtype) : h.dtype;
    return { dtype, shape: h.shape, bytes: encode(h.data, dtype) };
  }
  const tt = t as Tensor;
  const data = tt.dataSync();
  const dtype: StDtype = tt.dtype === 'float32' ? floatDtype : tt.dtype === 'int32' ? 'I32' : tt.dtype === 'bool' ? 'BOOL' : 'F32';
  return { dtype, shape: tt.shape, bytes: encode(data as ArrayLike<number>, dtype) };
}

/** Serialise tensors to safetensors bytes (header padded to 8 bytes, tensors in name order). */
export function serializeSafetensors(tensors: Map<string, Writable> | Record<string, Writable>, opts: SaveOptions = {}): Buffer {
  const entries = [...(tensors instanceof Map ? tensors : new Map(Object.entries(tensors)))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (opts.metadata) header.__metadata__ = opts.metadata;
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    const h = toHost(t, opts.floatDtype ?? 'F32');
    header[name] = { dtype: h.dtype, shape: h.shape, data_offsets: [offset, offset + h.bytes.byteLength] };
    blobs.push(h.bytes);
    offset += h.bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const hb = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.byteLength));
  return Buffer.concat([len, hb, ...blobs]);
}

/** Write a safetensors file atomically (temp file + rename, so readers never see a partial file). */
export function saveSafetensors(file: string, tensors: Map<string, Writable> | Record<string, Writable>, opts: SaveOptions = {}): void {
  writeFileAtomic(file, serializeSafetensors(tensors, opts));
}

/** Parse safetensors bytes held in memory. */
export function parseSafetensors(buf: Uint8Array, where = '<buffer>'): { tensors: Map<string, HostTensor>; metadata: Record<string, string> } {
  if (buf.byteLength < 8) throw new Error(`${where}: too short to be safetensors`);
  const n = Number(Buffer.from(buf.buffer, buf.byteOffset, 8).readBigUInt64LE(0));
  if (n > MAX_HEADER || 8 + n > buf.byteLength) throw new Error(`${where}: header length ${n} exceeds the size ${buf.byteLength} — truncated`);
  const { tensors, metadata } = parseHeader(Buffer.from(buf.buffer, buf.byteOffset + 8, n).toString('utf8'), buf.byteLength, 8 + n, where);
  const out = new Map<string, HostTensor>();
  for (const [name, info] of tensors) {
    const bytes = buf.subarray(8 + n + info.offsets[0], 8 + n + info.offsets[1]);
    out.set(name, { dtype: info.dtype, shape: info.shape, data: decode(bytes, info.dtype, `${where}:${name}`) });
  }
  return { tensors: out, metadata };
}
