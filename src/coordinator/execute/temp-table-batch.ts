/**
 * The TEMP tables of one query's scans, created together: the schema frames of a query's
 * scans come nearly at once, and each CREATE alone is a round trip into DuckDB (a wait for a
 * core on a loaded machine) that the scans' rows, and the keys a chain of reduced scans waits
 * for, queue behind on the query's one connection. Those asked while the connection is busy
 * go in one call, in one transaction; where that fails, each runs alone, so that its error
 * goes to its own scan.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Serial } from './serial.js';

interface Waiting {
  sql: string;
  /** Runs on the connection's turn once the table is made (the appender). */
  then: () => Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

class TempTableBatch {
  private waiting: Waiting[] = [];

  constructor(
    private readonly con: DuckDBConnection,
    private readonly serial: Serial,
  ) {}

  create(sql: string, then: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ sql, then, resolve, reject });
      if (this.waiting.length === 1) void this.serial.run(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting.splice(0);
    const together = batch.length > 1 && (await this.runTogether(batch.map((w) => w.sql)));
    for (const w of batch) {
      try {
        if (!together) await this.con.run(w.sql);
        await w.then();
        w.resolve();
      } catch (err) {
        w.reject(err);
      }
    }
  }

  /** Whether all of `statements` ran, in one transaction; none did otherwise. */
  private async runTogether(statements: string[]): Promise<boolean> {
    try {
      await this.con.run(`BEGIN TRANSACTION; ${statements.join('; ')}; COMMIT`);
      return true;
    } catch {
      await this.con.run('ROLLBACK').catch(() => undefined);
      return false;
    }
  }
}

/** Per query: its Serial stands for its connection. */
const batches = new WeakMap<Serial, TempTableBatch>();

/**
 * Runs `sql` (a CREATE TEMP TABLE on `con`) with the others asked meanwhile, then `then`,
 * both on the connection's turn (`serial`).
 */
export function createTempTable(
  con: DuckDBConnection,
  serial: Serial,
  sql: string,
  then: () => Promise<void>,
): Promise<void> {
  let batch = batches.get(serial);
  if (!batch) {
    batch = new TempTableBatch(con, serial);
    batches.set(serial, batch);
  }
  return batch.create(sql, then);
}
