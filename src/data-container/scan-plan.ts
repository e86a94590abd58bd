/**
 * The plan of one scan request over a loaded table (or over rows a prefilter kept of it): the
 * SELECT it runs, with its predicate, its key sets joined (their codes matched, their branches
 * met) and its held rows' branch codes, or a pushed-down query, started; and the columns it
 * sends. scan.ts reads and sends its rows.
 */
import { type DuckDBConnection, type DuckDBResult, UTINYINT } from '@duckdb/node-api';
import { columnSchemaFor } from '../duckdb/columnar.js';
import { branchCode, conjunction, quoteIdent, selectItem } from '../duckdb/sql.js';
import { assertReadOnlySelect } from '../duckdb/sql-guard.js';
import { QueryError } from '../errors.js';
import { BRANCHES_COLUMN, type ColumnSchema, keySets, type ParsedScanRequest } from '../protocol/frames.js';
import { estimateRows, type ScanSource } from './prefilter.js';
import {
  castList,
  checkedComputed,
  outputColumns,
  positional,
  preparedColumns,
  resolveColumns,
} from './scan-columns.js';
import { CODE_COLUMN, KEY_COLUMN, type LoadedKeys, ScanKeyTables } from './scan-keys.js';
import { checkedPredicates, offeredWhere } from './scan-predicates.js';
import type { LoadedTable } from './table.js';

/** A pushed query whose LIMIT is at most this (one DuckDB vector) is materialized, not streamed. */
const SMALL_RESULT_ROWS = 2048;

export interface PlanBase {
  /** Output columns with their original types (`text` ones are VARCHAR on the wire). */
  columns: ColumnSchema[];
  /** The statement as the user would read it, for the schema frame. */
  display: string;
  /** Why a `declinable` request's where (and limit) is not applied. */
  declined?: string;
  /**
   * The last of `columns` is BRANCHES_COLUMN, the codes of the rows a `keysFirst` scan holds
   * (keysFirstBranches): they go in keys frames only, never in the schema or the data.
   */
  branched?: boolean;
}

/** A plain scan, read in rowid batches, or in one query where it returns few rows. */
export interface BatchedPlan extends PlanBase {
  kind: 'batched';
  /** The table scanned: its rowids run 0..rowCount-1. */
  source: ScanSource;
  /** Rows the scan's condition (predicate, keys) keeps, estimated once; every row without one. */
  keptRows(): Promise<number>;
  /** Whether keys narrow it: a semi-join reduction, which most often keeps few rows. */
  keyed: boolean;
  limit?: number;
  /** The scan over rowids [lo, hi), or over the whole table without them. */
  batchSql(range?: { lo: number; hi: number }, limit?: number): string;
}

/** A pushed-down query, started: its rows stream as DuckDB produces them. */
export interface QueryPlan extends PlanBase {
  kind: 'query';
  result: DuckDBResult;
}

export type ScanPlan = BatchedPlan | QueryPlan;

/**
 * For the `i`th joined keys table carrying codes: its codes equal to those of the first one
 * joined before it in its group (ScanKeys.match), as an ON condition.
 */
function sameCodes(joins: NonNullable<LoadedKeys['join']>[], i: number): string {
  const { group, keys } = joins[i];
  const first = group === undefined ? undefined : joins.find((j) => j.group === group);
  return first && first !== joins[i] ? ` AND ${keys}.${CODE_COLUMN} = ${first.keys}.${CODE_COLUMN}` : '';
}

/**
 * For a joined keys table with ScanKeys.branches: some bit i of its key's code set where
 * `branches[i]` is TRUE on the row, as an ON condition (a NULL predicate keeps nothing). A
 * CASE, not an OR: DuckDB derives from an OR of ANDs a filter of the table's own columns and
 * pushes it into the scan beside the request's where, which then tests it twice (Q19's
 * lineitem: a quarter more scan time); a CASE it leaves to the few rows the join keeps.
 */
function branchesMet(join: NonNullable<LoadedKeys['join']>): string {
  if (!join.branches) return '';
  const code = `${join.keys}.${CODE_COLUMN}`;
  const met = join.branches.map((w, i) => `WHEN (${code} & ${1 << i}) <> 0 AND (${w}) THEN true`);
  return ` AND (CASE ${met.join(' ')} ELSE false END)`;
}

/**
 * The plan of `request` over `table`, or over `from`: rows kept from it (prefilter.ts), whose
 * columns are some of the table's, with the same types. Its keys go to `keyTables`.
 * `declinable`: the predicates beside its where are offered, not required (a request's
 * `declinable`, kept for the plan of its awaited filter).
 */
export async function planScan(
  con: DuckDBConnection,
  table: LoadedTable,
  request: ParsedScanRequest,
  from: ScanSource = table,
  keyTables = new ScanKeyTables(con, table.name),
  declinable = request.declinable === true,
): Promise<ScanPlan> {
  if (request.query !== undefined) {
    if (request.keys || request.awaitFilter)
      throw new QueryError('bad_request', 'keys and filters narrow a column scan; a query filters itself');
    if (request.distinct)
      throw new QueryError(
        'bad_request',
        'distinct applies to a column scan; a query says SELECT DISTINCT itself',
      );
    if (request.computed)
      throw new QueryError('bad_request', 'computed columns go with a column scan; a query computes its own');
    return planQuery(con, table, request.query);
  }
  if (request.keys && request.awaitFilter) {
    throw new QueryError('bad_request', 'send keys either in the request or in the awaited filter, not both');
  }
  const names = resolveColumns(from, request.columns);
  const computed = await checkedComputed(con, from, request.computed);
  const { where, declined } = await offeredWhere(con, from, request);
  // A limit counts the rows the where keeps: it goes where the where goes.
  const limit = declined ? undefined : request.limit;
  const distinct = request.distinct ? 'DISTINCT ' : '';
  const source = quoteIdent(from.name);
  // The held rows' codes (keysFirstBranches), where the rows may be held (no limit; binary
  // mode: executeScan), a select item.
  const coded =
    request.keysFirst && request.keysFirstBranches && limit === undefined
      ? await checkedPredicates(
          con,
          table,
          from,
          request.keysFirstBranches,
          (i) => `keysFirstBranches[${i}]`,
          declinable,
        )
      : undefined;
  const codes = coded && `${branchCode(coded)} AS ${quoteIdent(BRANCHES_COLUMN)}`;
  const described = await outputColumns(con, table, names, computed);
  const columns = codes ? [...described, columnSchemaFor(BRANCHES_COLUMN, UTINYINT)] : described;
  const casts = castList(columns);
  const conditions = where === undefined ? [] : [where];
  const keys = keySets(request.keys);
  // Every key column resolved before any keys table is made: a retry over the whole table
  // (planFiltered) must find none.
  const keyColumns =
    keys.length > 0
      ? resolveColumns(
          from,
          keys.map((k) => k.column),
        )
      : [];
  const branches: (string[] | undefined)[] = [];
  for (const set of keys) {
    const what = (i: number) => `keys.branches.where[${i}] (the keys of ${set.column})`;
    branches.push(
      set.branches && (await checkedPredicates(con, table, from, set.branches.where, what, declinable)),
    );
  }
  const loaded: LoadedKeys[] = [];
  for (const [i, set] of keys.entries()) {
    loaded.push(await keyTables.semiJoin(keyColumns[i], set, where !== undefined, branches[i]));
  }
  // Every condition, for the estimate; the scan itself joins the distinct key sets (their codes
  // matched, their branches met), unless the table has a column named like the keys tables'
  // own: a predicate naming it would then be ambiguous (the keys then only semi-join, their
  // codes unused: a weaker filter, which the requester's own re-check makes right).
  const filter =
    conditions.length + loaded.length > 0
      ? conjunction([...conditions, ...loaded.map((l) => l.condition)])
      : undefined;
  const joinable = !from.columns.some((c) => [KEY_COLUMN, CODE_COLUMN].includes(c.name.toLowerCase()));
  const joins = loaded.flatMap((l) => (joinable && l.join ? [l.join] : []));
  conditions.push(...loaded.flatMap((l) => (joinable && l.join ? [] : [l.condition])));
  // Beside a keys table, the table's own columns (rowid too) are named with the table's name.
  const own = (name: string) => (joins.length > 0 ? `${source}.${name}` : name);
  // Predicates (where, branches) and computed columns stay unqualified: the keys tables'
  // columns are not the table's.
  const items = [
    ...names.map((n) => own(quoteIdent(n))),
    ...computed.map((c) => selectItem(c.sql, c.name)),
    ...(codes ? [codes] : []),
  ];
  const select = `SELECT ${distinct}${items.join(', ')} FROM ${source}${joins
    .map(
      (j, i) =>
        ` JOIN ${j.keys} ON ${own(quoteIdent(j.column))} = ${j.keys}.${KEY_COLUMN}${sameCodes(joins, i)}${branchesMet(j)}`,
    )
    .join('')}`;
  const limitText = limit !== undefined ? ` LIMIT ${limit}` : '';
  const whereOf = (range?: { lo: number; hi: number }) => {
    const rowids = range ? [`${own('rowid')} >= ${range.lo} AND ${own('rowid')} < ${range.hi}`] : [];
    const all = [...rowids, ...conditions];
    return all.length > 0 ? ` WHERE ${all.map((c) => `(${c})`).join(' AND ')}` : '';
  };
  const display = `${select}${whereOf()}${limitText}`;
  let kept: Promise<number> | undefined;
  return {
    kind: 'batched',
    ...(declined && { declined }),
    ...(codes && { branched: true }),
    source: from,
    keptRows: () => {
      kept ??= filter === undefined ? Promise.resolve(from.rowCount) : estimateRows(con, from, filter);
      return kept;
    },
    keyed: keys.length > 0,
    limit,
    columns,
    display,
    batchSql: (range, limit) =>
      `SELECT ${casts} FROM (${select}${whereOf(range)}${
        limit !== undefined ? ` LIMIT ${limit}` : ''
      }) AS q(${positional(columns.length)})`,
  };
}

/**
 * A whole SELECT over this table, checked read-only, and started. Streamed: its result may be
 * far larger than the table (a self-join), and streaming holds only what the receiver has
 * not taken yet, and stops when it cancels. A result its LIMIT keeps within one vector is
 * materialized instead, in one call into DuckDB where a stream takes five (parse, prepare,
 * execute, fetch, the fetch that finds the end), each a round trip through libuv's thread
 * pool; its frames then leave together. That is the quick top-N's case.
 */
async function planQuery(con: DuckDBConnection, table: ScanSource, query: string): Promise<QueryPlan> {
  const { maxRows } = await assertReadOnlySelect(con, query, [table.name]);
  const small = maxRows !== undefined && maxRows <= SMALL_RESULT_ROWS;
  // Prepared, not started: its types tell whether it must run with casts, and it runs once.
  const start = async (sql: string) => {
    const prepared = await con.prepare(sql);
    try {
      const columns = preparedColumns(prepared);
      if (columns.some((c) => c.wire === 'text')) return { columns };
      return { columns, result: await (small ? prepared.run() : prepared.stream()) };
    } finally {
      prepared.destroySync();
    }
  };
  const asIs = await start(query);
  const plan = { kind: 'query' as const, columns: asIs.columns, display: query };
  if (asIs.result) return { ...plan, result: asIs.result };
  const cast = `SELECT ${castList(asIs.columns)} FROM (${query}\n) AS q(${positional(asIs.columns.length)})`;
  const withCasts = await start(cast);
  if (!withCasts.result)
    throw new QueryError('internal', 'a cast to VARCHAR still gave a column that travels as text');
  return { ...plan, result: withCasts.result };
}
