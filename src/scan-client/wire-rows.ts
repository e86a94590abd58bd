/**
 * NDJSON and CSV rows written straight from a frame's wire columns, for the types that are
 * most of every table (integers, doubles, booleans, VARCHAR): no DuckDB chunk, no JS value per
 * cell, no BigInt for an int64 that fits a double. Values come out as the JSON answer writes
 * them (json-values.ts): integers beyond ±(2^53−1) as strings, NaN/±Infinity as strings.
 * Frames with other types go through DuckDB chunks instead (scan-output.ts).
 */
import type { ByteBuilder } from '../byte-builder.js';
import { JsonBytes } from '../duckdb/json-rows.js';
import type { ColumnSchema, WireColumn } from '../protocol/frames.js';
import { writeCsvBytes, writeText } from './row-format.js';

type Layout = 'json' | 'csv';
type Cell = (out: JsonBytes, row: number) => void;

const NULL_JSON = 'null';

/** `bytes` as an `Int32Array`, copied when not 4-byte aligned. */
function int32s(bytes: Uint8Array): Int32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes); // a copy: Buffer#slice would be a view
  return new Int32Array(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength >> 2);
}

/** An int64 from its two words, as the JSON answer writes it: a number when exact, else its digits as a string. */
function int64Text(words: Int32Array, row: number, layout: Layout): string {
  const high = words[row * 2 + 1];
  const low = words[row * 2] >>> 0;
  // |value| < 2^53 exactly when the high word is in [-2^21, 2^21), save -2^53 itself.
  if (high >= -0x200000 && high < 0x200000 && !(high === -0x200000 && low === 0))
    return String(high * 2 ** 32 + low);
  const digits = ((BigInt(high) << 32n) | BigInt(low)).toString();
  return layout === 'json' ? `"${digits}"` : digits;
}

function numberText(value: number, layout: Layout): string {
  if (Number.isFinite(value)) return String(value);
  return layout === 'json' ? `"${value}"` : String(value);
}

function cellOf(schema: ColumnSchema, column: WireColumn, layout: Layout): Cell | undefined {
  const { data, nulls } = column;
  const nullText = layout === 'json' ? NULL_JSON : '';
  const orNull =
    (cell: Cell): Cell =>
    (out, row) =>
      nulls?.[row] ? writeText(out, nullText) : cell(out, row);
  switch (schema.type) {
    case 'BIGINT': {
      const words = int32s(data);
      return orNull((out, row) => writeText(out, int64Text(words, row, layout)));
    }
    case 'INTEGER':
    case 'SMALLINT':
    case 'TINYINT': {
      const Type =
        schema.type === 'INTEGER' ? Int32Array : schema.type === 'SMALLINT' ? Int16Array : Int8Array;
      const aligned = data.byteOffset % Type.BYTES_PER_ELEMENT === 0 ? data : new Uint8Array(data);
      const values = new Type(
        aligned.buffer as ArrayBuffer,
        aligned.byteOffset,
        aligned.byteLength / Type.BYTES_PER_ELEMENT,
      );
      return orNull((out, row) => writeText(out, String(values[row])));
    }
    case 'DOUBLE': {
      const aligned = data.byteOffset % 8 === 0 ? data : new Uint8Array(data);
      const values = new Float64Array(
        aligned.buffer as ArrayBuffer,
        aligned.byteOffset,
        aligned.byteLength / 8,
      );
      return orNull((out, row) => writeText(out, numberText(values[row], layout)));
    }
    case 'BOOLEAN':
      return orNull((out, row) => writeText(out, data[row] ? 'true' : 'false'));
    case 'VARCHAR': {
      const offsets = column.offsets as Int32Array;
      return orNull(
        layout === 'json'
          ? (out, row) => out.jsonString(data, offsets[row], offsets[row + 1])
          : (out, row) => writeCsvBytes(out as ByteBuilder, data, offsets[row], offsets[row + 1]),
      );
    }
    default:
      return undefined;
  }
}

const DIRECT = new Set(['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'DOUBLE', 'BOOLEAN', 'VARCHAR']);

/** Writes frames of `columns` as NDJSON or CSV rows; undefined when a column's type is not one it writes. */
export function wireRowWriter(
  format: 'ndjson' | 'csv',
  columns: ColumnSchema[],
): ((rows: number, wire: WireColumn[]) => Buffer) | undefined {
  if (!columns.every((c) => c.wire !== 'text' && DIRECT.has(c.type))) return undefined;
  const layout: Layout = format === 'ndjson' ? 'json' : 'csv';
  const keys = columns.map((c, i) => Buffer.from(`${i === 0 ? '{' : ','}${JSON.stringify(c.name)}:`));
  let lastBytes = 0;
  return (rows, wire) => {
    const cells = columns.map((c, i) => cellOf(c, wire[i], layout) as Cell);
    const out = new JsonBytes(Math.max(lastBytes, rows * 32));
    for (let row = 0; row < rows; row++) {
      for (let c = 0; c < cells.length; c++) {
        if (layout === 'json') out.short(keys[c]);
        else if (c > 0) out.byte(0x2c);
        cells[c](out, row);
      }
      if (layout === 'json') {
        if (cells.length === 0) out.byte(0x7b);
        out.byte(0x7d);
        out.byte(0x0a);
      } else {
        out.byte(0x0d);
        out.byte(0x0a);
      }
    }
    lastBytes = out.length;
    const bytes = out.bytes();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}
