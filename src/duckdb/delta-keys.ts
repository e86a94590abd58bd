/**
 * Integer join keys, ascending and distinct, as LEB128 varints: the first key zigzag-encoded,
 * then each gap to the previous key. The keys of a filtered table's rows are dense in their
 * domain (an order key, a customer key), so most gaps take one or two bytes where the fixed
 * layout takes eight: a request carries six to eight times more keys (the `delta` encoding of
 * ScanKeys, protocol/frames.ts).
 */
import { type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';

/** Integer types that may travel delta-encoded: their width, and whether they are signed. */
const INTEGERS: Partial<Record<DuckDBTypeId, { width: number; signed: boolean }>> = {
  [DuckDBTypeId.TINYINT]: { width: 1, signed: true },
  [DuckDBTypeId.SMALLINT]: { width: 2, signed: true },
  [DuckDBTypeId.INTEGER]: { width: 4, signed: true },
  [DuckDBTypeId.BIGINT]: { width: 8, signed: true },
  [DuckDBTypeId.UTINYINT]: { width: 1, signed: false },
  [DuckDBTypeId.USMALLINT]: { width: 2, signed: false },
  [DuckDBTypeId.UINTEGER]: { width: 4, signed: false },
  [DuckDBTypeId.UBIGINT]: { width: 8, signed: false },
};

export interface IntegerLayout {
  width: number;
  signed: boolean;
}

export function integerLayout(type: DuckDBType): IntegerLayout | undefined {
  return INTEGERS[type.typeId];
}

function read(view: DataView, i: number, { width, signed }: IntegerLayout): bigint {
  const at = i * width;
  if (width === 8) return signed ? view.getBigInt64(at, true) : view.getBigUint64(at, true);
  if (width === 4) return BigInt(signed ? view.getInt32(at, true) : view.getUint32(at, true));
  if (width === 2) return BigInt(signed ? view.getInt16(at, true) : view.getUint16(at, true));
  return BigInt(signed ? view.getInt8(at) : view.getUint8(at));
}

function write(view: DataView, i: number, value: bigint, { width }: IntegerLayout): void {
  const bits = BigInt.asUintN(width * 8, value);
  const at = i * width;
  if (width === 8) view.setBigUint64(at, bits, true);
  else if (width === 4) view.setUint32(at, Number(bits), true);
  else if (width === 2) view.setUint16(at, Number(bits), true);
  else view.setUint8(at, Number(bits));
}

/**
 * `rows` keys in the fixed layout (`fixed`, ascending and distinct) delta-encoded, or
 * undefined when that takes more than `maxBytes`.
 */
export function encodeDeltaKeys(
  fixed: Uint8Array,
  rows: number,
  layout: IntegerLayout,
  maxBytes: number,
): Uint8Array | undefined {
  const view = new DataView(fixed.buffer, fixed.byteOffset, fixed.byteLength);
  const out = new Uint8Array(Math.min(maxBytes, rows * 10) + 10);
  let n = 0;
  let previous = 0n;
  for (let i = 0; i < rows; i++) {
    const value = read(view, i, layout);
    let v = i === 0 ? (value < 0n ? -value * 2n - 1n : value * 2n) : value - previous;
    previous = value;
    if (v <= 0n && i > 0) throw new Error('delta keys must be ascending and distinct');
    do {
      if (n >= maxBytes) return undefined;
      const low = Number(v & 0x7fn);
      v >>= 7n;
      out[n++] = v > 0n ? low | 0x80 : low;
    } while (v > 0n);
  }
  return out.slice(0, n);
}

/**
 * The fixed layout of `rows` delta-encoded keys, or a sentence saying why they are malformed
 * (they are checked whole before any byte reaches DuckDB).
 */
export function decodeDeltaKeys(data: Uint8Array, rows: number, layout: IntegerLayout): Uint8Array | string {
  const fixed = new Uint8Array(rows * layout.width);
  const view = new DataView(fixed.buffer);
  const bits = layout.width * 8;
  let at = 0;
  let value = 0n;
  for (let i = 0; i < rows; i++) {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= data.length) return `they end after ${i} of ${rows} keys`;
      const byte = data[at++];
      v |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) break;
      if (shift > 70n) return `key ${i} is longer than 10 bytes`;
    }
    if (i === 0) value = v & 1n ? -(v + 1n) / 2n : v / 2n;
    else if (v === 0n) return `key ${i} repeats the previous one (keys must be ascending and distinct)`;
    else value += v;
    const fits = layout.signed ? BigInt.asIntN(bits, value) === value : BigInt.asUintN(bits, value) === value;
    if (!fits) return `key ${i} (${value}) does not fit the column's ${bits}-bit type`;
    write(view, i, value, layout);
  }
  if (at !== data.length) return `${data.length - at} bytes follow the ${rows} keys`;
  return fixed;
}
