/**
 * JSON for an HTTP header value. Header values are Latin-1 on the wire and Node refuses any
 * character beyond it, so a column name or predicate in another script would fail the answer:
 * every non-ASCII character goes as a JSON \u escape, which JSON.parse reads back unchanged.
 */
export function headerJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
