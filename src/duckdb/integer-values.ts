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

/** Value `i` of `rows` integers of `type` as a Number (NaN beyond ±2^53). */
export function readIntegers(data: Uint8Array, rows: number, type: IntegerType): (i: number) => number {
  // Typed arrays need their element's alignment: a frame's column may start anywhere.
  const bytes = data.byteOffset % type.width === 0 ? data : new Uint8Array(data);
  const { buffer, byteOffset } = bytes;
  if (type.width === 1) {
    const a = type.signed
      ? new Int8Array(buffer, byteOffset, rows)
      : new Uint8Array(buffer, byteOffset, rows);
    return (i) => a[i];
  }
  if (type.width === 2) {
    const a = type.signed
      ? new Int16Array(buffer, byteOffset, rows)
      : new Uint16Array(buffer, byteOffset, rows);
    return (i) => a[i];
  }
  if (type.width === 4) {
    const a = type.signed
      ? new Int32Array(buffer, byteOffset, rows)
      : new Uint32Array(buffer, byteOffset, rows);
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
