/**
 * A query pushed whole, streamed to an ndjson or CSV answer as its frames arrive: each data
 * frame becomes DuckDB chunks only when the client reads on, and the container is acked only
 * then, so a result of any size (`SELECT * FROM` a big table) flows through in bounded
 * memory instead of being gathered here first.
 */
import { type DuckDBConnection, DuckDBDataChunk, type DuckDBType } from '@duckdb/node-api';
import { writeWireColumns } from '../../duckdb/columnar.js';
import { type ChunkSource, deduplicateNames } from '../../duckdb/json-values.js';
import type { ColumnSchema, Frame, ScanRequest, WireColumn } from '../../protocol/frames.js';
import { msSince } from '../../timing.js';
import type { CatalogTable } from '../catalog/catalog.js';
import {
  checkedData,
  countFrame,
  emptyStats,
  type GatherOptions,
  type GatherStats,
  inContext,
  openScan,
} from './gather.js';
import { typesOf } from './pushed-result.js';
import type { Serial } from './serial.js';

class PushedStream implements ChunkSource {
  private pending: DuckDBDataChunk[] = [];
  private readonly started = performance.now();

  constructor(
    private readonly table: CatalogTable,
    private readonly frames: AsyncGenerator<Frame>,
    private readonly columns: ColumnSchema[],
    private readonly types: DuckDBType[],
    readonly stats: GatherStats,
  ) {}

  deduplicatedColumnNames(): string[] {
    return deduplicateNames(this.columns.map((c) => c.name));
  }

  columnTypes(): DuckDBType[] {
    return this.types;
  }

  /** The columns as the container sent them (an Arrow answer is written from its frames as they are). */
  wireSchema(): ColumnSchema[] {
    return this.columns;
  }

  /** The next data frame's columns, checked, instead of chunks; null at the end. */
  async nextWireFrame(): Promise<{ rows: number; columns: WireColumn[] } | null> {
    for (;;) {
      const next = await this.frames.next().catch((err: unknown) => {
        throw inContext(err, this.table);
      });
      if (next.done) return null;
      const frame = next.value;
      countFrame(this.stats, frame);
      if (frame.type === 'end') this.stats.ms = msSince(this.started);
      if (frame.type === 'data') {
        return {
          rows: frame.rows,
          columns: checkedData(this.columns, frame.columns, frame.rows, this.table.name),
        };
      }
    }
  }

  async fetchChunk(): Promise<DuckDBDataChunk | null> {
    while (this.pending.length === 0) {
      const next = await this.frames.next().catch((err: unknown) => {
        throw inContext(err, this.table);
      });
      if (next.done) return null;
      const frame = next.value;
      if (frame.type === 'data') {
        const columns = checkedData(this.columns, frame.columns, frame.rows, this.table.name);
        writeWireColumns(
          this.columns,
          columns,
          frame.rows,
          () => DuckDBDataChunk.create(this.types),
          (chunk) => this.pending.push(chunk),
        );
      }
      countFrame(this.stats, frame);
      if (frame.type === 'end') this.stats.ms = msSince(this.started);
    }
    return this.pending.shift() as DuckDBDataChunk;
  }

  /** Stops the scan at the container if it is still running. */
  async close(): Promise<void> {
    await this.frames.return(undefined);
  }
}

export type { PushedStream };

/** The frames of a scan whose schema frame was read already, with that frame first again. */
async function* withFirst(first: Frame, rest: AsyncGenerator<Frame>): AsyncGenerator<Frame> {
  yield first;
  yield* rest;
}

/**
 * Starts the query at `table`'s container and waits for its schema frame, so that a query
 * the container refuses still gets its own status code. Where a column travels as text (a
 * nested type), which only a TEMP table can cast back, the scan's frames are handed back,
 * schema first, for the caller to gather: the query runs once either way.
 */
export async function openPushedStream(
  con: DuckDBConnection,
  serial: Serial,
  table: CatalogTable,
  request: ScanRequest,
  opts: GatherOptions,
): Promise<{ stream: PushedStream } | { frames: AsyncGenerator<Frame> }> {
  const frames = openScan(table, request, opts);
  try {
    const first = await frames.next();
    if (first.done || first.value.type !== 'schema') throw new Error('the scan did not start with a schema');
    const columns = first.value.columns;
    if (columns.some((c) => c.wire === 'text')) return { frames: withFirst(first.value, frames) };
    const types = await serial.run(() => typesOf(con, columns));
    const stats = { ...emptyStats(table, request), columns: columns.map((c) => c.name) };
    return { stream: new PushedStream(table, frames, columns, types, stats) };
  } catch (err) {
    await frames.return(undefined).catch(() => undefined);
    throw inContext(err, table);
  }
}
