/**
 * Reads an NDJSON answer as it arrives and hands over rows in batches. A stream that the
 * server cuts (a failure after the first rows) rejects: a cut answer never looks complete.
 */
export async function readNdjson(
  body: ReadableStream<Uint8Array>,
  onRows: (rows: Record<string, unknown>[]) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    const end = pending.lastIndexOf('\n');
    if (end < 0) continue;
    const lines = pending.slice(0, end).split('\n');
    pending = pending.slice(end + 1);
    onRows(lines.filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>));
  }
  pending += decoder.decode();
  if (pending.trim()) onRows([JSON.parse(pending) as Record<string, unknown>]);
}
