/**
 * Connections opened one step ahead. Opening one is a round trip through libuv's thread pool
 * (~0.3 ms on a busy 2-core machine), which a quick query would otherwise wait for at its
 * start. Each connection still serves one query or scan and is closed after it: only its
 * opening moves off the query's path.
 */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export class FreshConnections {
  private next: Promise<DuckDBConnection> | undefined;
  private refilling = false;
  private closed = false;

  constructor(private readonly instance: DuckDBInstance) {}

  /** A connection no one has used; the next one starts opening at the end of this turn. */
  take(): Promise<DuckDBConnection> {
    const taken = this.next ?? this.instance.connect();
    this.next = undefined;
    if (!this.refilling) {
      this.refilling = true;
      // Not at once: the query's own first steps (its scans' requests) go first.
      setImmediate(() => {
        this.refilling = false;
        if (this.closed) return;
        this.next ??= this.instance.connect();
        // A failure reaches whoever takes it.
        this.next.catch(() => undefined);
      });
    }
    return taken;
  }

  /** Closes the connection opened ahead, if any; call before closing the instance. */
  async close(): Promise<void> {
    this.closed = true;
    const next = this.next;
    this.next = undefined;
    (await next?.catch(() => undefined))?.closeSync();
  }
}
