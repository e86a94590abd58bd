/**
 * CSV rows of DuckDB chunks as bytes, as formatRows (row-format.ts) writes them but without
 * row objects: strings are copied from DuckDB's own bytes, other types converted column by
 * column.
 */
import { type DuckDBDataChunk, DuckDBTypeId } from '@duckdb/node-api';
import { ByteBuilder } from '../byte-builder.js';
import { csvField, writeCsvBytes } from '../scan-client/row-format.js';
import { stringSpans } from './columnar.js';
import { columnValues } from './json-values.js';

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
  return (out, row) => out.text(csvField(values[row]));
}

export class CsvRowWriter {
  private lastBytes = 0;

  write(chunk: DuckDBDataChunk): Buffer {
    const cells = Array.from({ length: chunk.columnCount }, (_, c) => csvCell(chunk, c));
    // rowCount is a native call: read once.
    const rows = chunk.rowCount;
    const out = new ByteBuilder(Math.max(this.lastBytes, rows * 32));
    for (let row = 0; row < rows; row++) {
      for (let c = 0; c < cells.length; c++) {
        if (c > 0) out.byte(0x2c);
        cells[c](out, row);
      }
      out.byte(0x0d);
      out.byte(0x0a);
    }
    this.lastBytes = out.length;
    const bytes = out.bytes();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}
