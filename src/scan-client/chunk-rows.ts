/**
 * NDJSON or CSV rows of frames whose types the wire writer does not write (dates, decimals,
 * nested values…): each frame becomes DuckDB chunks (one memcpy per fixed-width column),
 * written as the coordinator writes answers (JsonRowWriter, CsvRowWriter). Loaded only for
 * such frames: DuckDB takes a while to load.
 */
import { DuckDBInstance, type DuckDBType, VARCHAR } from '@duckdb/node-api';
import { typesOf } from '../coordinator/execute/pushed-result.js';
import { reusedChunk, writeWireColumns } from '../duckdb/columnar.js';
import { CsvRowWriter } from '../duckdb/csv-rows.js';
import { JsonRowWriter } from '../duckdb/json-rows.js';
import type { ColumnSchema, WireColumn } from '../protocol/frames.js';

class ChunkRowWriter {
  private readonly nextChunk: ReturnType<typeof reusedChunk>;

  constructor(
    private readonly columns: ColumnSchema[],
    types: DuckDBType[],
    private readonly rows: CsvRowWriter | JsonRowWriter,
  ) {
    this.nextChunk = reusedChunk(types);
  }

  write(rows: number, columns: WireColumn[]): Buffer {
    const pieces: Buffer[] = [];
    writeWireColumns(this.columns, columns, rows, this.nextChunk, (chunk) =>
      pieces.push(this.rows.write(chunk)),
    );
    return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
  }
}

/** Writes frames of `columns` as NDJSON or CSV rows through DuckDB chunks. */
export async function chunkRowWriter(
  format: 'ndjson' | 'csv',
  columns: ColumnSchema[],
): Promise<(rows: number, wire: WireColumn[]) => Buffer> {
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    // Text columns hold DuckDB's text of the value: VARCHAR here.
    const types = (await typesOf(con, columns)).map((t, i) => (columns[i].wire === 'text' ? VARCHAR : t));
    const names = columns.map((c) => c.name);
    const writer = new ChunkRowWriter(
      columns,
      types,
      format === 'csv' ? new CsvRowWriter() : new JsonRowWriter(names, 'lines'),
    );
    return (rows, wire) => writer.write(rows, wire);
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}
