/**
 * A server process logs a promise rejection nothing handled and keeps serving, where Node's
 * default ends the process: one query's stray failure (a derived promise nobody awaited, as
 * key-collector.ts once had) would otherwise fail every query running beside it, and a
 * coordinator's restart costs its catalog and its copies. The query that failed still gets
 * its own error where it awaits its work; the log names the reason, so the stray promise can
 * be found and handled.
 */
import type { Logger } from './log.js';

export function logStrayRejections(log: Logger): void {
  process.on('unhandledRejection', (reason: unknown) => {
    log.error('a promise rejection was not handled; serving on', {
      error: reason instanceof Error ? reason.message : String(reason),
      ...(reason instanceof Error && reason.stack !== undefined && { stack: reason.stack }),
    });
  });
}
