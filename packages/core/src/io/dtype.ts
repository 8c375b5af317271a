/** safetensors dtypes ↔ JS typed arrays, with float16/bfloat16 conversion. */

export const SAFETENSORS_DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'] as const;
export type StDtype = (typeof SAFETENSORS_DTYPES)[number];

export const BYTES: Record<StDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** The decoded array of a tensor: floats become Float32Array, integers Int32Array (I64 range-checked), U8/BOOL stay Uint8Array. */
export type DecodedArray = Float32Array | Int32Array | Uint8Array;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Round-to-nearest-even float32 → float16 bits. */
export function f32ToF16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let r = mant >>> shift;
    const rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && (r & 1))) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1))) r++;
  return sign | r;
}

export function bf16ToF32(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

/** Round-to-nearest-even float32 → bfloat16 bits. */
export function f32ToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff)) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** A copy of `bytes` in its own ArrayBuffer (a Node Buffer's `slice` is a view into a shared pool, not a copy). */
function ownCopy(bytes: Uint8Array): ArrayBuffer {
  return Uint8Array.prototype.slice.call(bytes).buffer as ArrayBuffer;
}

/** Decode little-endian bytes of `dtype` into a JS array; `name` is used in errors. */
export function decode(bytes: Uint8Array, dtype: StDtype, name: string): DecodedArray {
  const n = bytes.byteLength / BYTES[dtype];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN) return new Float32Array(ownCopy(bytes));
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(i * 2, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = bf16ToF32(dv.getUint16(i * 2, true));
      return out;
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = dv.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) throw new Error(`tensor "${name}": int64 value ${v} at index ${i} does not fit in int32`);
        out[i] = Number(v);
      }
      return out;
    }
    case 'I32': {
      if (LITTLE_ENDIAN) return new Int32Array(ownCopy(bytes));
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
      return out;
    }
    case 'I16': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true);
      return out;
    }
    case 'I8': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      return out;
    }
    case 'U8':
    case 'BOOL':
      return new Uint8Array(bytes);
  }
}

/** Encode a JS array as little-endian bytes of `dtype`. */
export function encode(data: ArrayLike<number>, dtype: StDtype): Uint8Array {
  if (LITTLE_ENDIAN && dtype === 'F32' && data instanceof Float32Array) return new Uint8Array(data.slice().buffer);
  if (LITTLE_ENDIAN && dtype === 'I32' && data instanceof Int32Array) return new Uint8Array(data.slice().buffer);
  const n = data.length;
  const out = new Uint8Array(n * BYTES[dtype]);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = data[i];
    switch (dtype) {
      case 'F32': dv.setFloat32(i * 4, v, true); break;
      case 'F64': dv.setFloat64(i * 8, v, true); break;
      case 'F16': dv.setUint16(i * 2, f32ToF16(v), true); break;
      case 'BF16': dv.setUint16(i * 2, f32ToBf16(v), true); break;
      case 'I64': dv.setBigInt64(i * 8, BigInt(Math.trunc(v)), true); break;
      case 'I32': dv.setInt32(i * 4, v, true); break;
      case 'I16': dv.setInt16(i * 2, v, true); break;
      case 'I8': dv.setInt8(i, v); break;
      case 'U8': case 'BOOL': dv.setUint8(i, v); break;
    }
  }
  return out;
}
