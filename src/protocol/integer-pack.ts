/**
 * Integer columns packed for the wire (frame of reference): where a frame's values of a
 * BIGINT, INTEGER, SMALLINT or DATE column span less than 2^8, 2^16 or 2^32, they travel as
 * offsets from the least, 1, 2 or 4 bytes each, instead of 8, 4 or 2. Join keys and small
 * counts of 64-bit columns (every integer column a CSV load infers) mostly take half or less.
 * Bytes are what a scan's hops cost most where the machine moves ~170 MB/s a hop
 * (docs/performance.md), and the sender packs in one pass over values it has in hand.
 *
 * A receiver asks for packed columns (ScanRequest.packIntegers) and widens them back where
 * frames arrive (scan-stream.ts), so that everything past it reads the schema's layout.
 */
import {
  alignedTo,
  type IntegerType,
  integerType,
  narrowIntegers,
  readIntegers,
  SAFE,
} from '../duckdb/integer-values.js';
import type { ColumnSchema, WireColumn } from './frames.js';

/** A packed column's layout: `data` holds rows × `width` bytes, each an unsigned offset from `base`. */
export interface IntegerPack {
  width: 1 | 2 | 4;
  base: number;
}

const PACK_WIDTHS = [1, 2, 4] as const;

/**
 * The integer layout of a schema column that may be packed (fixed wire, its type's width), or
 * undefined. A DATE is a signed 32-bit count of days, packed as an INTEGER is.
 */
export function packableType(column: ColumnSchema): IntegerType | undefined {
  const type = integerType(column.type === 'DATE' ? 'INTEGER' : column.type);
  return type && column.wire === 'fixed' && column.width === type.width && type.width > 1 ? type : undefined;
}

/**
 * How `rows` values of `column` (of `type`) pack: the narrowest width their span fits, below
 * the type's own; undefined where none does or a value is past ±2^53 (or all are NULL).
 */
export function packingOf(column: WireColumn, rows: number, type: IntegerType): IntegerPack | undefined {
  const value = readIntegers(column.data, rows, type);
  const nulls = column.nulls;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < rows; i++) {
    if (nulls && nulls[i] === 1) continue;
    const v = value(i);
    // NaN (past ±2^53) fails both tests: the column is sent as it is.
    if (!(v >= min)) {
      if (Number.isNaN(v)) return undefined;
      min = v;
    }
    if (v > max) max = v;
  }
  if (min > max) return undefined;
  const span = max - min;
  const width = PACK_WIDTHS.find((w) => w < type.width && span < 2 ** (8 * w));
  return width === undefined ? undefined : { width, base: min };
}

/**
 * Writes `column`'s `rows` values packed as `pack` says into `out` (rows × pack.width bytes):
 * their offsets from the base (0 for NULL rows), read as the type's layout, in typed-array
 * loops straight into `out` where its offset allows (the frame's buffer), on the scan's
 * critical path.
 */
export function writePacked(
  out: Uint8Array,
  column: WireColumn,
  rows: number,
  type: IntegerType,
  pack: IntegerPack,
): void {
  const { width, base } = pack;
  const layout = { width, signed: false };
  const direct = out.byteOffset % width === 0;
  const target = direct
    ? narrowIntegers(out.buffer, out.byteOffset, rows, layout)
    : narrowIntegers(new ArrayBuffer(rows * width), 0, rows, layout);
  const { buffer, byteOffset } = alignedTo(column.data, type.width);
  // Typed arrays take each offset (an integer below 2^(8 × width)) exactly.
  if (type.width === 8) {
    const low = new Uint32Array(buffer, byteOffset, rows * 2);
    const high = type.signed ? new Int32Array(buffer, byteOffset, rows * 2) : low;
    for (let i = 0; i < rows; i++) target[i] = high[2 * i + 1] * 2 ** 32 + low[2 * i] - base;
  } else {
    const values = narrowIntegers(buffer, byteOffset, rows, type);
    for (let i = 0; i < rows; i++) target[i] = values[i] - base;
  }
  const nulls = column.nulls;
  if (nulls) for (let i = 0; i < rows; i++) if (nulls[i] === 1) target[i] = 0;
  if (!direct) out.set(new Uint8Array(target.buffer, 0, rows * width));
}

/**
 * A packed column widened to `type`'s layout, or a sentence saying why it is malformed (a
 * width that is not narrower, a size that does not add up, a value past the type).
 */
export function unpackColumn(
  column: WireColumn,
  rows: number,
  type: IntegerType,
  pack: unknown,
): WireColumn | string {
  const { width, base } = (pack ?? {}) as Partial<IntegerPack>;
  if (!PACK_WIDTHS.includes(width as IntegerPack['width']) || (width as number) >= type.width)
    return `its pack width ${String(width)} is not 1, 2 or 4 bytes below the type's ${type.width}`;
  if (typeof base !== 'number' || !Number.isInteger(base) || Math.abs(base) >= SAFE)
    return `its pack base ${String(base)} is not an integer within ±2^53`;
  if (!(column.data instanceof Uint8Array) || column.data.byteLength !== rows * (width as number))
    return `it holds ${column.data?.byteLength} bytes where ${rows * (width as number)} were expected`;
  const bytes = alignedTo(column.data, width as number);
  const offsets = narrowIntegers(bytes.buffer, bytes.byteOffset, rows, {
    width: width as number,
    signed: false,
  });
  // The largest offset bounds every value: one check against the type, not one a row.
  let largest = 0;
  for (let i = 0; i < rows; i++) if (offsets[i] > largest) largest = offsets[i];
  if (base < type.min || base + largest > type.max || base + largest >= SAFE)
    return `its values from ${base} to ${base + largest} are past its type`;
  const data = new Uint8Array(rows * type.width);
  if (type.width === 8) {
    const words = new Int32Array(data.buffer);
    for (let i = 0; i < rows; i++) {
      const v = base + offsets[i];
      const high = Math.floor(v / 2 ** 32);
      words[2 * i] = v - high * 2 ** 32;
      words[2 * i + 1] = high;
    }
  } else {
    const values = narrowIntegers(data.buffer, 0, rows, type);
    for (let i = 0; i < rows; i++) values[i] = base + offsets[i];
  }
  const nulls = column.nulls;
  return { data, ...(nulls && { nulls }) };
}
