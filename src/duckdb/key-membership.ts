/**
 * A semi-join over rows already in hand: which values of an integer column (its wire bytes)
 * are among a set of keys. Keys and values are compared as Numbers where every key is within
 * ±2^53 (a value beyond cannot equal one), else as BigInts. Dense keys (the keys of a
 * filtered table's rows most often are) go into a bitmap of their span, others into a sorted
 * array searched by halves. The loops read typed arrays directly: they run over every row a
 * held scan keeps, a few times per query, too few for V8 to make closures per row cheap.
 */
import { type IntegerType, SAFE } from './integer-values.js';

/**
 * Spans of at most this many bits per key, or of at most 2^23 bits (a MiB), take a bitmap;
 * never more than 2^28 bits.
 */
const BITMAP_BITS_PER_KEY = 64;
const SMALL_BITMAP_BITS = 2 ** 23;
const MAX_BITMAP_BITS = 2 ** 28;
/** The high 32 bits of ±2^53. */
const HIGHEST = SAFE / 2 ** 32;

/** `data` where its offset suits `width`-byte elements; else a copy that does. */
function aligned(data: Uint8Array, width: number): Uint8Array {
  return data.byteOffset % width === 0 ? data : new Uint8Array(data);
}

/**
 * Calls `each(i, value)` for every row `i` of `rows` integers of `type` (Numbers, exact) whose
 * `keep[i]` is 1 (every row without `keep`); a value beyond ±2^53 goes to `beyond(i)` instead.
 */
function forValues(
  data: Uint8Array,
  rows: number,
  { width, signed }: IntegerType,
  keep: Uint8Array | undefined,
  each: (i: number, value: number) => void,
  beyond: (i: number) => void,
): void {
  const bytes = aligned(data, width);
  const { buffer, byteOffset } = bytes;
  if (width === 8) {
    const low = new Uint32Array(buffer, byteOffset, rows * 2);
    const high = signed ? new Int32Array(buffer, byteOffset, rows * 2) : low;
    for (let i = 0; i < rows; i++) {
      if (keep && keep[i] === 0) continue;
      const h = high[2 * i + 1];
      if (h >= HIGHEST || h < -HIGHEST) beyond(i);
      else each(i, h * 2 ** 32 + low[2 * i]);
    }
    return;
  }
  const values =
    width === 4
      ? signed
        ? new Int32Array(buffer, byteOffset, rows)
        : new Uint32Array(buffer, byteOffset, rows)
      : width === 2
        ? signed
          ? new Int16Array(buffer, byteOffset, rows)
          : new Uint16Array(buffer, byteOffset, rows)
        : signed
          ? new Int8Array(buffer, byteOffset, rows)
          : new Uint8Array(buffer, byteOffset, rows);
  for (let i = 0; i < rows; i++) if (!keep || keep[i] === 1) each(i, values[i]);
}

export class KeyMembership {
  private min = 0;
  private span = 0;
  private bitmap: Uint32Array | undefined;
  private sorted: Float64Array | undefined;
  /** The keys as BigInts, where one is beyond ±2^53. */
  private exact: Set<bigint> | undefined;

  private constructor() {}

  /** The keys: `rows` values in `type`'s fixed layout (`data`), repeats and order as they come. */
  static of(data: Uint8Array, rows: number, type: IntegerType): KeyMembership {
    const m = new KeyMembership();
    const keys = new Float64Array(rows);
    let big = false;
    forValues(
      data,
      rows,
      type,
      undefined,
      (i, v) => {
        keys[i] = v;
      },
      () => {
        big = true;
      },
    );
    if (big) {
      const read = bigIntegers(data, type);
      m.exact = new Set(Array.from({ length: rows }, (_, i) => read(i)));
      return m;
    }
    keys.sort();
    const count = keys.length;
    if (count === 0) {
      m.sorted = keys;
      return m;
    }
    m.min = keys[0];
    m.span = keys[count - 1] - m.min + 1;
    if (m.span <= Math.min(Math.max(BITMAP_BITS_PER_KEY * count, SMALL_BITMAP_BITS), MAX_BITMAP_BITS)) {
      const words = new Uint32Array(Math.ceil(m.span / 32));
      for (let i = 0; i < count; i++) {
        const offset = keys[i] - m.min;
        words[offset >>> 5] |= 1 << (offset & 31);
      }
      m.bitmap = words;
    } else {
      m.sorted = keys;
    }
    return m;
  }

  /** Whether a Number within ±2^53 is a key. */
  private has(v: number): boolean {
    const words = this.bitmap;
    if (words) {
      const offset = v - this.min;
      return offset >= 0 && offset < this.span && (words[offset >>> 5] & (1 << (offset & 31))) !== 0;
    }
    const keys = this.sorted as Float64Array;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo < keys.length && keys[lo] === v;
  }

  /** Clears `keep[i]` for each of `rows` values (`data`, in `type`'s layout) that is no key. */
  narrow(keep: Uint8Array, data: Uint8Array, rows: number, type: IntegerType): void {
    const exact = this.exact;
    if (exact) {
      const value = bigIntegers(data, type);
      for (let i = 0; i < rows; i++) if (keep[i] === 1 && !exact.has(value(i))) keep[i] = 0;
      return;
    }
    forValues(
      data,
      rows,
      type,
      keep,
      (i, v) => {
        if (!this.has(v)) keep[i] = 0;
      },
      (i) => {
        keep[i] = 0;
      },
    );
  }
}

/** Value `i` of integers of `type` as a BigInt, exact whatever its magnitude. */
function bigIntegers(data: Uint8Array, { width, signed }: IntegerType): (i: number) => bigint {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (width === 8)
    return signed ? (i) => view.getBigInt64(i * 8, true) : (i) => view.getBigUint64(i * 8, true);
  if (width === 4) return (i) => BigInt(signed ? view.getInt32(i * 4, true) : view.getUint32(i * 4, true));
  if (width === 2) return (i) => BigInt(signed ? view.getInt16(i * 2, true) : view.getUint16(i * 2, true));
  return (i) => BigInt(signed ? view.getInt8(i) : view.getUint8(i));
}
