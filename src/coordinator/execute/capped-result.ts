/**
 * A JSON answer's rows, computed at most one past the row cap. DuckDB does not count a
 * materialized result against its memory_limit, so a join that explodes (a forgotten join
 * condition) would fill the machine before it got its 413. The query runs as
 * `SELECT * FROM (<sql>) LIMIT cap+1`, which keeps its order, under the query's own column
 * names (the wrapper would rename repeated ones), read from preparing the query first, which
 * also reports its errors at their own positions. SQL holding a `;` runs as it is: one could
 * close the statement inside the parentheses.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { type ChunkSource, deduplicateNames } from '../../duckdb/json-values.js';

export async function runCapped(con: DuckDBConnection, sql: string, maxRows: number): Promise<ChunkSource> {
  if (sql.includes(';')) return con.run(sql);
  const prepared = await con.prepare(sql);
  let names: string[];
  try {
    names = deduplicateNames(Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnName(i)));
  } finally {
    prepared.destroySync();
  }
  const result = await con.run(`SELECT * FROM (\n${sql}\n) LIMIT ${maxRows + 1}`);
  return {
    deduplicatedColumnNames: () => names,
    rowCount: result.rowCount,
    materialized: result,
    fetchChunk: () => result.fetchChunk(),
  };
}
