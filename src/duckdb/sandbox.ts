/** The lockdown every DuckDB instance gets once its data is in (DESIGN.md, NATS section). */
import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * Turns external access off and locks the configuration, for every connection of the
 * instance: no statement can read or write files, attach databases or load extensions, and
 * no later SET can undo this. Temp tables, inserts and appenders keep working.
 */
export async function lockDown(con: DuckDBConnection): Promise<void> {
  await con.run('SET enable_external_access = false');
  await con.run('SET lock_configuration = true');
}
