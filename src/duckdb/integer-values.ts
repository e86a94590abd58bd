/**
 * Integer columns as they travel (DuckDB's little-endian fixed layout), read as Numbers: exact
 * within ±2^53, which every join key a key collector or a held scan compares is.
 */
import { type IntegerLayout, integerLayoutNamed } from './delta-keys.js';

/** Every integer within ±2^53 is an exact double. */
export const SAFE = 2 ** 53;

export interface IntegerType extends IntegerLayout {
  min: number;
  max: number;
}

/** DuckDB's integer type named `name` with its bounds; the 64-bit ones are past ±2^53, where no collected key is. */
export function integerType(name: string): IntegerType | undefined {
  const layout = integerLayoutNamed(name);
  if (!layout) return undefined;
  const bits = layout.width * 8;
  return layout.signed
    ? { ...layout, min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 }
    : { ...layout, min: 0, max: 2 ** bits - 1 };
}

/**
 * `data` where a typed array of `width`-byte elements may view it: as it is, or copied
 * (typed arrays need their element's alignment, and a frame's column may start anywhere).
 */
export function alignedTo(data: Uint8Array, width: number): Uint8Array {
  return data.byteOffset % width === 0 ? data : new Uint8Array(data);
}

/** The typed array of a 1-, 2- or 4-byte integer layout. */
export type NarrowIntegerArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** `rows` integers of a 1-, 2- or 4-byte `layout` from `byteOffset` of `buffer` (aligned), viewed as its typed array. */
export function narrowIntegers(
  buffer: ArrayBufferLike,
  byteOffset: number,
  rows: number,
  { width, signed }: IntegerLayout,
): NarrowIntegerArray {
  if (width === 1)
    return signed ? new Int8Array(buffer, byteOffset, rows) : new Uint8Array(buffer, byteOffset, rows);
  if (width === 2)
    return signed ? new Int16Array(buffer, byteOffset, rows) : new Uint16Array(buffer, byteOffset, rows);
  return signed ? new Int32Array(buffer, byteOffset, rows) : new Uint32Array(buffer, byteOffset, rows);
}

/** Value `i` of `rows` integers of `type` as a Number (NaN beyond ±2^53). */
export function readIntegers(data: Uint8Array, rows: number, type: IntegerType): (i: number) => number {
  const { buffer, byteOffset } = alignedTo(data, type.width);
  // One closure per width: each reads one kind of typed array on the key collectors' hot path.
  if (type.width === 1) {
    const a = narrowIntegers(buffer, byteOffset, rows, type);
    return (i) => a[i];
  }
  if (type.width === 2) {
    const a = narrowIntegers(buffer, byteOffset, rows, type);
    return (i) => a[i];
  }
  if (type.width === 4) {
    const a = narrowIntegers(buffer, byteOffset, rows, type);
    return (i) => a[i];
  }
  // Little-endian halves (DuckDB's in-memory layout on the platforms it runs on). A NULL row's
  // bytes are whatever the vector held, so only the values read are checked.
  const low = new Uint32Array(buffer, byteOffset, rows * 2);
  const high = type.signed ? new Int32Array(buffer, byteOffset, rows * 2) : low;
  const highest = SAFE / 2 ** 32;
  return (i) => {
    const h = high[2 * i + 1];
    return h >= highest || h < -highest ? Number.NaN : h * 2 ** 32 + low[2 * i];
  };
}
