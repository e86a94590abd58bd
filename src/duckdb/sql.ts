/** Small SQL text helpers shared by the data container and the coordinator. */

/** A DuckDB identifier, always double-quoted (so keywords and odd names are safe). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Predicates joined with AND: `a`, or `(a) AND (b)…` (each may hold an OR). */
export function conjunction(conditions: string[]): string {
  return conditions.length === 1 ? conditions[0] : conditions.map((c) => `(${c})`).join(' AND ');
}

/** A SQL string literal. */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
