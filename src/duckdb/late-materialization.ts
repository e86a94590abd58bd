/**
 * DuckDB 1.5.6 plans a plain `LIMIT n` (no ORDER BY) with 50 < n < the table's rows by late
 * materialization: the limit runs over rowids, then a semi join on rowid and a sort by rowid
 * fetch the rows, several times the cost of the plain scan (docs/performance.md), most of a
 * pushed `SELECT … LIMIT 1000000`'s time. Off, a top-N (`ORDER BY … LIMIT ≤ 50`) over a wide
 * table sorts every column instead of rowids (more CPU on wide tables, the same on narrow
 * ones). The setting is per instance and locked with the configuration, so it cannot follow
 * the query. Data containers and the coordinator's DuckDB both turn it off.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

/** For the whole instance of `con`; before the configuration is locked (sandbox.ts). */
export async function disableLateMaterialization(con: DuckDBConnection): Promise<void> {
  await con.run("SET disabled_optimizers = 'late_materialization'");
}
