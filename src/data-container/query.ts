/** One `POST /query` on a data container: check the SQL, run it, answer in the seed's shape. */
import { duckdbErrorToQueryError } from '../duckdb/duckdb-errors.js';
import { type JsonRow, resultToJson } from '../duckdb/json-values.js';
import { assertReadOnlySelect } from '../duckdb/sql-guard.js';
import { QueryError } from '../errors.js';
import { interruptOnAbort } from './scan-liveness.js';
import { connect, type LoadedTable } from './table.js';

/** What one query may take: `serve --query-timeout-ms` and `--max-json-rows`. */
export interface QueryLimits {
  timeoutMs: number;
  /** Rows one JSON answer may hold; larger results need a LIMIT, an aggregate or a scan. */
  maxRows: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = { timeoutMs: 60_000, maxRows: 100_000 };

export interface QueryAnswer {
  results: JsonRow[];
  columns: string[];
  execution_time_ms: number;
  timestamp: string;
  source_tables: string[];
}

/** What stops one query early besides its own limits. */
export interface QueryControl {
  /** The caller went away (HTTP client disconnected). */
  signal?: AbortSignal;
  /** The requester's remaining time; the container's own timeout still bounds it. */
  timeoutMs?: number;
}

/** Runs `sql`, one read-only SELECT over the table; failures are QueryErrors. */
export async function runQuery(
  table: LoadedTable,
  sql: string,
  limits: QueryLimits = DEFAULT_QUERY_LIMITS,
  control: QueryControl = {},
): Promise<QueryAnswer> {
  const started = performance.now();
  const con = await connect(table);
  const timeoutMs = Math.min(control.timeoutMs ?? limits.timeoutMs, limits.timeoutMs);
  const stop = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort();
  }, timeoutMs);
  const onCallerAbort = () => stop.abort();
  control.signal?.addEventListener('abort', onCallerAbort, { once: true });
  if (control.signal?.aborted) stop.abort();
  const stopInterrupting = interruptOnAbort(con, stop.signal);
  try {
    await assertReadOnlySelect(con, sql, [table.name], { [table.name]: table.columns.map((c) => c.name) });
    const { columns, rows } = await resultToJson(await con.stream(sql), limits.maxRows);
    return {
      results: rows,
      columns,
      execution_time_ms: performance.now() - started,
      timestamp: new Date().toISOString(),
      source_tables: [table.name],
    };
  } catch (err) {
    if (timedOut) {
      throw new QueryError(
        'timeout',
        timeoutMs < limits.timeoutMs
          ? `the query ran past the requester's deadline of ${timeoutMs} ms and was stopped`
          : `the query ran longer than ${limits.timeoutMs} ms and was stopped; raise --query-timeout-ms (QUERY_TIMEOUT_MS) or narrow the query`,
      );
    }
    if (stop.signal.aborted) throw new QueryError('cancelled', 'the client went away; the query was stopped');
    if (err instanceof QueryError && err.kind === 'result_too_large') {
      throw new QueryError(
        'result_too_large',
        `the result has more than ${limits.maxRows} rows, the cap of a JSON answer (--max-json-rows); add a LIMIT or an aggregate, or read the rows with POST /scan`,
      );
    }
    throw duckdbErrorToQueryError(err);
  } finally {
    clearTimeout(timer);
    control.signal?.removeEventListener('abort', onCallerAbort);
    stopInterrupting();
    con.closeSync();
  }
}
