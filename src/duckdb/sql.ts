/** Small SQL text helpers shared by the data container and the coordinator. */

/** A DuckDB identifier, always double-quoted (so keywords and odd names are safe). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** An expression as a select item named `name`, the expression parenthesized. */
export function selectItem(sql: string, name: string): string {
  return `(${sql}) AS ${quoteIdent(name)}`;
}

/** Predicates joined with AND: `a`, or `(a) AND (b)…` (each may hold an OR). */
export function conjunction(conditions: string[]): string {
  return conditions.length === 1 ? conditions[0] : conditions.map((c) => `(${c})`).join(' AND ');
}

/**
 * A row's branch code (ScanKeys.branches, keysFirstBranches): bit i set where `branches[i]`
 * is TRUE on the row (NULL counts as not), a UTINYINT (MAX_BRANCHES: 8 at most).
 */
export function branchCode(branches: readonly string[]): string {
  return `CAST(${branches.map((b, i) => `(((${b}) IS TRUE)::INTEGER << ${i})`).join(' | ')} AS UTINYINT)`;
}

/** A SQL string literal. */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
