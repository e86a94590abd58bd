/**
 * A scan's comparisons with pushed scalar subqueries' values (plan.ts `scalars`, pushdown.ts
 * says why they hold) as a predicate its container applies: TPC-H Q22's `c_acctbal > (SELECT
 * avg(c_acctbal) …)` keeps 19k of customer's 42k candidate rows at SF 1, and orders is then
 * keyed by those. Each result is read once its gather ended; its value is written as a
 * literal only where DuckDB casts that text back to the very same value (checked here), and a
 * subquery without a row, or with a NULL, gives `false`. More than one row is DuckDB's error
 * in the coordinator's SQL: no predicate then.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from '../../duckdb/sql.js';
import type { ScalarFilter } from '../plan/analyze/index.js';
import type { Serial } from './serial.js';

/** The predicate of one comparison, or undefined where none is certain. */
async function comparison(con: DuckDBConnection, s: ScalarFilter): Promise<string | undefined> {
  const column = quoteIdent(s.resultColumn);
  const result = `temp.main.${quoteIdent(s.result)}`;
  const read = await con.runAndReadAll(
    `SELECT count(*)::BIGINT, first(${column})::VARCHAR, typeof(first(${column})) FROM ${result}`,
  );
  const [count, text, type] = read.getRows()[0] as [bigint, string | null, string];
  if (count > 1n) return undefined;
  if (count === 0n || text === null) return 'false';
  const literal = `CAST(${quoteLiteral(text)} AS ${type})`;
  const same = await con
    .runAndReadAll(`SELECT ${literal} IS NOT DISTINCT FROM (SELECT ${column} FROM ${result})`)
    .catch(() => undefined);
  if (same?.getRows()[0]?.[0] !== true) return undefined;
  return `(${quoteIdent(s.column)} ${s.op} ${literal})`;
}

/**
 * The AND of `scalars`' predicates once their results are in (`resultIn`: undefined where a
 * result is not gathered in this query); undefined: none.
 */
export async function scalarWhere(
  con: DuckDBConnection,
  serial: Serial,
  scalars: ScalarFilter[],
  resultIn: (result: string) => Promise<unknown> | undefined,
): Promise<string | undefined> {
  const terms: string[] = [];
  for (const s of scalars) {
    const gathering = resultIn(s.result);
    if (!gathering) continue;
    await gathering;
    const term = await serial.first(() => comparison(con, s));
    if (term !== undefined) terms.push(term);
  }
  return terms.length === 0 ? undefined : terms.join(' AND ');
}
