/**
 * A parse-only reader for NWM's `traj_data.pkl`: a Python pickle (protocols 2–5) of a dict holding
 * `position` and `yaw` as numpy arrays or lists of numbers. It interprets only the opcodes such a
 * file uses and builds data, never code: the only globals it accepts are numpy's array
 * reconstruction (`_reconstruct`, `ndarray`, `dtype`) and `_codecs.encode(…, 'latin1')` (protocol 2
 * bytes), each turned into a plain value; any other global, or a REDUCE of anything else, is refused.
 */
import * as fs from 'node:fs';

type Value = null | boolean | number | string | Uint8Array | Value[] | Tuple | Map<Value, Value> | NdArray | Global | DType | Reconstructing;
class Tuple { constructor(readonly items: Value[]) {} }
class Global { constructor(readonly name: string) {} }
class DType { constructor(readonly code: string, public order = '<') {} }
class Reconstructing { }
/** A numpy array: shape and float64 values (row-major). */
export class NdArray { constructor(readonly shape: number[], readonly data: Float64Array) {} }

const ALLOWED = new Set(['numpy.core.multiarray._reconstruct', 'numpy._core.multiarray._reconstruct', 'numpy.ndarray', 'numpy.dtype', '_codecs.encode']);
const MARK = Symbol('mark');

/** Decode numpy raw bytes of a dtype (little/big-endian float64/float32/int64/int32) to float64. */
function decodeArray(dtype: DType, bytes: Uint8Array, shape: number[], where: string): NdArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const kinds: Record<string, [number, (v: DataView, o: number, le: boolean) => number]> = {
    f8: [8, (v, o, le) => v.getFloat64(o, le)], f4: [4, (v, o, le) => v.getFloat32(o, le)],
    i8: [8, (v, o, le) => Number(v.getBigInt64(o, le))], i4: [4, (v, o, le) => v.getInt32(o, le)],
  };
  const k = kinds[dtype.code];
  if (k == null) throw new Error(`${where}: numpy dtype ${dtype.code} is not supported (float64/32, int64/32)`);
  if (bytes.length !== n * k[0]) throw new Error(`${where}: array of shape [${shape}] needs ${n * k[0]} bytes, found ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = dtype.order !== '>';
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = k[1](view, i * k[0], le);
  return new NdArray(shape, out);
}

/** Parse a pickle into plain values (dicts become Map, tuples Tuple, numpy arrays NdArray). */
export function parsePickle(buf: Uint8Array, where: string): Value {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: (Value | typeof MARK)[] = [];
  const memo = new Map<number, Value>();
  let pos = 0;
  const need = (n: number) => { if (pos + n > buf.length) throw new Error(`${where}: truncated pickle at byte ${pos}`); };
  const u8 = () => { need(1); return buf[pos++]; };
  const u32 = () => { need(4); const v = view.getUint32(pos, true); pos += 4; return v; };
  const bytes = (n: number) => { need(n); const b = buf.subarray(pos, pos + n); pos += n; return b; };
  const utf8 = (n: number) => new TextDecoder().decode(bytes(n));
  const line = () => { const e = buf.indexOf(0x0a, pos); if (e < 0) throw new Error(`${where}: truncated pickle at byte ${pos}`); const s = new TextDecoder().decode(buf.subarray(pos, e)); pos = e + 1; return s; };
  const pop = (): Value => { const v = stack.pop(); if (v === undefined || v === MARK) throw new Error(`${where}: malformed pickle (stack underflow at byte ${pos})`); return v; };
  const popMark = (): Value[] => { const i = stack.lastIndexOf(MARK); if (i < 0) throw new Error(`${where}: malformed pickle (no MARK at byte ${pos})`); const items = stack.splice(i) as Value[]; items.shift(); return items; };
  const global = (mod: string, name: string) => {
    const full = `${mod}.${name}`;
    if (!ALLOWED.has(full)) throw new Error(`${where}: refusing pickle global ${full} (only numpy arrays and lists of numbers are read; nothing is executed)`);
    return new Global(full);
  };
  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: bytes(8); break; // FRAME
      case 0x2e: return pop(); // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(new Tuple([])); break; // EMPTY_TUPLE
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: { need(2); stack.push(view.getUint16(pos, true)); pos += 2; break; } // BININT2
      case 0x4a: { need(4); stack.push(view.getInt32(pos, true)); pos += 4; break; } // BININT
      case 0x47: { need(8); stack.push(view.getFloat64(pos, false)); pos += 8; break; } // BINFLOAT (big-endian)
      case 0x8a: { const n = u8(); const b = bytes(n); let v = 0n; for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]); if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n); stack.push(Number(v)); break; } // LONG1
      case 0x8c: stack.push(utf8(u8())); break; // SHORT_BINUNICODE
      case 0x58: stack.push(utf8(u32())); break; // BINUNICODE
      case 0x8d: { need(8); const n = Number(view.getBigUint64(pos, true)); pos += 8; stack.push(utf8(n)); break; } // BINUNICODE8
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x8e: { need(8); const n = Number(view.getBigUint64(pos, true)); pos += 8; stack.push(bytes(n).slice()); break; } // BINBYTES8
      case 0x96: { need(8); const n = Number(view.getBigUint64(pos, true)); pos += 8; stack.push(bytes(n).slice()); break; } // BYTEARRAY8
      case 0x94: memo.set(memo.size, stack[stack.length - 1] as Value); break; // MEMOIZE
      case 0x71: memo.set(u8(), stack[stack.length - 1] as Value); break; // BINPUT
      case 0x72: memo.set(u32(), stack[stack.length - 1] as Value); break; // LONG_BINPUT
      case 0x68: case 0x6a: { const k = op === 0x68 ? u8() : u32(); if (!memo.has(k)) throw new Error(`${where}: malformed pickle (memo ${k} unset)`); stack.push(memo.get(k)!); break; } // BINGET / LONG_BINGET
      case 0x85: stack.push(new Tuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(), a = pop(); stack.push(new Tuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(), b = pop(), a = pop(); stack.push(new Tuple([a, b, c])); break; } // TUPLE3
      case 0x74: stack.push(new Tuple(popMark())); break; // TUPLE
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { const v = pop(); const l = stack[stack.length - 1]; if (!Array.isArray(l)) throw new Error(`${where}: APPEND to a non-list`); l.push(v); break; } // APPEND
      case 0x65: { const items = popMark(); const l = stack[stack.length - 1]; if (!Array.isArray(l)) throw new Error(`${where}: APPENDS to a non-list`); l.push(...items); break; } // APPENDS
      case 0x73: { const v = pop(), k = pop(); const d = stack[stack.length - 1]; if (!(d instanceof Map)) throw new Error(`${where}: SETITEM on a non-dict`); d.set(k, v); break; } // SETITEM
      case 0x75: { const items = popMark(); const d = stack[stack.length - 1]; if (!(d instanceof Map)) throw new Error(`${where}: SETITEMS on a non-dict`); for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]); break; } // SETITEMS
      case 0x93: { const name = pop(), mod = pop(); if (typeof mod !== 'string' || typeof name !== 'string') throw new Error(`${where}: malformed STACK_GLOBAL`); stack.push(global(mod, name)); break; } // STACK_GLOBAL
      case 0x63: { const mod = line(), name = line(); stack.push(global(mod, name)); break; } // GLOBAL
      case 0x52: { // REDUCE: only the whitelisted constructors, evaluated as data
        const args = pop(), f = pop();
        if (!(f instanceof Global) || !(args instanceof Tuple)) throw new Error(`${where}: refusing REDUCE of a non-whitelisted callable`);
        if (f.name.endsWith('._reconstruct')) stack.push(new Reconstructing());
        else if (f.name === 'numpy.dtype') stack.push(new DType(String(args.items[0])));
        else if (f.name === '_codecs.encode') {
          const [s, enc] = args.items;
          if (typeof s !== 'string' || enc !== 'latin1') throw new Error(`${where}: refusing _codecs.encode with ${String(enc)}`);
          stack.push(Uint8Array.from(s, (ch) => ch.charCodeAt(0)));
        } else throw new Error(`${where}: refusing REDUCE of ${f.name}`);
        break;
      }
      case 0x62: { // BUILD: numpy dtype and array state only
        const state = pop(), obj = stack[stack.length - 1];
        if (obj instanceof DType && state instanceof Tuple) { obj.order = String(state.items[1] ?? '<'); break; }
        if (obj instanceof Reconstructing && state instanceof Tuple) {
          const [, shape, dtype, fortran, raw] = state.items;
          if (!(shape instanceof Tuple) || !(dtype instanceof DType) || !(raw instanceof Uint8Array)) throw new Error(`${where}: unexpected numpy array state`);
          if (fortran === true && shape.items.length > 1) throw new Error(`${where}: Fortran-ordered arrays are not supported`);
          stack[stack.length - 1] = decodeArray(dtype, raw, shape.items.map(Number), where);
          break;
        }
        throw new Error(`${where}: refusing BUILD on ${obj === MARK ? 'a mark' : typeof obj}`);
      }
      default: throw new Error(`${where}: unsupported pickle opcode 0x${op.toString(16)} at byte ${pos - 1}`);
    }
  }
}

/** A value (NdArray or nested lists/tuples of numbers) as rows of numbers with its shape. */
function toRows(v: Value, name: string, where: string): { shape: number[]; data: number[] } {
  if (v instanceof NdArray) return { shape: v.shape, data: Array.from(v.data) };
  const flat: number[] = [];
  const walk = (x: Value, depth: number, shape: number[]) => {
    const items = Array.isArray(x) ? x : x instanceof Tuple ? x.items : null;
    if (items == null) {
      if (typeof x !== 'number') throw new Error(`${where}: ${name} holds a ${x === null ? 'None' : typeof x}, expected numbers`);
      flat.push(x);
      return;
    }
    if (shape.length <= depth) shape.push(items.length);
    else if (shape[depth] !== items.length) throw new Error(`${where}: ${name} is ragged`);
    for (const it of items) walk(it, depth + 1, shape);
  };
  const shape: number[] = [];
  walk(v, 0, shape);
  return { shape, data: flat };
}

/** Read `traj_data.pkl` → {position: [[x, y], …], yaw: […]} (validated by the caller like the JSON form). */
export function readTrajDataPickle(file: string): { position: [number, number][]; yaw: number[] } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const root = parsePickle(buf, file);
  if (!(root instanceof Map)) throw new Error(`${file}: expected a dict with position and yaw`);
  const get = (k: string) => { if (!root.has(k)) throw new Error(`${file}: no "${k}" in traj_data`); return root.get(k)!; };
  const p = toRows(get('position'), 'position', file), y = toRows(get('yaw'), 'yaw', file);
  if (p.shape.length !== 2 || p.shape[1] < 2) throw new Error(`${file}: position has shape [${p.shape}], expected [N, 2]`);
  const cols = p.shape[1];
  const position = Array.from({ length: p.shape[0] }, (_, i) => [p.data[i * cols], p.data[i * cols + 1]] as [number, number]);
  if (y.shape.length > 2 || (y.shape.length === 2 && y.shape[1] !== 1)) throw new Error(`${file}: yaw has shape [${y.shape}], expected [N]`);
  return { position, yaw: y.data };
}
