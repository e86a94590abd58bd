/**
 * What a query is to the executor (execute.ts) and the doors that run it (HTTP, Postgres, the
 * catalog's own answers): its context, options, open result and stats, and the timeout error.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Admission } from '../../admission.js';
import type { ChunkSource } from '../../duckdb/json-values.js';
import { QueryError } from '../../errors.js';
import type { Catalog } from '../catalog/catalog.js';
import type { ReferenceTables } from '../catalog/reference-tables.js';
import type { AnalysisCache } from '../plan/analysis-cache.js';
import type { CoordinatorEngine } from './engine.js';
import type { GatherStats } from './gather.js';

export interface ExecutorContext {
  engine: CoordinatorEngine;
  analyses: AnalysisCache;
  catalog: Catalog;
  /** Set once connected: the coordinator may start before NATS is up. */
  nc?: NatsConnection;
  /** The NATS server asked for (--nats), connected or not. */
  natsUrl?: string;
  timeoutMs: number;
  pushdown: boolean;
  /** Scans may hold their rows for keys of later scans (held-scans.ts); off where absent. */
  twoWayReductions?: boolean;
  /** Rows past which a scan holds them for keys of later scans; HOLD_ABOVE_ROWS where absent. */
  holdAboveRows?: number;
  /** Rows a reduced scan's own predicate keeps at most to go at once; SEND_AT_ONCE_ROWS where absent. */
  sendAtOnceRows?: number;
  /** The coordinator's copies of small tables (reference-tables.ts); none: every table is scanned. */
  references?: ReferenceTables;
  /** Bounds the queries that run at once, whatever door they came through (HTTP, Postgres). */
  admission: Admission;
}

/** What an answer tells of how it was made; nothing of the host (no name, pid or path). */
export interface QueryStats {
  pushdown: boolean;
  /** The whole query ran in one data container. */
  pushed_whole: boolean;
  /** why filters stayed in the coordinator, where the analysis knows */
  not_pushed: string[];
  tables: GatherStats[];
  analyze_ms: number;
  gather_ms: number;
  execute_ms: number;
}

/** A running query whose result is read by the caller; `close()` must follow. */
export interface OpenQuery {
  result: ChunkSource;
  sourceTables: string[];
  stats: QueryStats;
  started: number;
  /** True once the deadline passed (DuckDB was interrupted). */
  timedOut(): boolean;
  close(): void;
}

export interface OpenOptions {
  /**
   * Run the user's SQL to its end before returning (a JSON answer, whose rows are all read
   * before it starts): DuckDB then fills the result in parallel, in full chunks, where a
   * streamed join hands over many small ones, one thread round trip each.
   */
  materialize?: boolean;
  /**
   * A JSON answer's row cap: a query pushed whole stops gathering past it, and any other
   * computes at most one row more (413 at once).
   */
  maxRows?: number;
  /** Told the rows gathered so far from a table, after each data frame (GET /queries). */
  progress?: (table: string, rows: number) => void;
}

export function timeoutError(timeoutMs: number): QueryError {
  return new QueryError(
    'timeout',
    `the query took longer than ${timeoutMs} ms and was cancelled; raise --timeout-ms (QUERY_TIMEOUT_MS) or narrow the query`,
  );
}
