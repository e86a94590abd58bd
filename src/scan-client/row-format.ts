/** Rows of JSON values as text: ndjson (one object per row) or CSV with a header (RFC 4180). */
import type { ByteBuilder } from '../byte-builder.js';

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

/** One CSV field from UTF-8 bytes `source[from, to)`, quoted (with quotes doubled) where csvField would. */
export function writeCsvBytes(out: ByteBuilder, source: Uint8Array, from: number, to: number): void {
  out.reserve((to - from) * 2 + 2);
  const buf = out.buf;
  let at = out.length;
  let special = false;
  for (let i = from; i < to; i++) {
    const b = source[i];
    // '"', ',', '\r', '\n'
    if (b === QUOTE || b === 0x2c || b === 0x0d || b === 0x0a) {
      special = true;
      break;
    }
    buf[at++] = b;
  }
  if (!special) {
    out.length = at;
    return;
  }
  at = out.length;
  buf[at++] = QUOTE;
  for (let i = from; i < to; i++) {
    if (source[i] === QUOTE) buf[at++] = QUOTE;
    buf[at++] = source[i];
  }
  buf[at++] = QUOTE;
  out.length = at;
}
