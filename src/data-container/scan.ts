/**
 * Runs one scan request over a loaded table and emits its frames: schema, data…, end — or an
 * error frame. The statement (a plain scan, or a pushed-down query) runs as a DuckDB
 * streaming result: DuckDB's threads produce the next chunk while this one is packed and
 * sent, and memory stays bounded whatever the result's size.
 */
import type { DuckDBConnection, DuckDBDataChunk, DuckDBResult } from '@duckdb/node-api';
import { columnSchemaFor, FrameBuilder } from '../duckdb/columnar.js';
import { duckdbErrorToQueryError } from '../duckdb/duckdb-errors.js';
import { jsonValueConverter } from '../duckdb/json-values.js';
import { quoteIdent } from '../duckdb/sql.js';
import { assertPlainPredicate, assertReadOnlySelect } from '../duckdb/sql-guard.js';
import { QueryError } from '../errors.js';
import type { Encoding } from '../protocol/codec.js';
import {
  type ColumnSchema,
  type Frame,
  type ParsedScanRequest,
  TARGET_FRAME_BYTES,
} from '../protocol/frames.js';
import { errorFrame } from './scan-request.js';
import type { LoadedTable } from './table.js';

/**
 * Where frames go. `send` resolves when the next frame may follow (flow control lives here).
 * A data frame's column buffers are reused for the next frame once `send` resolves: a sink
 * encodes (or copies) the frame before that.
 */
export interface FrameSink {
  send(frame: Frame): Promise<void>;
  /** Largest data frame the transport carries well; frames aim at the smaller of this and TARGET_FRAME_BYTES. */
  readonly maxFrameBytes?: number;
}

/** A statement started as a streaming result. */
interface RunningScan {
  /** Output columns with their original types (`text` ones are VARCHAR on the wire). */
  columns: ColumnSchema[];
  /** The statement as the user would read it, for the schema frame. */
  display: string;
  result: DuckDBResult;
}

/** Resolves requested names to the table's own spelling (DuckDB names are case-insensitive). */
function resolveColumns(table: LoadedTable, requested: string[]): string[] {
  if (requested.length === 0) return table.columns.map((c) => c.name);
  const byLower = new Map(table.columns.map((c) => [c.name.toLowerCase(), c.name]));
  return requested.map((name) => {
    const found = byLower.get(name.toLowerCase());
    if (found === undefined) {
      throw new QueryError(
        'unknown_column',
        `table ${table.name} has no column "${name}"; its columns are: ${table.columns.map((c) => c.name).join(', ')}`,
      );
    }
    return found;
  });
}

/** `sql` with its `text` columns cast to VARCHAR, over positional names c0, c1… (names may repeat). */
function withTextCasts(sql: string, columns: ColumnSchema[]): string {
  const list = columns
    .map((c, i) => `${c.wire === 'text' ? `CAST(c${i} AS VARCHAR)` : `c${i}`} AS ${quoteIdent(c.name)}`)
    .join(', ');
  const positional = columns.map((_, i) => `c${i}`).join(', ');
  return `SELECT ${list} FROM (${sql}\n) AS q(${positional})`;
}

/** The request as one SELECT over this table, checked. */
async function scanStatement(
  con: DuckDBConnection,
  table: LoadedTable,
  request: ParsedScanRequest,
): Promise<string> {
  if (request.query !== undefined) {
    await assertReadOnlySelect(con, request.query, [table.name]);
    return request.query;
  }
  const names = resolveColumns(table, request.columns);
  if (request.where !== undefined) {
    await assertPlainPredicate(
      con,
      request.where,
      table.name,
      table.columns.map((c) => c.name),
    );
  }
  const where = request.where === undefined ? '' : ` WHERE ${request.where}`;
  const limit = request.limit === undefined ? '' : ` LIMIT ${request.limit}`;
  return `SELECT ${names.map(quoteIdent).join(', ')} FROM ${quoteIdent(table.name)}${where}${limit}`;
}

/** Starts the statement; its result's own types tell whether it must start again with casts (rare). */
async function startScan(
  con: DuckDBConnection,
  table: LoadedTable,
  request: ParsedScanRequest,
): Promise<RunningScan> {
  const sql = await scanStatement(con, table, request);
  const result = await con.stream(sql);
  const names = result.columnNames();
  const columns = result.columnTypes().map((t, i) => columnSchemaFor(names[i], t));
  if (!columns.some((c) => c.wire === 'text')) return { columns, display: sql, result };
  // A new statement on the connection abandons the first result.
  return { columns, display: sql, result: await con.stream(withTextCasts(sql, columns)) };
}

/**
 * Sends schema, data…, end — or an error frame — to `sink`. Never throws; stops sending at
 * once when `signal` aborts (the receiver went away or cancelled).
 */
export async function executeScan(
  table: LoadedTable,
  request: ParsedScanRequest,
  encoding: Encoding,
  sink: FrameSink,
  signal: AbortSignal,
): Promise<void> {
  const started = performance.now();
  const con = await table.instance.connect();
  const onAbort = () => con.interrupt();
  signal.addEventListener('abort', onAbort);
  let emitter: FrameEmitter | undefined;
  // The chunk being fetched while the last one is sent; settled before the connection closes.
  let pending: Promise<DuckDBDataChunk | null> | undefined;
  try {
    const scan = await startScan(con, table, request);
    await sink.send({ type: 'schema', seq: 0, columns: scan.columns, sql: scan.display });
    emitter = new FrameEmitter(sink, encoding, scan.columns);
    for (;;) {
      const chunk = await (pending ?? scan.result.fetchChunk());
      if (!chunk || chunk.rowCount === 0) break;
      pending = scan.result.fetchChunk();
      // Its failure is read when it is awaited; until then it must not count as unhandled.
      pending.catch(() => undefined);
      await emitter.emit(chunk);
      if (signal.aborted) return;
    }
    pending = undefined;
    await emitter.finish();
    await sink.send({
      type: 'end',
      seq: emitter.seq,
      rows: emitter.rows,
      bytes: emitter.bytes,
      frames: emitter.frames,
      ms: performance.now() - started,
    });
  } catch (err) {
    if (signal.aborted) return;
    await sink.send(errorFrame(emitter?.seq ?? 0, duckdbErrorToQueryError(err))).catch(() => undefined);
  } finally {
    signal.removeEventListener('abort', onAbort);
    await pending?.catch(() => undefined);
    con.closeSync();
  }
}

/** Turns chunks into data frames of about TARGET_FRAME_BYTES, columnar or JSON rows. */
class FrameEmitter {
  rows = 0;
  bytes = 0;
  frames = 0;
  /** The next frame's number (the schema frame was 0). */
  seq = 1;
  private readonly builder: FrameBuilder | undefined;
  private jsonRows: unknown[][] = [];
  private jsonBytes = 0;
  private readonly targetBytes: number;

  constructor(
    private readonly sink: FrameSink,
    encoding: Encoding,
    columns: ColumnSchema[],
  ) {
    this.targetBytes = Math.min(TARGET_FRAME_BYTES, sink.maxFrameBytes ?? TARGET_FRAME_BYTES);
    if (encoding === 'msgpack') {
      this.builder = new FrameBuilder(
        columns.map((c) => ({ wire: c.wire, width: c.width })),
        this.targetBytes,
      );
    }
  }

  async emit(chunk: DuckDBDataChunk): Promise<void> {
    if (this.builder) {
      this.builder.append(chunk);
      if (this.builder.full) await this.flush();
      return;
    }
    for (const row of chunk.convertRows(jsonValueConverter)) {
      this.jsonRows.push(row as unknown[]);
      this.jsonBytes += JSON.stringify(row).length;
      // JSON text grows on encoding (escapes, brackets): aim at half.
      if (this.jsonBytes >= this.targetBytes / 2) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.builder) {
      if (this.builder.rows === 0) return;
      const bytes = this.builder.byteLength;
      const { rows, columns } = this.builder.take();
      await this.sendData(rows, bytes, { columns });
    } else {
      if (this.jsonRows.length === 0) return;
      const values = this.jsonRows;
      const bytes = this.jsonBytes;
      this.jsonRows = [];
      this.jsonBytes = 0;
      await this.sendData(values.length, bytes, { values });
    }
  }

  private async sendData(
    rows: number,
    bytes: number,
    body: Pick<Frame & { type: 'data' }, 'columns' | 'values'>,
  ) {
    this.rows += rows;
    this.bytes += bytes;
    this.frames++;
    await this.sink.send({ type: 'data', seq: this.seq++, rows, ...body });
  }

  /** Flushes what is left. */
  async finish(): Promise<void> {
    await this.flush();
  }
}
