/** Rows of JSON values as text: ndjson (one object per row) or CSV with a header (RFC 4180). */
import { type DuckDBDataChunk, DuckDBTypeId } from '@duckdb/node-api';
import { ByteBuilder } from '../byte-builder.js';
import { stringSpans } from '../duckdb/columnar.js';
import { columnValues } from '../duckdb/json-values.js';

export type RowFormat = 'ndjson' | 'csv';

const CSV_NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return CSV_NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The text before the first row: the CSV header line, nothing for ndjson. */
export function formatHeader(format: RowFormat, columns: string[]): string {
  return format === 'csv' ? `${columns.map(csvField).join(',')}\r\n` : '';
}

export function formatRows(format: RowFormat, columns: string[], rows: unknown[][]): string {
  let text = '';
  for (const row of rows) {
    if (format === 'csv') {
      text += `${row.map(csvField).join(',')}\r\n`;
    } else {
      const object: Record<string, unknown> = {};
      for (let i = 0; i < columns.length; i++) object[columns[i]] = row[i];
      text += `${JSON.stringify(object)}\n`;
    }
  }
  return text;
}

const QUOTE = 0x22;
const CSV_SPECIAL = new Set([QUOTE, 0x2c, 0x0d, 0x0a]);

/** One CSV field from UTF-8 bytes `source[from, to)`, quoted (with quotes doubled) where csvField would. */
export function writeCsvBytes(out: ByteBuilder, source: Uint8Array, from: number, to: number): void {
  let special = false;
  for (let i = from; i < to && !special; i++) special = CSV_SPECIAL.has(source[i]);
  if (!special) {
    out.append(source.subarray(from, to));
    return;
  }
  out.reserve((to - from) * 2 + 2);
  const buf = out.buf;
  let at = out.length;
  buf[at++] = QUOTE;
  for (let i = from; i < to; i++) {
    if (source[i] === QUOTE) buf[at++] = QUOTE;
    buf[at++] = source[i];
  }
  buf[at++] = QUOTE;
  out.length = at;
}

type CsvCell = (out: ByteBuilder, row: number) => void;

function csvCell(chunk: DuckDBDataChunk, column: number): CsvCell {
  if (chunk.getColumnVector(column).type.typeId === DuckDBTypeId.VARCHAR) {
    const { sources, froms, tos } = stringSpans(chunk, column, chunk.rowCount);
    return (out, row) => {
      const source = sources[row];
      if (source) writeCsvBytes(out, source, froms[row], tos[row]);
    };
  }
  const values = columnValues(chunk, column);
  return (out, row) => writeText(out, csvField(values[row]));
}

function writeByte(out: ByteBuilder, b: number): void {
  out.reserve(1);
  out.buf[out.length++] = b;
}

/** Text as UTF-8: ASCII (numbers, dates) byte by byte, anything else through Buffer. */
export function writeText(out: ByteBuilder, text: string): void {
  out.reserve(text.length * 3);
  const buf = out.buf;
  let at = out.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) {
      out.length += Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).write(text, out.length, 'utf8');
      return;
    }
    buf[at++] = code;
  }
  out.length = at;
}

/**
 * CSV rows of DuckDB chunks as bytes, as formatRows writes them but without row objects:
 * strings are copied from DuckDB's own bytes, other types converted column by column.
 */
export class CsvRowWriter {
  private lastBytes = 0;

  write(chunk: DuckDBDataChunk): Buffer {
    const cells = Array.from({ length: chunk.columnCount }, (_, c) => csvCell(chunk, c));
    // rowCount is a native call: read once.
    const rows = chunk.rowCount;
    const out = new ByteBuilder(Math.max(this.lastBytes, rows * 32));
    for (let row = 0; row < rows; row++) {
      for (let c = 0; c < cells.length; c++) {
        if (c > 0) writeByte(out, 0x2c);
        cells[c](out, row);
      }
      writeByte(out, 0x0d);
      writeByte(out, 0x0a);
    }
    this.lastBytes = out.length;
    const bytes = out.bytes();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}
