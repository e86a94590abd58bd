/**
 * One scan's reply streamed into a TEMP table of the query's connection: the schema frame
 * creates the table, each data frame goes through an appender as DuckDB chunks, the end
 * frame closes it. Columns that travel as text land in a staging table and are cast back.
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBType } from '@duckdb/node-api';
import type { NatsConnection } from '@nats-io/transport-node';
import { checkWireColumns, writeWireColumns } from '../duckdb/columnar.js';
import { quoteIdent } from '../duckdb/sql.js';
import { QueryError } from '../errors.js';
import type { ColumnSchema, Frame, ScanRequest, WireColumn } from '../protocol/frames.js';
import { openHttpScan } from '../scan-client/http-scan.js';
import { openNatsScan } from '../scan-client/nats-scan.js';
import { msSince, roundMs } from '../timing.js';
import type { CatalogTable, Transport } from './catalog.js';
import type { Serial } from './serial.js';

export interface GatherStats {
  table: string;
  transport: Transport;
  /** Where it was served from: a URL or a NATS subject. */
  source: string;
  columns: string[];
  where?: string;
  /** Keys of another table that narrowed this scan (semi-join reduction). */
  dynamic_filter?: string;
  query?: string;
  rows: number;
  bytes: number;
  frames: number;
  /** Time the container spent, and the whole transfer as seen here. */
  container_ms: number;
  ms: number;
}

export interface GatherOptions {
  /** Shared by every gather of one query: they all use the same connection. */
  serial: Serial;
  /** Name the TEMP table's columns c0, c1… (a pushed query's result may repeat names). */
  positional?: boolean;
  nc?: NatsConnection;
  idleTimeoutMs: number;
  signal: AbortSignal;
}

function openScan(table: CatalogTable, request: ScanRequest, opts: GatherOptions): AsyncGenerator<Frame> {
  const streamOptions = { idleTimeoutMs: opts.idleTimeoutMs, signal: opts.signal };
  if (table.transport === 'http') return openHttpScan(table.location, request, streamOptions);
  if (!opts.nc)
    throw new QueryError('unavailable', `table ${table.name} is served over NATS, but NATS is not connected`);
  return openNatsScan(opts.nc, table.remoteName, request, streamOptions);
}

/** Column names in the TEMP table: the container's, or c0, c1… when a result may repeat names. */
function columnNames(columns: ColumnSchema[], positional: boolean): string[] {
  return columns.map((c, i) => quoteIdent(positional ? `c${i}` : c.name));
}

/** `CREATE TEMP TABLE` for the schema; `text` columns are VARCHAR until cast back. */
async function createTarget(
  con: DuckDBConnection,
  name: string,
  columns: ColumnSchema[],
  positional: boolean,
) {
  const names = columnNames(columns, positional);
  const defs = columns.map((c, i) => `${names[i]} ${c.wire === 'text' ? 'VARCHAR' : c.type}`);
  await con.run(`CREATE TEMP TABLE ${quoteIdent(name)} (${defs.join(', ')})`);
}

async function castTextColumns(
  con: DuckDBConnection,
  staging: string,
  target: string,
  columns: ColumnSchema[],
  positional: boolean,
) {
  const names = columnNames(columns, positional);
  const select = columns
    .map((c, i) => (c.wire === 'text' ? `CAST(${names[i]} AS ${c.type}) AS ${names[i]}` : names[i]))
    .join(', ');
  await con.run(
    `CREATE TEMP TABLE ${quoteIdent(target)} AS SELECT ${select} FROM temp.main.${quoteIdent(staging)}`,
  );
  await con.run(`DROP TABLE temp.main.${quoteIdent(staging)}`);
}

/**
 * Runs `request` against `table`'s container and loads the reply into TEMP table `target`.
 * Column names in the TEMP table are the ones in the schema frame (the container's spelling).
 */
export async function gatherInto(
  con: DuckDBConnection,
  table: CatalogTable,
  request: ScanRequest,
  target: string,
  opts: GatherOptions,
): Promise<GatherStats> {
  const started = performance.now();
  const stats: GatherStats = {
    table: table.name,
    transport: table.transport,
    source: table.location,
    columns: [],
    where: request.where,
    query: request.query,
    rows: 0,
    bytes: 0,
    frames: 0,
    container_ms: 0,
    ms: 0,
  };
  let columns: ColumnSchema[] = [];
  let staging = target;
  let writer: Writer | undefined;
  try {
    for await (const frame of openScan(table, request, opts)) {
      if (frame.type === 'schema') {
        columns = frame.columns;
        staging = columns.some((c) => c.wire === 'text') ? `__staging_${target}` : target;
        writer = await opts.serial.run(async () => {
          await createTarget(con, staging, columns, !!opts.positional);
          const appender = await con.createAppender(staging, 'main', 'temp');
          const types = Array.from({ length: appender.columnCount }, (_, i) => appender.columnType(i));
          return { appender, types };
        });
      } else if (frame.type === 'data') {
        const into = writer;
        await opts.serial.run(() => appendFrame(into, columns, frame.columns, frame.rows, table.name));
        stats.rows += frame.rows;
        stats.frames++;
      } else if (frame.type === 'end') {
        stats.bytes = frame.bytes;
        stats.container_ms = roundMs(frame.ms);
      }
    }
    const done = writer;
    await opts.serial.run(() => done?.appender.flushSync());
  } catch (err) {
    throw inContext(err, table);
  } finally {
    const done = writer;
    await opts.serial.run(() => done?.appender.closeSync());
  }
  if (staging !== target) {
    await opts.serial.run(() => castTextColumns(con, staging, target, columns, !!opts.positional));
  }
  stats.columns = columns.map((c) => c.name);
  stats.ms = msSince(started);
  return stats;
}

/** Names the table and where it is served in an error that does not say so already. */
function inContext(err: unknown, table: CatalogTable): unknown {
  if (!(err instanceof QueryError) || err.message.includes(table.name)) return err;
  return new QueryError(err.kind, `table ${table.name} (served at ${table.location}): ${err.message}`);
}

/** The appender of the TEMP table a scan fills, and its column types for new chunks. */
interface Writer {
  appender: DuckDBAppender;
  types: DuckDBType[];
}

function appendFrame(
  writer: Writer | undefined,
  columns: ColumnSchema[],
  wire: WireColumn[] | undefined,
  rows: number,
  table: string,
): void {
  if (!writer || !wire) {
    throw new QueryError(
      'protocol_error',
      `the data container of table ${table} sent data without columnar payload`,
    );
  }
  const problem = checkWireColumns(columns, wire, rows);
  if (problem)
    throw new QueryError('protocol_error', `a data frame of table ${table} is malformed: ${problem}`);
  writeWireColumns(columns, wire, rows, writer.types, (chunk) => writer.appender.appendDataChunk(chunk));
}
