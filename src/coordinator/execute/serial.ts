/**
 * Runs tasks one at a time, in call order. A DuckDB connection must not run two statements
 * (or append while a statement runs) at once, yet a query gathers several scans into TEMP
 * tables of its one connection concurrently: every use of the connection goes through here.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => T | Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
