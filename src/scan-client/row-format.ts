/** Rows of JSON values as text: ndjson (one object per row) or CSV with a header (RFC 4180). */
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
