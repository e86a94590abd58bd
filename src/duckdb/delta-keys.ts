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

/** The layout of an integer type by its DuckDB name (`BIGINT`), as a column schema spells it. */
export function integerLayoutNamed(name: string): IntegerLayout | undefined {
  const id = DuckDBTypeId[name as keyof typeof DuckDBTypeId];
  return typeof id === 'number' ? INTEGERS[id] : undefined;
}

/** Key `i` of the fixed layout `view` holds, exact whatever its magnitude. */
export function readBigInteger(view: DataView, i: number, { width, signed }: IntegerLayout): bigint {
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
 * Keys under this magnitude take the Number path: a zigzagged first key and every gap stay
 * below 2^53, exact in a double, and cost a few nanoseconds each where BigInt arithmetic costs
 * tens: a dynamic filter carries up to a few hundred thousand keys, on the scan's critical path
 * (encoded by the coordinator, decoded by the container).
 */
const SAFE = 2 ** 52;

/** A key as a Number: exact within ±SAFE, and beyond it a double of about its magnitude. */
function readNumber(view: DataView, i: number, { width, signed }: IntegerLayout): number {
  const at = i * width;
  if (width === 8) {
    const high = signed ? view.getInt32(at + 4, true) : view.getUint32(at + 4, true);
    return high * 2 ** 32 + view.getUint32(at, true);
  }
  if (width === 4) return signed ? view.getInt32(at, true) : view.getUint32(at, true);
  if (width === 2) return signed ? view.getInt16(at, true) : view.getUint16(at, true);
  return signed ? view.getInt8(at) : view.getUint8(at);
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
  const key = (i: number) => readNumber(view, i, layout);
  // Ascending: the first and the last key bound them all.
  if (rows === 0 || numbersExact(key(0), key(rows - 1))) return encodeNumbers(rows, key, maxBytes);
  const out = new Uint8Array(Math.min(maxBytes, rows * 10) + 10);
  const n = encodeBigInts(view, rows, layout, out, maxBytes);
  return n === undefined ? undefined : out.slice(0, n);
}

/**
 * Keys held as Numbers (ascending, distinct, each exact, within `layout`'s type) delta-encoded,
 * as encodeDeltaKeys encodes them from their fixed layout: through the Number path where their
 * magnitude allows, else through their fixed layout's BigInt path; undefined past `maxBytes`.
 */
export function encodeDeltaNumbers(
  keys: Float64Array,
  layout: IntegerLayout,
  maxBytes: number,
): Uint8Array | undefined {
  const rows = keys.length;
  if (rows > 0 && !numbersExact(keys[0], keys[rows - 1]))
    return encodeDeltaKeys(fixedKeys(keys, layout), rows, layout, maxBytes);
  return encodeNumbers(rows, (i) => keys[i], maxBytes);
}

/**
 * Keys held as Numbers (each exact, within `layout`'s type) in their fixed layout,
 * little-endian: typed arrays in the platform's order, which is little-endian wherever DuckDB's
 * bindings run (x64, arm64). A typed array's conversion where DataView calls per key cost
 * several times more, on a link's critical path.
 */
export function fixedKeys(keys: Float64Array, { width, signed }: IntegerLayout): Uint8Array {
  if (width === 8) return int64Keys(keys);
  const typed =
    width === 4
      ? signed
        ? new Int32Array(keys)
        : new Uint32Array(keys)
      : width === 2
        ? signed
          ? new Int16Array(keys)
          : new Uint16Array(keys)
        : signed
          ? new Int8Array(keys)
          : new Uint8Array(keys);
  return new Uint8Array(typed.buffer);
}

/**
 * fixedKeys of 64-bit keys. Nothing follows the loop but the return: V8 compiles a long loop
 * on the stack (OSR) before what follows it ever ran, and an operation there without type
 * feedback would throw that code away at every call, leaving the loop slow.
 */
function int64Keys(keys: Float64Array): Uint8Array {
  const bytes = new Uint8Array(keys.length * 8);
  const words = new Int32Array(bytes.buffer);
  for (let i = 0; i < keys.length; i++) {
    const high = Math.floor(keys[i] / 2 ** 32);
    words[2 * i] = keys[i] - high * 2 ** 32;
    words[2 * i + 1] = high;
  }
  return bytes;
}

/** Whether keys from `first` to `last` (ascending) take the Number path. */
function numbersExact(first: number, last: number): boolean {
  return Math.max(Math.abs(first), Math.abs(last)) < SAFE;
}

/** Appends `v` (a non-negative integer below 2^53) as a varint at `n`; the new end, or undefined past `maxBytes`. */
function putVarint(out: Uint8Array, n: number, value: number, maxBytes: number): number | undefined {
  let at = n;
  let v = value;
  do {
    if (at >= maxBytes) return undefined;
    const low = v % 128;
    v = (v - low) / 128;
    out[at++] = v > 0 ? low | 0x80 : low;
  } while (v > 0);
  return at;
}

/** `rows` keys (`key(i)`, ascending and distinct, within ±SAFE) as varints: the first zigzagged, then the gaps. */
function encodeNumbers(rows: number, key: (i: number) => number, maxBytes: number): Uint8Array | undefined {
  const out = new Uint8Array(Math.min(maxBytes, rows * 10) + 10);
  let n: number | undefined = 0;
  let previous = 0;
  for (let i = 0; i < rows && n !== undefined; i++) {
    const value = key(i);
    const v = i === 0 ? (value < 0 ? -value * 2 - 1 : value * 2) : value - previous;
    previous = value;
    if (v <= 0 && i > 0) throw new Error('delta keys must be ascending and distinct');
    n = putVarint(out, n, v, maxBytes);
  }
  return n === undefined ? undefined : out.slice(0, n);
}

function encodeBigInts(
  view: DataView,
  rows: number,
  layout: IntegerLayout,
  out: Uint8Array,
  maxBytes: number,
): number | undefined {
  let n = 0;
  let previous = 0n;
  for (let i = 0; i < rows; i++) {
    const value = readBigInteger(view, i, layout);
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
  return n;
}

/**
 * The fixed layout of `rows` delta-encoded keys, or a sentence saying why they are malformed
 * (they are checked whole before any byte reaches DuckDB).
 */
export function decodeDeltaKeys(data: Uint8Array, rows: number, layout: IntegerLayout): Uint8Array | string {
  return decodeNumbers(data, rows, layout) ?? decodeBigInts(data, rows, layout);
}

/**
 * The keys decodeNumbers reads before laying them out, reused from call to call (decoding is
 * synchronous): a set of a few hundred thousand keys would otherwise allocate megabytes more
 * for the garbage collector each time. It holds the largest set decoded, at most the keys a
 * request's bytes carry (MAX_SCAN_KEY_BYTES, one byte a key at least).
 */
let scratch = new Float64Array(0);

/** A varint of at most this many bytes (49 bits) added to a key within ±SAFE stays exact. */
const NUMBER_VARINT_BYTES = 7;

/**
 * decodeBigInts with Numbers, the same answers; undefined where a key or a gap leaves the
 * range where they are exact (decodeBigInts then decodes them all).
 */
function decodeNumbers(
  data: Uint8Array,
  rows: number,
  layout: IntegerLayout,
): Uint8Array | string | undefined {
  if (scratch.length < rows) scratch = new Float64Array(Math.max(rows, scratch.length * 2));
  const keys = scratch;
  const bits = layout.width * 8;
  const [min, max] = layout.signed ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
  // One test per key on the hot path: within the type, and exact as a Number.
  const low = Math.max(min, -SAFE + 1);
  const high = Math.min(max, SAFE - 1);
  let at = 0;
  let value = 0;
  for (let i = 0; i < rows; i++) {
    if (at >= data.length) return `they end after ${i} of ${rows} keys`;
    let byte = data[at++];
    let v = byte & 0x7f;
    // Most gaps of dense keys take one byte: the loop only for the others.
    for (let length = 1, scale = 128; byte & 0x80; length++, scale *= 128) {
      if (length === NUMBER_VARINT_BYTES) return undefined;
      if (at >= data.length) return `they end after ${i} of ${rows} keys`;
      byte = data[at++];
      v += (byte & 0x7f) * scale;
    }
    if (i === 0) value = v % 2 === 1 ? -(v + 1) / 2 : v / 2;
    else if (v === 0) return `key ${i} repeats the previous one (keys must be ascending and distinct)`;
    else value += v;
    if (value < low || value > high) {
      if (Math.abs(value) >= SAFE) return undefined;
      return `key ${i} (${value}) does not fit the column's ${bits}-bit type`;
    }
    keys[i] = value;
  }
  if (at !== data.length) return `${data.length - at} bytes follow the ${rows} keys`;
  return fixedKeys(keys.subarray(0, rows), layout);
}

function decodeBigInts(data: Uint8Array, rows: number, layout: IntegerLayout): Uint8Array | string {
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
