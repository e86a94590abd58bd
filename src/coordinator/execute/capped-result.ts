/**
 * A JSON answer's rows, computed at most one past the row cap. DuckDB does not count a
 * materialized result against its memory_limit, so a join that explodes (a forgotten join
 * condition) would fill the machine before it got its 413. The query runs as
 * `SELECT * FROM (<sql>) LIMIT cap+1`, which keeps its order. The wrapper names repeated
 * columns anew (`x`, `x` become `x`, `x_1`), so its names are the query's own only where none
 * ends in `_<digits>`; otherwise the query is prepared alone for them (planned a second time,
 * as every query was before). An error is the query's own, at its own position: where the
 * wrapper fails, the query alone is prepared, and its error thrown. SQL holding a `;` runs as
 * it is: one could close the statement inside the parentheses.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { type ChunkSource, deduplicateNames } from '../../duckdb/json-values.js';

/** How the wrapper's star renames a repeated column name. */
const RENAMED = /_\d+$/;

/** The query's output names, by preparing it (its binder errors thrown at their own positions). */
async function ownNames(con: DuckDBConnection, sql: string): Promise<string[]> {
  const prepared = await con.prepare(sql);
  try {
    return Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnName(i));
  } finally {
    prepared.destroySync();
  }
}

export async function runCapped(con: DuckDBConnection, sql: string, maxRows: number): Promise<ChunkSource> {
  if (sql.includes(';')) return con.run(sql);
  const result = await con
    .run(`SELECT * FROM (\n${sql}\n) LIMIT ${maxRows + 1}`)
    .catch(async (err: unknown) => {
      await ownNames(con, sql);
      throw err;
    });
  const wrapped = result.columnNames();
  const names = deduplicateNames(wrapped.some((n) => RENAMED.test(n)) ? await ownNames(con, sql) : wrapped);
  return {
    deduplicatedColumnNames: () => names,
    rowCount: result.rowCount,
    materialized: result,
    fetchChunk: () => result.fetchChunk(),
  };
}
