/** Which data container is running a scan right now, from its /metrics: to kill one mid-scan. */

/** Scans the container at `httpUrl` is running now; 0 when it does not answer. */
export async function scansInFlight(httpUrl: string): Promise<number> {
  try {
    const text = await (await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(1_000) })).text();
    return Number(/^duckdb_s3_scans_in_flight\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * The index of the first of `httpUrls` seen running a scan (polled every few milliseconds),
 * or undefined when `done()` comes true first.
 */
export async function firstScanning(httpUrls: string[], done: () => boolean): Promise<number | undefined> {
  while (!done()) {
    const counts = await Promise.all(httpUrls.map(scansInFlight));
    const busy = counts.findIndex((n) => n > 0);
    if (busy >= 0 && !done()) return busy;
    await new Promise((r) => setTimeout(r, 5));
  }
  return undefined;
}
