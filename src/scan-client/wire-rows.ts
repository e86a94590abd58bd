/**
 * NDJSON and CSV rows written straight from a frame's wire columns, for the types that are
 * most of every table (integers, doubles, booleans, VARCHAR): no DuckDB chunk, no JS value per
 * cell, no BigInt for an int64 that fits a double. Values come out as the JSON answer writes
 * them (json-values.ts): integers beyond ±(2^53−1) as strings, NaN/±Infinity as strings.
 * Frames with other types go through DuckDB chunks instead (chunk-rows.ts).
 */
import { JsonBytes } from '../json-bytes.js';
import type { ColumnSchema, WireColumn } from '../protocol/frames.js';
import { writeCsvBytes } from './row-format.js';

type Layout = 'json' | 'csv';
type Cell = (out: JsonBytes, row: number) => void;

const NO_BYTES = new Uint8Array(0);
/** Plain byte arrays, not Buffers: a loop over one kind of array stays fast. */
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const NULL_BYTES = ascii('null');
const TRUE = ascii('true');
const FALSE = ascii('false');

/** `bytes` as a typed array of `Type`, copied when not aligned for it. */
function aligned<T>(
  bytes: Uint8Array,
  Type: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number },
): T {
  const size = Type.BYTES_PER_ELEMENT;
  const from = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes); // a copy: Buffer#slice would be a view
  return new Type(from.buffer as ArrayBuffer, from.byteOffset, from.byteLength / size);
}

/**
 * An int64 from its two words, as the JSON answer writes it: a number when exact, else its
 * digits (quoted in JSON).
 */
function writeInt64(out: JsonBytes, words: Int32Array, row: number, layout: Layout): void {
  const high = words[row * 2 + 1];
  const low = words[row * 2] >>> 0;
  // |value| < 2^53 exactly when the high word is in [-2^21, 2^21), save -2^53 itself.
  if (high >= -0x200000 && high < 0x200000 && !(high === -0x200000 && low === 0)) {
    out.integer(high * 2 ** 32 + low);
    return;
  }
  const digits = ((BigInt(high) << 32n) | BigInt(low)).toString();
  out.text(layout === 'json' ? `"${digits}"` : digits);
}

/** A double as String() writes it; NaN and ±Infinity quoted in JSON. Integral ones skip the string. */
function writeDouble(out: JsonBytes, value: number, layout: Layout): void {
  if (Number.isSafeInteger(value)) out.integer(value);
  else if (Number.isFinite(value) || layout === 'csv') out.text(String(value));
  else out.text(`"${value}"`);
}

function cellOf(schema: ColumnSchema, column: WireColumn, layout: Layout): Cell | undefined {
  const { data, nulls } = column;
  const nullBytes = layout === 'json' ? NULL_BYTES : NO_BYTES;
  // A frame without NULLs in a column (most) checks none.
  const orNull = (cell: Cell): Cell =>
    nulls ? (out, row) => (nulls[row] ? out.short(nullBytes) : cell(out, row)) : cell;
  switch (schema.type) {
    case 'BIGINT': {
      const words = aligned(data, Int32Array);
      return orNull((out, row) => writeInt64(out, words, row, layout));
    }
    case 'INTEGER':
    case 'SMALLINT':
    case 'TINYINT': {
      const values: ArrayLike<number> =
        schema.type === 'INTEGER'
          ? aligned(data, Int32Array)
          : schema.type === 'SMALLINT'
            ? aligned(data, Int16Array)
            : aligned(data, Int8Array);
      return orNull((out, row) => out.integer(values[row]));
    }
    case 'DOUBLE': {
      const values = aligned(data, Float64Array);
      return orNull((out, row) => writeDouble(out, values[row], layout));
    }
    case 'BOOLEAN':
      return orNull((out, row) => out.short(data[row] ? TRUE : FALSE));
    case 'VARCHAR': {
      const offsets = column.offsets as Int32Array;
      return orNull(
        layout === 'json'
          ? (out, row) => out.jsonString(data, offsets[row], offsets[row + 1])
          : (out, row) => writeCsvBytes(out, data, offsets[row], offsets[row + 1]),
      );
    }
    default:
      return undefined;
  }
}

const DIRECT = new Set(['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'DOUBLE', 'BOOLEAN', 'VARCHAR']);

/**
 * Writes frames of `columns` as NDJSON or CSV rows; undefined when a column's type is not one
 * it writes. Each frame's bytes are written over the last one's (a fresh megabyte per frame
 * kept the garbage collector busy): use them before the next call.
 */
export function wireRowWriter(
  format: 'ndjson' | 'csv',
  columns: ColumnSchema[],
): ((rows: number, wire: WireColumn[]) => Buffer) | undefined {
  if (!columns.every((c) => c.wire !== 'text' && DIRECT.has(c.type))) return undefined;
  const layout: Layout = format === 'ndjson' ? 'json' : 'csv';
  // What goes before each cell (the key, or a comma) and after each row, as plain byte arrays.
  const before = columns.map((c, i) =>
    ascii(layout === 'json' ? `${i === 0 ? '{' : ','}${JSON.stringify(c.name)}:` : i === 0 ? '' : ','),
  );
  const after = ascii(layout === 'csv' ? '\r\n' : columns.length === 0 ? '{}\n' : '}\n');
  const out = new JsonBytes(1 << 16);
  return (rows, wire) => {
    const cells = columns.map((c, i) => cellOf(c, wire[i], layout) as Cell);
    out.clear();
    out.reserve(rows * 32);
    for (let row = 0; row < rows; row++) {
      for (let c = 0; c < cells.length; c++) {
        out.short(before[c]);
        cells[c](out, row);
      }
      out.short(after);
    }
    const bytes = out.bytes();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}
