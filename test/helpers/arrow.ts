/**
 * Arrow answers against the oracle, value by value: both sides are reduced to the exact
 * stored value (integers, unscaled decimals, days, micros, nanos, text, bytes as hex), so
 * that nothing is compared through a lossy conversion.
 */
import {
  DuckDBBlobValue,
  type DuckDBConnection,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBIntervalValue,
  DuckDBListValue,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  DuckDBUUIDValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import { type Data, type Table, Type, type Vector } from 'apache-arrow';
import { columnValues } from '../../src/duckdb/json-values.js';

const NULL = '∅';

/** The signed 128-bit integer in 4 little-endian 32-bit words from `at`. */
function int128(words: Uint32Array | Int32Array, at: number): bigint {
  let v = 0n;
  for (let k = 3; k >= 0; k--) v = (v << 32n) | BigInt(words[at + k] >>> 0);
  return BigInt.asIntN(128, v);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** One value of an Arrow column chunk as its exact stored value. */
function arrowCell(data: Data, i: number): string {
  if (!data.getValid(i)) return NULL;
  const at = data.offset + i;
  const values = data.values as ArrayLike<unknown> & { subarray?: unknown };
  switch (data.typeId) {
    case Type.Bool:
      return String(((data.values[at >> 3] >> (at & 7)) & 1) === 1);
    case Type.Decimal:
      return String(int128(data.values as Uint32Array, at * 4));
    case Type.Interval: {
      const words = data.values as Int32Array;
      const nanos = BigInt.asIntN(
        64,
        (BigInt(words[at * 4 + 3] >>> 0) << 32n) | BigInt(words[at * 4 + 2] >>> 0),
      );
      return `${words[at * 4]}/${words[at * 4 + 1]}/${nanos}`;
    }
    case Type.Utf8: {
      const o = data.valueOffsets as Int32Array;
      return Buffer.from((data.values as Uint8Array).subarray(o[at], o[at + 1])).toString('utf8');
    }
    case Type.Binary: {
      const o = data.valueOffsets as Int32Array;
      return hex((data.values as Uint8Array).subarray(o[at], o[at + 1]));
    }
    default:
      return String(values[at]);
  }
}

/** An Arrow table's rows, each as its cells' exact values joined. */
export function arrowRows(table: Table): string[] {
  const rows: string[][] = Array.from({ length: table.numRows }, () => []);
  for (const field of table.schema.fields) {
    let row = 0;
    for (const data of (table.getChild(field.name) as Vector).data) {
      for (let i = 0; i < data.length; i++) rows[row++].push(arrowCell(data, i));
    }
  }
  return rows.map((r) => r.join('\u0001'));
}

/** One oracle value, as `arrowCell` reads the same value. */
function oracleCell(value: DuckDBValue, json: unknown): string {
  if (value === null) return NULL;
  if (value instanceof DuckDBDecimalValue) return String(value.value);
  if (value instanceof DuckDBDateValue) return String(value.days);
  if (value instanceof DuckDBTimeValue) return String(value.micros);
  if (value instanceof DuckDBTimestampTZValue || value instanceof DuckDBTimestampValue)
    return String(value.micros);
  if (value instanceof DuckDBTimestampSecondsValue) return String(value.seconds);
  if (value instanceof DuckDBTimestampMillisecondsValue) return String(value.millis);
  if (value instanceof DuckDBTimestampNanosecondsValue) return String(value.nanos);
  if (value instanceof DuckDBIntervalValue) return `${value.months}/${value.days}/${value.micros * 1000n}`;
  if (value instanceof DuckDBUUIDValue) return value.toString();
  if (value instanceof DuckDBBlobValue) return hex(value.bytes);
  // Nested values travel as the JSON answer's text of them.
  if (value instanceof DuckDBListValue || value instanceof DuckDBStructValue) return JSON.stringify(json);
  return String(value);
}

/** The oracle's rows for `sql`, as `arrowRows` reduces an Arrow table's. */
export async function oracleRows(
  con: DuckDBConnection,
  sql: string,
): Promise<{ columns: string[]; rows: string[] }> {
  const result = await con.run(sql);
  const rows: string[][] = [];
  let row = 0;
  for (
    let chunk = await result.fetchChunk();
    chunk && chunk.rowCount > 0;
    chunk = await result.fetchChunk()
  ) {
    for (let i = 0; i < chunk.rowCount; i++) rows.push([]);
    const json = Array.from({ length: chunk.columnCount }, (_, c) => columnValues(chunk, c));
    for (let i = 0; i < chunk.rowCount; i++) {
      for (let c = 0; c < chunk.columnCount; c++)
        rows[row + i].push(oracleCell(chunk.getColumnVector(c).getItem(i), json[c][i]));
    }
    row += chunk.rowCount;
  }
  return { columns: result.deduplicatedColumnNames(), rows: rows.map((r) => r.join('\u0001')) };
}
