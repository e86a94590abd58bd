/**
 * Runs tasks one at a time. A DuckDB connection must not run two statements (or append while
 * a statement runs) at once, yet a query gathers several scans into TEMP tables of its one
 * connection concurrently: every use of the connection goes through here.
 *
 * Tasks run in call order, but those given to `first` run before every task still waiting
 * (after the one running): the reading of keys or a scalar value that a scan waits for, which
 * would otherwise queue behind appends of other scans' frames (and the TEMP tables of scans
 * whose rows cannot come before those keys go). Such a read only reads tables already
 * complete (a source's gather ended, or a copy's view), so no order among tasks it could
 * overtake matters to it.
 */
export class Serial {
  private readonly waiting: (() => Promise<void>)[] = [];
  private readonly urgent: (() => Promise<void>)[] = [];
  private running = false;

  run<T>(task: () => T | Promise<T>): Promise<T> {
    return this.enqueue(this.waiting, task);
  }

  /** Runs `task` before the tasks waiting: a read that a scan waits for. */
  first<T>(task: () => T | Promise<T>): Promise<T> {
    return this.enqueue(this.urgent, task);
  }

  private enqueue<T>(queue: (() => Promise<void>)[], task: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      queue.push(async () => {
        try {
          resolve(await task());
        } catch (err) {
          reject(err);
        }
      });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    // A microtask's delay, as a promise chain would have: tasks asked in the same turn queue first.
    await Promise.resolve();
    for (let next = this.next(); next; next = this.next()) await next();
    this.running = false;
  }

  private next(): (() => Promise<void>) | undefined {
    return this.urgent.shift() ?? this.waiting.shift();
  }
}
