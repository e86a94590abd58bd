/**
 * DuckDB 1.5.6 plans a plain `LIMIT n` (no ORDER BY) with 50 < n < the table's rows by late
 * materialization: the limit runs over rowids, then a semi join on rowid and a sort by rowid
 * fetch the rows. That costs 5× the plain scan at LIMIT 1000 and 40× at LIMIT 1000000 (the
 * setting late_materialization_max_rows, 50, acts as a lower bound there, where for a top-N
 * it is the upper one); a pushed `SELECT … LIMIT 1000000` spent most of its time there. Off,
 * a top-N (`ORDER BY … LIMIT ≤ 50`) over a wide table sorts every column instead of rowids
 * (about twice the CPU on 16 columns; the same on narrow ones). The setting is per instance,
 * and locked with the configuration, so it cannot follow the query: docs/performance.md.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

/** For the whole instance of `con`; before the configuration is locked (sandbox.ts). */
export async function disableLateMaterialization(con: DuckDBConnection): Promise<void> {
  await con.run("SET disabled_optimizers = 'late_materialization'");
}
