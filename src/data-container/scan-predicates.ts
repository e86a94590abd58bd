/**
 * The predicates a scan request sends (its where, its key sets' branches, keysFirstBranches),
 * checked by the guard and written anew before any reaches SQL, and bound over the scan's
 * source where they are offered rather than required.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { duckdbErrorToQueryError } from '../duckdb/duckdb-errors.js';
import { quoteIdent } from '../duckdb/sql.js';
import { checkedPredicate } from '../duckdb/sql-guard.js';
import { QueryError, REFUSED_EXPRESSION_KINDS } from '../errors.js';
import { Lru } from '../lru.js';
import type { ParsedScanRequest } from '../protocol/frames.js';
import type { ScanSource } from './prefilter.js';
import type { LoadedTable } from './table.js';

/** `where` as checked and written anew by the guard: the only form spliced into SQL. */
export function checkedWhere(con: DuckDBConnection, table: ScanSource, where: string | undefined) {
  return where === undefined
    ? Promise.resolve(undefined)
    : checkedPredicate(
        con,
        where,
        table.name,
        table.columns.map((c) => c.name),
      );
}

/**
 * The request's where, checked by the guard and, for a `declinable` one, bound over the
 * source once (a source's columns never change): a predicate the guard refuses or this DuckDB
 * cannot bind is left out of a declinable request (the requester applies it itself), and
 * fails a required one.
 */
export async function offeredWhere(
  con: DuckDBConnection,
  source: ScanSource,
  request: ParsedScanRequest,
): Promise<{ where?: string; declined?: string }> {
  try {
    const where = await checkedWhere(con, source, request.where);
    if (where !== undefined && request.declinable) await assertBinds(con, source, where);
    return { where };
  } catch (err) {
    if (!request.declinable || request.where === undefined) throw err;
    return { declined: duckdbErrorToQueryError(err).message };
  }
}

/**
 * Predicates a request sends beside its where (a key set's branches, keysFirstBranches), each
 * checked alone as the where is (so that none can escape its parentheses) and bound over
 * `from`; one refused fails the scan as a bad request that names it (`what(i)`), or, where
 * the request's predicates are offered (`declinable`), leaves them all out (undefined): the
 * codes go unused, a weaker filter the requester's own SQL makes right.
 * Over the rows a prefilter kept, a column they lack stays `unknown_column`: planFiltered then
 * plans over the whole table.
 */
export async function checkedPredicates(
  con: DuckDBConnection,
  table: LoadedTable,
  from: ScanSource,
  wheres: string[],
  what: (i: number) => string,
  declinable: boolean,
): Promise<string[] | undefined> {
  const checked: string[] = [];
  for (const [i, where] of wheres.entries()) {
    try {
      const text = (await checkedWhere(con, from, where)) as string;
      await assertBinds(con, from, text);
      checked.push(text);
    } catch (err) {
      const error = duckdbErrorToQueryError(err);
      if (!REFUSED_EXPRESSION_KINDS.has(error.kind) || (from !== table && error.kind === 'unknown_column'))
        throw error;
      if (declinable) return undefined;
      throw new QueryError('bad_request', `${what(i)}: ${error.message}`);
    }
  }
  return checked;
}

/** Where predicates known to bind, by source and its columns. */
const boundWheres = new Lru<string, true>(256);

async function assertBinds(con: DuckDBConnection, source: ScanSource, where: string): Promise<void> {
  const key = JSON.stringify([source.name, source.columns.map((c) => c.name), where]);
  if (boundWheres.get(key)) return;
  const prepared = await con.prepare(`SELECT 1 FROM ${quoteIdent(source.name)} WHERE ${where}`);
  prepared.destroySync();
  boundWheres.set(key, true);
}
