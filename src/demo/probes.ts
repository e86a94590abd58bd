/** HTTP readiness checks: a status code, or 0 when nothing answers. */
export async function httpStatus(url: string, init?: RequestInit): Promise<number> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** True when `query` answers 200 at the coordinator. */
export async function queryAnswers(coordinator: string, query: string): Promise<boolean> {
  const status = await httpStatus(`${coordinator}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return status === 200;
}
