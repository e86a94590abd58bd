/**
 * How a server process ends on SIGTERM or SIGINT: `close` (stop taking work, interrupt what
 * runs, close connections) gets a bounded time, and the process exits whatever it has done
 * by then; a second signal exits at once. A query stuck in DuckDB, or a client that holds a
 * connection open, can delay the exit by at most SHUTDOWN_GRACE_MS.
 */
import type { Logger } from './log.js';

export const SHUTDOWN_GRACE_MS = 3_000;

export function onShutdown(log: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info('shutting down', { signal });
    setTimeout(() => {
      log.warn('shutdown took too long; exiting', { ms: SHUTDOWN_GRACE_MS });
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.warn('shutdown failed; exiting', { error: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
