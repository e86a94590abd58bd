/**
 * Result values as Postgres sends them: text as Postgres prints it (booleans t/f, timestamps
 * with a space, `0045-03-15 BC`, bytea as `\x…`, float exponents with two digits), or binary
 * as the Postgres type's send function writes it, for clients that ask (pgx, JDBC).
 */
import { type DuckDBDataChunk, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import { ByteBuilder } from '../../byte-builder.js';
import { type StringSpans, stringSpans } from '../../duckdb/columnar.js';
import { columnValues } from '../../duckdb/json-values.js';
import { OID, pgTypeOf } from './pg-types.js';

/**
 * A column of a chunk, encoded: row r's value is the bytes `sources[r][froms[r], tos[r])`,
 * NULL where `sources[r]` is null. Text columns point into DuckDB's own string bytes (copied
 * out of its vectors), others into one buffer of their encoded values.
 */
export type EncodedColumn = StringSpans;
export type ColumnEncoder = (chunk: DuckDBDataChunk, c: number) => EncodedColumn;

/** Values written one after another into one buffer, by `write` (false for NULL). */
function encoded(rows: number, write: (out: ByteBuilder, row: number) => boolean): EncodedColumn {
  const out = new ByteBuilder(rows * 8);
  const isNull = new Uint8Array(rows);
  const froms = new Int32Array(rows);
  const tos = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    froms[r] = out.length;
    if (!write(out, r)) isNull[r] = 1;
    tos[r] = out.length;
  }
  // Only now: the buffer may have moved while it grew.
  const bytes = Buffer.from(out.buf.buffer, out.buf.byteOffset, out.buf.byteLength);
  const sources = Array.from({ length: rows }, (_, r) => (isNull[r] ? null : bytes));
  return { sources, froms, tos };
}

/** Cells of text or bytes (null for NULL) as an encoded column. */
export function cellsColumn(cells: (string | Uint8Array | null)[]): EncodedColumn {
  return encoded(cells.length, (out, r) => {
    const cell = cells[r];
    if (cell === null) return false;
    if (typeof cell === 'string') out.text(cell);
    else out.append(cell);
    return true;
  });
}

/** Microseconds and days between 1970-01-01 and Postgres' epoch, 2000-01-01. */
const PG_EPOCH_MICROS = 946_684_800_000_000n;
const PG_EPOCH_DAYS = 10_957;

/** C's printf writes at least two exponent digits: 1e-07, where JavaScript writes 1e-7. */
function floatText(v: number): string {
  return String(v).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** The shortest text that reads back as the same float4, as Postgres prints it. */
function float4Text(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let digits = 1; digits < 9; digits++) {
    const shorter = Number(v.toPrecision(digits));
    if (Math.fround(shorter) === v) return floatText(shorter);
  }
  return floatText(Number(v.toPrecision(9)));
}

function temporalText(text: string): string {
  return text.endsWith(' (BC)') ? `${text.slice(0, -5)} BC` : text;
}

function itemText(value: unknown, typeId: DuckDBTypeId): string {
  switch (typeId) {
    case DuckDBTypeId.BOOLEAN:
      return value ? 't' : 'f';
    case DuckDBTypeId.FLOAT:
      return float4Text(value as number);
    case DuckDBTypeId.DOUBLE:
      return floatText(value as number);
    case DuckDBTypeId.BLOB:
      return `\\x${Buffer.from((value as { bytes: Uint8Array }).bytes).toString('hex')}`;
    case DuckDBTypeId.DATE:
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return temporalText(String(value));
    default:
      return String(value);
  }
}

/** Types whose JSON form (json-values' fast column reader) prints as Postgres prints them. */
const PLAIN_TEXT = new Set([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.VARCHAR,
]);

function textEncoder(type: DuckDBType): ColumnEncoder {
  const typeId = type.typeId;
  // The strings' own bytes, with no JS string between.
  if (typeId === DuckDBTypeId.VARCHAR) return (chunk, c) => stringSpans(chunk, c, chunk.rowCount);
  if (PLAIN_TEXT.has(typeId)) {
    return (chunk, c) => {
      // Numbers where exact, digits (a string) beyond 2^53.
      const values = columnValues(chunk, c) as (number | string | null)[];
      return encoded(values.length, (out, r) => {
        const v = values[r];
        if (v === null) return false;
        if (typeof v === 'number') out.integer(v);
        else out.text(v);
        return true;
      });
    };
  }
  if (typeId === DuckDBTypeId.DOUBLE) {
    return (chunk, c) =>
      cellsColumn(columnValues(chunk, c).map((v) => (v === null ? null : floatText(Number(v)))));
  }
  return (chunk, c) => {
    const vector = chunk.getColumnVector(c);
    return encoded(chunk.rowCount, (out, r) => {
      const v = vector.getItem(r);
      if (v === null) return false;
      out.text(itemText(v, typeId));
      return true;
    });
  };
}

function int(bytes: 2 | 4, n: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  if (bytes === 2) b.writeInt16BE(n);
  else b.writeInt32BE(n);
  return b;
}

function int64(n: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64BE(n);
  return b;
}

/** Postgres' binary numeric: base-10000 digits, weight, sign and display scale. */
export function numericBinary(text: string): Buffer {
  if (text === 'NaN') return Buffer.from([0, 0, 0, 0, 0xc0, 0, 0, 0]);
  const negative = text.startsWith('-');
  const [whole, fraction = ''] = text.replace(/^[-+]/, '').split('.');
  const intPart = whole.replace(/^0+/, '');
  const padded = '0'.repeat((4 - (intPart.length % 4)) % 4) + intPart;
  const fracPadded = fraction + '0'.repeat((4 - (fraction.length % 4)) % 4);
  const groups: number[] = [];
  for (let i = 0; i < padded.length; i += 4) groups.push(Number(padded.slice(i, i + 4)));
  for (let i = 0; i < fracPadded.length; i += 4) groups.push(Number(fracPadded.slice(i, i + 4)));
  let weight = padded.length / 4 - 1;
  while (groups.length > 0 && groups[0] === 0) {
    groups.shift();
    weight--;
  }
  while (groups.length > 0 && groups[groups.length - 1] === 0) groups.pop();
  const b = Buffer.alloc(8 + 2 * groups.length);
  b.writeInt16BE(groups.length, 0);
  b.writeInt16BE(groups.length === 0 ? 0 : weight, 2);
  b.writeUInt16BE(negative && groups.length > 0 ? 0x4000 : 0, 4);
  b.writeInt16BE(fraction.length, 6);
  for (const [i, g] of groups.entries()) b.writeInt16BE(g, 8 + 2 * i);
  return b;
}

function timestampMicros(value: unknown, typeId: DuckDBTypeId): bigint {
  const v = value as { micros?: bigint; millis?: bigint; seconds?: bigint; nanos?: bigint };
  if (typeId === DuckDBTypeId.TIMESTAMP_S) return (v.seconds as bigint) * 1_000_000n;
  if (typeId === DuckDBTypeId.TIMESTAMP_MS) return (v.millis as bigint) * 1_000n;
  if (typeId === DuckDBTypeId.TIMESTAMP_NS) return (v.nanos as bigint) / 1_000n;
  return v.micros as bigint;
}

function itemBinary(value: unknown, type: DuckDBType): Buffer {
  const typeId = type.typeId;
  switch (pgTypeOf(type).oid) {
    case OID.bool:
      return Buffer.from([value ? 1 : 0]);
    case OID.int2:
      return int(2, value as number);
    case OID.int4:
      return int(4, value as number);
    case OID.int8:
      return int64(BigInt(value as number | bigint));
    case OID.float4: {
      const b = Buffer.allocUnsafe(4);
      b.writeFloatBE(value as number);
      return b;
    }
    case OID.float8: {
      const b = Buffer.allocUnsafe(8);
      b.writeDoubleBE(value as number);
      return b;
    }
    case OID.numeric:
      return numericBinary(String(value));
    case OID.date:
      return int(4, (value as { days: number }).days - PG_EPOCH_DAYS);
    case OID.time:
      return int64((value as { micros: bigint }).micros);
    case OID.timetz: {
      const v = value as { micros: bigint; offset: number };
      return Buffer.concat([int64(v.micros), int(4, -v.offset)]);
    }
    case OID.timestamp:
    case OID.timestamptz:
      return int64(timestampMicros(value, typeId) - PG_EPOCH_MICROS);
    case OID.uuid:
      return Buffer.from(String(value).replaceAll('-', ''), 'hex');
    case OID.bytea:
      return Buffer.from((value as { bytes: Uint8Array }).bytes);
    default:
      return Buffer.from(itemText(value, typeId));
  }
}

function binaryEncoder(type: DuckDBType): ColumnEncoder {
  return (chunk, c) => {
    const vector = chunk.getColumnVector(c);
    return encoded(chunk.rowCount, (out, r) => {
      const v = vector.getItem(r);
      if (v === null) return false;
      out.append(itemBinary(v, type));
      return true;
    });
  };
}

export function columnEncoder(type: DuckDBType, format: 0 | 1): ColumnEncoder {
  return format === 1 ? binaryEncoder(type) : textEncoder(type);
}
