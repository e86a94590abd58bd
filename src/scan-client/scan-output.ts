/**
 * What `scan --format` writes from a scan's columnar frames, with no row objects on the way:
 * NDJSON and CSV straight from the wire columns where every type allows (wire-rows.ts), else
 * through DuckDB chunks (chunk-rows.ts); Arrow turns each frame into a record batch. Nested
 * values travel as text, as DuckDB prints them. The Arrow library and DuckDB are loaded only
 * by the scans that need them: loading them takes longer than a small scan.
 */
import type { ColumnSchema, WireColumn } from '../protocol/frames.js';
import { formatHeader } from './row-format.js';
import { wireRowWriter } from './wire-rows.js';

export type ScanFormat = 'ndjson' | 'csv' | 'arrow';

/** Bytes for stdout: the start, each data frame, the end, in pieces to write in order. */
export interface FrameWriter {
  /** A frame's bytes, which the next call (or the next frame's columns) may overwrite: write them out first. */
  data(rows: number, columns: WireColumn[]): Buffer[];
  end(): Buffer[];
}

/** The writer for a scan whose schema frame says `columns`, and what goes before the first row. */
export async function frameWriter(
  format: ScanFormat,
  columns: ColumnSchema[],
): Promise<{ writer: FrameWriter; start: Buffer }> {
  if (format === 'arrow') {
    const { ArrowStreamEncoder } = await import('../arrow/arrow-stream.js');
    const encoder = new ArrowStreamEncoder(columns);
    return {
      writer: { data: (rows, wire) => encoder.batch(rows, wire), end: () => encoder.end() },
      start: Buffer.alloc(0),
    };
  }
  const start = Buffer.from(
    formatHeader(
      format,
      columns.map((c) => c.name),
    ),
  );
  const data =
    wireRowWriter(format, columns) ??
    (await (await import('./chunk-rows.js')).chunkRowWriter(format, columns));
  return { writer: { data: (rows, wire) => [data(rows, wire)], end: () => [] }, start };
}
