/**
 * Rows of DuckDB chunks as JSON text, written straight to UTF-8 bytes. Strings are copied
 * from DuckDB's own bytes and escaped as JSON.stringify escapes them, with no JS string, row
 * object or JSON.stringify in between: for a few hundred thousand rows those took longer
 * than the query (V8 must flatten a large stringify result before encoding it again). Other
 * types are converted by `columnValues`, so an answer is the same whichever way it is written.
 */
import { type DuckDBDataChunk, DuckDBTypeId } from '@duckdb/node-api';
import { JsonBytes, NULL_JSON } from '../json-bytes.js';
import { stringSpans } from './columnar.js';
import { columnValues, type JsonValue } from './json-values.js';

const COMMA = 0x2c;
const NEWLINE = 0x0a;
const CLOSE_BRACE = 0x7d;

/** One converted value as JSON.stringify writes it. */
function jsonText(value: JsonValue): string {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : JSON.stringify(value);
}

type CellWriter = (out: JsonBytes, row: number) => void;

function cellWriter(chunk: DuckDBDataChunk, column: number): CellWriter {
  const rows = chunk.rowCount;
  if (chunk.getColumnVector(column).type.typeId === DuckDBTypeId.VARCHAR) {
    const { sources, froms, tos } = stringSpans(chunk, column, rows);
    return (out, row) => {
      const source = sources[row];
      if (source) out.jsonString(source, froms[row], tos[row]);
      else out.short(NULL_JSON);
    };
  }
  const values = columnValues(chunk, column);
  return (out, row) => out.text(jsonText(values[row]));
}

/**
 * Writes successive chunks' rows as JSON objects keyed by `names` (made unique, in column
 * order): 'array' separates them with commas, to go between the brackets of one array
 * (the first chunk's first row has none before it); 'lines' ends each with a newline (ndjson).
 */
export class JsonRowWriter {
  private readonly keys: Buffer[];
  private written = 0;
  /** The last chunk's size: the next one's buffer starts there, and seldom grows. */
  private lastBytes = 0;

  constructor(
    names: string[],
    private readonly layout: 'array' | 'lines',
  ) {
    this.keys = names.map((name, c) => Buffer.from(`${c === 0 ? '{' : ','}${JSON.stringify(name)}:`));
  }

  /** The rows of `chunk` as UTF-8 bytes. */
  write(chunk: DuckDBDataChunk): Buffer {
    const rows = chunk.rowCount;
    const cells = this.keys.map((_, c) => cellWriter(chunk, c));
    const out = new JsonBytes(Math.max(this.lastBytes, rows * 64));
    for (let row = 0; row < rows; row++) {
      if (this.layout === 'array' && this.written + row > 0) out.byte(COMMA);
      if (this.keys.length === 0) out.byte(0x7b); // {
      for (let c = 0; c < this.keys.length; c++) {
        out.short(this.keys[c]);
        cells[c](out, row);
      }
      out.byte(CLOSE_BRACE);
      if (this.layout === 'lines') out.byte(NEWLINE);
    }
    this.written += rows;
    this.lastBytes = out.length;
    const bytes = out.bytes();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}
