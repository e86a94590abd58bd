/**
 * When the demo ends: on SIGINT (Ctrl-C), SIGTERM, SIGHUP (its terminal closed), or when the
 * process that started it is gone (the demo was re-parented). Its children run in process
 * groups of their own, so that none of these reach them directly: the demo must stop them.
 */

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const PARENT_CHECK_MS = 1_000;

/** Calls `stop` once, with the reason, at the first of those events. */
export function onDemoEnd(stop: (reason: string) => void): void {
  let stopping = false;
  const once = (reason: string) => {
    if (stopping) return; // a second Ctrl-C must not cut the stopping short
    stopping = true;
    clearInterval(watch);
    stop(reason);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => once(signal));
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid !== parent) once(`its parent process ${parent} exited`);
  }, PARENT_CHECK_MS);
  watch.unref();
  // A closed terminal fails every write (EIO, EPIPE): carry on stopping rather than crash.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
}
