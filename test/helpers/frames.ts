/**
 * Scan frames back into rows, for comparing with DuckDB's own answer. Values are made
 * canonical the way DuckDB's getRowsJson() prints them: integers as decimal text, dates as
 * YYYY-MM-DD, strings as they are, NULL as null.
 */
import type { ColumnSchema, DataFrame, Frame, WireColumn } from '../../src/protocol/frames.js';

export type CanonicalRow = (string | null)[];

const utf8 = new TextDecoder();

function fixedValue(view: DataView, row: number, column: ColumnSchema): string {
  const width = column.width ?? 0;
  const at = row * width;
  switch (column.type) {
    case 'BIGINT':
      return view.getBigInt64(at, true).toString();
    case 'UBIGINT':
      return view.getBigUint64(at, true).toString();
    case 'INTEGER':
      return String(view.getInt32(at, true));
    case 'USMALLINT':
      return String(view.getUint16(at, true));
    case 'TINYINT':
      return String(view.getInt8(at));
    case 'DOUBLE':
      return String(view.getFloat64(at, true));
    case 'BOOLEAN':
      return String(view.getUint8(at) !== 0);
    case 'DATE':
      return new Date(view.getInt32(at, true) * 86_400_000).toISOString().slice(0, 10);
    default:
      throw new Error(`test decoder does not know fixed type ${column.type}`);
  }
}

function columnValues(column: ColumnSchema, wire: WireColumn, rows: number): (string | null)[] {
  const values: (string | null)[] = [];
  const view = new DataView(wire.data.buffer, wire.data.byteOffset, wire.data.byteLength);
  for (let i = 0; i < rows; i++) {
    if (wire.nulls?.[i]) values.push(null);
    else if (column.wire === 'fixed') values.push(fixedValue(view, i, column));
    else values.push(utf8.decode(wire.data.subarray(wire.offsets![i], wire.offsets![i + 1])));
  }
  return values;
}

export function canonical(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Rows of one data frame, binary (columnar) or JSON (values). */
export function frameRows(schema: ColumnSchema[], frame: DataFrame): CanonicalRow[] {
  if (frame.values) return frame.values.map((row) => row.map(canonical));
  const columns = (frame.columns ?? []).map((wire, c) => columnValues(schema[c], wire, frame.rows));
  return Array.from({ length: frame.rows }, (_, r) => columns.map((values) => values[r]));
}

export interface CollectedScan {
  schema: ColumnSchema[];
  rows: CanonicalRow[];
  frames: Frame[];
}

/** Every row of a scan stream, with its frames. */
export async function collectScan(frames: AsyncIterable<Frame>): Promise<CollectedScan> {
  const collected: CollectedScan = { schema: [], rows: [], frames: [] };
  for await (const frame of frames) {
    collected.frames.push(frame);
    if (frame.type === 'schema') collected.schema = frame.columns;
    else if (frame.type === 'data') collected.rows.push(...frameRows(collected.schema, frame));
  }
  return collected;
}

/** Rows as sorted keys: equal multisets give equal arrays. */
export function rowKeys(rows: CanonicalRow[]): string[] {
  return rows.map((r) => JSON.stringify(r)).sort();
}
