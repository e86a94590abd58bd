/** Small SQL text helpers shared by the data container and the coordinator. */

/** A DuckDB identifier, always double-quoted (so keywords and odd names are safe). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A SQL string literal. */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
