/**
 * Whether a DuckDB instance still answers: `SELECT 1` on a fresh connection within a short
 * deadline. /health uses it, so that a process whose query path is stuck (every thread of
 * libuv's pool held, DuckDB wedged) says so instead of `ok`. One probe at a time: callers
 * that come while one runs share its answer.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

export const PROBE_TIMEOUT_MS = 2_000;

export class QueryPathProbe {
  private pending: Promise<boolean> | undefined;

  constructor(
    private readonly connect: () => Promise<DuckDBConnection>,
    private readonly timeoutMs = PROBE_TIMEOUT_MS,
  ) {}

  answers(): Promise<boolean> {
    this.pending ??= this.probe().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async probe(): Promise<boolean> {
    const ran = (async () => {
      const con = await this.connect();
      try {
        await con.run('SELECT 1');
        return true;
      } finally {
        con.closeSync();
      }
    })().catch(() => false);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.timeoutMs);
    });
    try {
      return await Promise.race([ran, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
