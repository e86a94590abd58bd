/** What keeps a scan's receiver informed and its work bounded, whatever the transport. */
import { QueryError } from '../errors.js';
import { HEARTBEAT_MS } from '../protocol/frames.js';

/** Calls `beat` whenever nothing was sent (`touch`) for about HEARTBEAT_MS, until `stop`. */
export class Heartbeats {
  private last = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(beat: () => void) {
    // Checked twice per period: the receiver hears something at least every 1.5 periods.
    this.timer = setInterval(() => {
      if (performance.now() - this.last < HEARTBEAT_MS) return;
      this.touch();
      beat();
    }, HEARTBEAT_MS / 2);
    this.timer.unref();
  }

  touch(): void {
    this.last = performance.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * A scan's deadline: the requester's remaining time (`timeoutMs` in the request), bounded by
 * the container's own --query-timeout-ms. `expire` is called with the timeout error then.
 */
export class ScanDeadline {
  private readonly timer: NodeJS.Timeout;

  constructor(requested: number | undefined, ownLimitMs: number, expire: (err: QueryError) => void) {
    const ms = Math.min(requested ?? ownLimitMs, ownLimitMs);
    const whose =
      requested !== undefined && requested <= ownLimitMs
        ? "the requester's remaining time"
        : "this data container's --query-timeout-ms";
    this.timer = setTimeout(
      () =>
        expire(
          new QueryError('timeout', `the scan ran past its deadline of ${ms} ms (${whose}) and was stopped`),
        ),
      ms,
    );
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

/** How often an aborted query interrupts its DuckDB connection again, until it has stopped. */
const INTERRUPT_EVERY_MS = 50;

/**
 * Interrupts `con` once `signal` aborts, and again every INTERRUPT_EVERY_MS until the
 * returned function is called: DuckDB's interrupt stops only the statement running at that
 * moment, so repeating it also stops the one that starts next (planning, estimating, a batch).
 */
export function interruptOnAbort(con: { interrupt(): void }, signal: AbortSignal): () => void {
  let repeating: NodeJS.Timeout | undefined;
  const onAbort = () => {
    con.interrupt();
    repeating ??= setInterval(() => con.interrupt(), INTERRUPT_EVERY_MS);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => {
    signal.removeEventListener('abort', onAbort);
    clearInterval(repeating);
  };
}
