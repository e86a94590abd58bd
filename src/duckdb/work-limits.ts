import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral } from './sql.js';

/**
 * DuckDB's memory_limit and worker threads, where given (DuckDB's defaults otherwise: 80% of
 * the machine's or the cgroup's memory, a thread per core); before lockDown, which freezes
 * settings.
 */
export async function limitMemoryAndThreads(
  con: DuckDBConnection,
  limits: { memoryLimit?: string; threads?: number },
): Promise<void> {
  if (limits.memoryLimit) await con.run(`SET memory_limit = ${quoteLiteral(limits.memoryLimit)}`);
  if (limits.threads) await con.run(`SET threads = ${limits.threads}`);
}
