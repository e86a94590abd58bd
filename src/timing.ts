/** Milliseconds as answers and logs report them: to a tenth. */
export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Milliseconds since `started` (a `performance.now()` reading), rounded as roundMs. */
export function msSince(started: number): number {
  return roundMs(performance.now() - started);
}
