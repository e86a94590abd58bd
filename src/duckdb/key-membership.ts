/**
 * A semi-join over rows already in hand: which values of an integer column (its wire bytes)
 * are among a set of keys. Keys and values are compared as Numbers where every key is within
 * ±2^53 (a value beyond cannot equal one: readIntegers gives NaN there), else as BigInts.
 * Dense keys (the keys of a filtered table's rows most often are) go into a bitmap of their
 * span, others into a sorted array searched by halves.
 */
import { readBigInteger } from './delta-keys.js';
import { type IntegerType, readIntegers } from './integer-values.js';

/**
 * Spans of at most this many bits per key, or of at most 2^23 bits (a MiB), take a bitmap;
 * never more than 2^28 bits.
 */
const BITMAP_BITS_PER_KEY = 64;
const SMALL_BITMAP_BITS = 2 ** 23;
const MAX_BITMAP_BITS = 2 ** 28;

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
    const read = readIntegers(data, rows, type);
    for (let i = 0; i < rows; i++) {
      keys[i] = read(i);
      if (Number.isNaN(keys[i])) {
        const value = bigIntegers(data, type);
        m.exact = new Set(Array.from({ length: rows }, (_, j) => value(j)));
        return m;
      }
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
    const value = readIntegers(data, rows, type);
    // NaN (a value beyond ±2^53) is no key: every comparison with it is false.
    for (let i = 0; i < rows; i++) if (keep[i] === 1 && !this.has(value(i))) keep[i] = 0;
  }
}

/** Value `i` of integers of `type` as a BigInt, exact whatever its magnitude. */
function bigIntegers(data: Uint8Array, type: IntegerType): (i: number) => bigint {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return (i) => readBigInteger(view, i, type);
}
