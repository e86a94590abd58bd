/** One `POST /query` on a data container: check the SQL, run it, answer in the seed's shape. */
import { duckdbErrorToQueryError } from '../duckdb/duckdb-errors.js';
import { type JsonRow, resultToJson } from '../duckdb/json-values.js';
import { assertReadOnlySelect } from '../duckdb/sql-guard.js';
import { QueryError } from '../errors.js';
import { connect, type LoadedTable } from './table.js';

/** Rows one JSON answer may hold; larger results need a LIMIT, an aggregate or a scan. */
export const MAX_JSON_ROWS = 100_000;
export const QUERY_TIMEOUT_MS = 60_000;

export interface QueryAnswer {
  results: JsonRow[];
  columns: string[];
  execution_time_ms: number;
  timestamp: string;
  source_tables: string[];
}

/** Runs `sql`, one read-only SELECT over the table; failures are QueryErrors. */
export async function runQuery(table: LoadedTable, sql: string): Promise<QueryAnswer> {
  const started = performance.now();
  const con = await connect(table);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    con.interrupt();
  }, QUERY_TIMEOUT_MS);
  try {
    await assertReadOnlySelect(con, sql, [table.name], { [table.name]: table.columns.map((c) => c.name) });
    const { columns, rows } = await resultToJson(await con.stream(sql), MAX_JSON_ROWS);
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
        `the query ran longer than ${QUERY_TIMEOUT_MS / 1000} s and was stopped`,
      );
    }
    throw duckdbErrorToQueryError(err);
  } finally {
    clearTimeout(timer);
    con.closeSync();
  }
}
