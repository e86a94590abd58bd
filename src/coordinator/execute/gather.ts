/**
 * One scan's reply streamed into a TEMP table of the query's connection: the schema frame
 * creates the table, each data frame goes through an appender as DuckDB chunks, the end
 * frame closes it. Columns that travel as text land in a staging table and are cast back.
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBDataChunk } from '@duckdb/node-api';
import type { NatsConnection } from '@nats-io/transport-node';
import { checkWireColumns, reusedChunk, writeWireColumns } from '../../duckdb/columnar.js';
import { quoteIdent } from '../../duckdb/sql.js';
import { QueryError } from '../../errors.js';
import {
  BRANCHES_COLUMN,
  BRANCHES_SCHEMA,
  type ColumnSchema,
  type Frame,
  type KeysFrame,
  type ScanFilter,
  type ScanRequest,
  type SchemaFrame,
  type WireColumn,
} from '../../protocol/frames.js';
import { openHttpScan } from '../../scan-client/http-scan.js';
import { openNatsScan } from '../../scan-client/nats-scan.js';
import { msSince, roundMs } from '../../timing.js';
import type { CatalogTable, Transport } from '../catalog/catalog.js';
import { type ScanTimeline, TimelineRecorder } from './scan-timeline.js';
import type { Serial } from './serial.js';
import { createTempTable } from './temp-table-batch.js';

export interface GatherStats {
  table: string;
  /** The TEMP table it filled, where the table has several scans (one per group of references). */
  scan?: string;
  /** The references that scan is for. */
  references?: string[];
  /** How its rows came: from a container, or from the coordinator's copy (reference-scan.ts). */
  transport: Transport | 'coordinator copy';
  /** Where it was served from: a URL or a NATS subject, or the replica a copy came from. */
  source: string;
  /** The data version of a copy it was served from. */
  version?: string;
  columns: string[];
  /** Expressions it computed and sent as columns (computed-columns.ts), `<expression> AS <column>`. */
  computed?: string[];
  where?: string;
  /** Why the container did not apply the offered `where` (it is applied here). */
  declined?: string;
  /** Each distinct row of its columns once: its references only ask which rows exist. */
  distinct?: true;
  /** Keys of another table that narrowed this scan (semi-join reduction). */
  dynamic_filter?: string;
  /**
   * Where it held its rows and sent its keys first (a two-way semi-join): what narrowed the
   * held rows (keys of tables gathered after it), or why they did not wait.
   */
  held?: string;
  query?: string;
  rows: number;
  bytes: number;
  frames: number;
  /** Time the container spent, and the whole transfer as seen here. */
  container_ms: number;
  ms: number;
  /** The replica that served it (the end frame's NATS service instance id). */
  replica?: string;
  /** When its request, keys, schema, first rows and end went or came (scan-timeline.ts). */
  timeline?: ScanTimeline;
  /** A split table's parts (shards/scatter.ts): what each took, or why it was not asked. */
  parts?: PartStats[];
  /** What the parts computed of an aggregate that was merged here (shards/partial-gather.ts). */
  partial_aggregate?: string;
}

export interface PartStats {
  part: number;
  replica?: string;
  rows: number;
  bytes: number;
  ms: number;
  /** Scans sent: more than 1 where a replica failed and the part was asked again. */
  tries: number;
  /** Why the part was not asked (pruned, or empty). */
  skipped?: string;
}

export interface GatherOptions {
  /** Shared by every gather of one query: they all use the same connection. */
  serial: Serial;
  /** Name the TEMP table's columns c0, c1… (a pushed query's result may repeat names). */
  positional?: boolean;
  nc?: NatsConnection;
  /** Silence after which a container counts as gone (it heartbeats): SILENCE_MS. */
  idleTimeoutMs: number;
  /** performance.now() at which the query's time is up: containers stop their work then. */
  deadline?: number;
  /** performance.now() at the query's gather start, which timelines count from; else the scan's own start. */
  origin?: number;
  signal: AbortSignal;
  /** Called with the rows gathered so far, after each data frame. */
  onRows?: (rows: number) => void;
  /** Makes the filter a request with `awaitFilter` waits for (NATS only); it must not reject. */
  filter?: () => Promise<ScanFilter>;
  /** Told the schema frame (whether the container waits for the filter, `awaitsFilter`). */
  onSchema?: (frame: SchemaFrame) => void;
  /** Makes the filter of the rows a `keysFirst` request holds (NATS only); it must not reject. */
  heldFilter?: () => Promise<ScanFilter>;
}

export function openScan(
  table: CatalogTable,
  request: ScanRequest,
  opts: Pick<GatherOptions, 'nc' | 'idleTimeoutMs' | 'deadline' | 'signal' | 'filter' | 'heldFilter'>,
): AsyncGenerator<Frame> {
  const streamOptions = { idleTimeoutMs: opts.idleTimeoutMs, deadline: opts.deadline, signal: opts.signal };
  // A part holds only some of the rows: a split table is read part by part (scatterInto).
  if (table.parts) {
    throw new QueryError(
      'internal',
      `table ${table.name} is split into ${table.parts.length} parts, and a scan of one part would miss the others' rows`,
    );
  }
  if (table.transport === 'http')
    return openHttpScan(table.location, request, { ...streamOptions, apiKey: table.apiKey });
  if (!opts.nc)
    throw new QueryError('unavailable', `table ${table.name} is served over NATS, but NATS is not connected`);
  // Frames are widened where they arrive (scan-stream.ts): fewer bytes on both hops.
  return openNatsScan(
    opts.nc,
    table.remoteName,
    { ...request, packIntegers: true },
    {
      ...streamOptions,
      filter: opts.filter,
      heldFilter: opts.heldFilter,
      subject: table.location,
    },
  );
}

/** Column names in the TEMP table: the container's, or c0, c1… when a result may repeat names. */
function columnNames(columns: ColumnSchema[], positional: boolean): string[] {
  return columns.map((c, i) => quoteIdent(positional ? `c${i}` : c.name));
}

/** `CREATE TEMP TABLE` for the schema; `text` columns are VARCHAR until cast back. */
function createTargetSql(name: string, columns: ColumnSchema[], positional: boolean): string {
  const names = columnNames(columns, positional);
  const defs = columns.map((c, i) => `${names[i]} ${c.wire === 'text' ? 'VARCHAR' : c.type}`);
  return `CREATE TEMP TABLE ${quoteIdent(name)} (${defs.join(', ')})`;
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

/** Where the frames of one scan go. */
export interface FrameTarget {
  /** The schema frame arrived. */
  open(columns: ColumnSchema[]): Promise<void>;
  /** A data frame arrived, its columns checked. */
  write(columns: WireColumn[], rows: number): Promise<void>;
  /** The end frame arrived (`complete`), or the scan failed: release what `open` took. */
  close(complete: boolean): Promise<void>;
  /** A `keysFirst` scan's keys of one column arrived, checked against its type. */
  keys?(frame: KeysFrame): void;
  /** A `keysFirst` scan's held frame arrived: whether its rows wait for the held filter. */
  held?(waits: boolean): void;
}

/** The stats of a scan of `table` before its first frame. */
export function emptyStats(table: CatalogTable, request: ScanRequest): GatherStats {
  return {
    table: table.name,
    transport: table.transport,
    source: table.location,
    columns: [],
    where: request.where,
    ...(request.distinct && { distinct: true as const }),
    query: request.query,
    rows: 0,
    bytes: 0,
    frames: 0,
    container_ms: 0,
    ms: 0,
  };
}

/** Adds a data frame's rows to `stats`, or an end frame's bytes and container time. */
export function countFrame(stats: GatherStats, frame: Frame): void {
  if (frame.type === 'data') {
    stats.rows += frame.rows;
    stats.frames++;
  } else if (frame.type === 'end') {
    stats.bytes = frame.bytes;
    stats.container_ms = roundMs(frame.ms);
    if (frame.instance) stats.replica = frame.instance;
  }
}

/**
 * Runs `request` against `table`'s container and hands its frames to `target`; `frames`,
 * where the scan was opened already (its schema frame read and handed back first).
 */
export async function gatherFrames(
  table: CatalogTable,
  request: ScanRequest,
  opts: GatherOptions,
  target: FrameTarget,
  frames?: AsyncGenerator<Frame>,
): Promise<GatherStats> {
  const started = performance.now();
  const stats = emptyStats(table, request);
  const timeline = new TimelineRecorder(opts.origin ?? started);
  const { filter, heldFilter } = opts;
  const marked = (make: () => Promise<ScanFilter>, step: 'keys_sent' | 'held_keys_sent') => () =>
    make().then((f) => {
      timeline.mark(step);
      return f;
    });
  const timed: GatherOptions = {
    ...opts,
    ...(filter && { filter: marked(filter, 'keys_sent') }),
    ...(heldFilter && { heldFilter: marked(heldFilter, 'held_keys_sent') }),
  };
  let columns: ColumnSchema[] | undefined;
  try {
    for await (const frame of frames ?? openScan(table, request, timed)) {
      timeline.frame(frame);
      if (frame.type === 'schema') {
        columns = frame.columns;
        if (frame.declined) stats.declined = frame.declined;
        opts.onSchema?.(frame);
        await target.open(columns);
      } else if (frame.type === 'data') {
        await target.write(checkedData(columns, frame.columns, frame.rows, table.name), frame.rows);
        countFrame(stats, frame);
        opts.onRows?.(stats.rows);
      } else if (frame.type === 'keys') {
        target.keys?.(checkedKeys(columns, frame, table.name));
      } else if (frame.type === 'held') {
        target.held?.(frame.waits);
      } else {
        countFrame(stats, frame);
      }
    }
  } catch (err) {
    if (columns) await target.close(false).catch(() => undefined);
    throw inContext(err, table);
  }
  await target.close(true);
  stats.columns = (columns ?? []).map((c) => c.name);
  stats.ms = msSince(started);
  stats.timeline = timeline.timeline;
  return stats;
}

/** Names the table and where it is served in an error that does not say so already. */
export function inContext(err: unknown, table: CatalogTable): unknown {
  if (!(err instanceof QueryError) || err.kind === 'result_too_large' || err.message.includes(table.name))
    return err;
  return new QueryError(err.kind, `table ${table.name} (served at ${table.location}): ${err.message}`);
}

/** A keys frame whose column is one of the scan's, its values in that column's wire form. */
function checkedKeys(columns: ColumnSchema[] | undefined, frame: KeysFrame, table: string): KeysFrame {
  // Branch codes travel in keys frames only, not in the scan's columns.
  const column =
    frame.column === BRANCHES_COLUMN
      ? BRANCHES_SCHEMA
      : columns?.find((c) => c.name.toLowerCase() === String(frame.column).toLowerCase());
  const problem = !column
    ? `column ${JSON.stringify(frame.column)} is none of the scan's`
    : typeof frame.rows !== 'number' || !(frame.values?.data instanceof Uint8Array)
      ? 'it has no rows count or values'
      : checkWireColumns([column], [frame.values], frame.rows);
  if (problem)
    throw new QueryError('protocol_error', `a keys frame of table ${table} is malformed: ${problem}`);
  return frame;
}

export function checkedData(
  columns: ColumnSchema[] | undefined,
  wire: WireColumn[] | undefined,
  rows: number,
  table: string,
): WireColumn[] {
  if (!columns || !wire) {
    throw new QueryError(
      'protocol_error',
      `the data container of table ${table} sent data without columnar payload`,
    );
  }
  const problem = checkWireColumns(columns, wire, rows);
  if (problem)
    throw new QueryError('protocol_error', `a data frame of table ${table} is malformed: ${problem}`);
  return wire;
}

/** Frames into a TEMP table through an appender; text columns through a staging table. */
export class TempTableTarget implements FrameTarget {
  private columns: ColumnSchema[] = [];
  private staging = '';
  private appender: DuckDBAppender | undefined;
  private nextChunk: (() => DuckDBDataChunk) | undefined;

  constructor(
    private readonly con: DuckDBConnection,
    private readonly target: string,
    private readonly opts: Pick<GatherOptions, 'serial' | 'positional'>,
  ) {}

  async open(columns: ColumnSchema[]): Promise<void> {
    this.columns = columns;
    this.staging = columns.some((c) => c.wire === 'text') ? `__staging_${this.target}` : this.target;
    const sql = createTargetSql(this.staging, columns, !!this.opts.positional);
    await createTempTable(this.con, this.opts.serial, sql, async () => {
      const appender = await this.con.createAppender(this.staging, 'main', 'temp');
      this.appender = appender;
      this.nextChunk = reusedChunk(
        Array.from({ length: appender.columnCount }, (_, i) => appender.columnType(i)),
      );
    });
  }

  write(columns: WireColumn[], rows: number): Promise<void> {
    return this.opts.serial.run(() => this.append(columns, rows));
  }

  private append(columns: WireColumn[], rows: number): void {
    const appender = this.appender as DuckDBAppender;
    writeWireColumns(this.columns, columns, rows, this.nextChunk as () => DuckDBDataChunk, (chunk) =>
      appender.appendDataChunk(chunk),
    );
  }

  /** Appends chunks already built with the table's column types. */
  appendChunks(chunks: DuckDBDataChunk[]): Promise<void> {
    const appender = this.appender as DuckDBAppender;
    return this.opts.serial.run(() => {
      for (const chunk of chunks) appender.appendDataChunk(chunk);
    });
  }

  /** Drops what a failed scan left (its table, or its staging table), so it can be gathered again. */
  async discard(): Promise<void> {
    await this.opts.serial.run(async () => {
      for (const name of new Set([this.staging, this.target]))
        if (name) await this.con.run(`DROP TABLE IF EXISTS temp.main.${quoteIdent(name)}`);
    });
  }

  async close(complete: boolean): Promise<void> {
    const appender = this.appender;
    this.appender = undefined;
    await this.opts.serial.run(() => {
      try {
        if (complete) appender?.flushSync();
      } finally {
        appender?.closeSync();
      }
    });
    if (complete && this.staging !== this.target) {
      await this.opts.serial.run(() =>
        castTextColumns(this.con, this.staging, this.target, this.columns, !!this.opts.positional),
      );
    }
  }
}
