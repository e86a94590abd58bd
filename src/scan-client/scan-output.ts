/**
 * What `scan --format` writes from a scan's columnar frames, with no row objects on the way:
 * NDJSON and CSV straight from the wire columns where every type allows (wire-rows.ts), else
 * through DuckDB chunks (one memcpy per fixed-width column) written as the coordinator
 * writes answers (JsonRowWriter, CsvRowWriter);
 * Arrow turns each frame into a record batch. Nested values travel as text, as DuckDB
 * prints them.
 */
import { DuckDBInstance, type DuckDBType, VARCHAR } from '@duckdb/node-api';
import { ArrowStreamEncoder } from '../arrow/arrow-stream.js';
import { typesOf } from '../coordinator/pushed-result.js';
import { reusedChunk, writeWireColumns } from '../duckdb/columnar.js';
import { JsonRowWriter } from '../duckdb/json-rows.js';
import type { ColumnSchema, WireColumn } from '../protocol/frames.js';
import { CsvRowWriter, formatHeader } from './row-format.js';
import { wireRowWriter } from './wire-rows.js';

export type ScanFormat = 'ndjson' | 'csv' | 'arrow';

/** Bytes for stdout: the start, each data frame, the end. */
export interface FrameWriter {
  data(rows: number, columns: WireColumn[]): Buffer;
  end(): Buffer;
}

class ArrowWriter implements FrameWriter {
  constructor(private readonly encoder: ArrowStreamEncoder) {}

  data(rows: number, columns: WireColumn[]): Buffer {
    return this.encoder.batch(rows, columns);
  }

  end(): Buffer {
    return this.encoder.end();
  }
}

/** NDJSON or CSV rows, written from DuckDB chunks that hold a frame's columns. */
class TextWriter implements FrameWriter {
  private readonly nextChunk: ReturnType<typeof reusedChunk>;

  constructor(
    private readonly columns: ColumnSchema[],
    types: DuckDBType[],
    private readonly rows: { write(chunk: Parameters<JsonRowWriter['write']>[0]): Buffer },
  ) {
    this.nextChunk = reusedChunk(types);
  }

  data(rows: number, columns: WireColumn[]): Buffer {
    const pieces: Buffer[] = [];
    writeWireColumns(this.columns, columns, rows, this.nextChunk, (chunk) =>
      pieces.push(this.rows.write(chunk)),
    );
    return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
  }

  end(): Buffer {
    return Buffer.alloc(0);
  }
}

/** The writer for a scan whose schema frame says `columns`, and what goes before the first row. */
export async function frameWriter(
  format: ScanFormat,
  columns: ColumnSchema[],
): Promise<{ writer: FrameWriter; start: Buffer }> {
  if (format === 'arrow')
    return { writer: new ArrowWriter(new ArrowStreamEncoder(columns)), start: Buffer.alloc(0) };
  const names = columns.map((c) => c.name);
  const start = Buffer.from(formatHeader(format, names));
  const direct = wireRowWriter(format, columns);
  if (direct) return { writer: { data: direct, end: () => Buffer.alloc(0) }, start };
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    // Text columns hold DuckDB's text of the value: VARCHAR here.
    const types = (await typesOf(con, columns)).map((t, i) => (columns[i].wire === 'text' ? VARCHAR : t));
    const rows = format === 'csv' ? new CsvRowWriter() : new JsonRowWriter(names, 'lines');
    return { writer: new TextWriter(columns, types, rows), start };
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}
