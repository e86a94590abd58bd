/**
 * A scan's columns: requested names resolved to the table's own spelling, and the output
 * columns as they travel, described once per table and column list.
 */
import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import { columnSchemaFor } from '../duckdb/columnar.js';
import { duckdbErrorToQueryError } from '../duckdb/duckdb-errors.js';
import { quoteIdent, selectItem } from '../duckdb/sql.js';
import { checkedExpression } from '../duckdb/sql-guard.js';
import { QueryError } from '../errors.js';
import { Lru } from '../lru.js';
import { BRANCHES_COLUMN, type ColumnSchema, type ComputedColumn } from '../protocol/frames.js';
import type { ScanSource } from './prefilter.js';
import type { LoadedTable } from './table.js';

/** The table's own spelling of a column name, if it has that column (DuckDB names are case-insensitive). */
function spelling(table: ScanSource): (name: string) => string | undefined {
  const byLower = new Map(table.columns.map((c) => [c.name.toLowerCase(), c.name]));
  return (name) => byLower.get(name.toLowerCase());
}

/** Resolves requested names to the table's own spelling; every column where none is requested. */
export function resolveColumns(table: ScanSource, requested: string[]): string[] {
  if (requested.length === 0) return table.columns.map((c) => c.name);
  const own = spelling(table);
  return requested.map((name) => {
    const found = own(name);
    if (found === undefined) {
      throw new QueryError(
        'unknown_column',
        `table ${table.name} has no column "${name}"; its columns are: ${table.columns.map((c) => c.name).join(', ')}`,
      );
    }
    return found;
  });
}

/** The names of `requested` the table has, in its own spelling; the others left out. */
export function knownColumns(table: ScanSource, requested: string[]): string[] {
  const own = spelling(table);
  return requested.flatMap((name) => own(name) ?? []);
}

/** A select list over positional names c0, c1… that casts the `text` columns to VARCHAR. */
export function castList(columns: ColumnSchema[]): string {
  return columns
    .map((c, i) => `${c.wire === 'text' ? `CAST(c${i} AS VARCHAR)` : `c${i}`} AS ${quoteIdent(c.name)}`)
    .join(', ');
}

/** A computed column of a request (ScanRequest.computed), its expression checked and written anew. */
export interface CheckedComputed {
  name: string;
  sql: string;
  /** the table's columns it reads, in the table's spelling */
  reads: string[];
}

/**
 * The request's computed columns, each checked as a where predicate is (one expression over
 * the table's columns, written anew by DuckDB), under a name neither the table nor another
 * computed column has.
 */
export async function checkedComputed(
  con: DuckDBConnection,
  table: ScanSource,
  computed: ComputedColumn[] | undefined,
): Promise<CheckedComputed[]> {
  const taken = new Set([...table.columns.map((c) => c.name.toLowerCase()), BRANCHES_COLUMN]);
  const out: CheckedComputed[] = [];
  for (const c of computed ?? []) {
    if (taken.has(c.name.toLowerCase())) {
      throw new QueryError(
        'bad_request',
        `computed column "${c.name}" is named like a column of table ${table.name} or another computed column; give it a name of its own`,
      );
    }
    taken.add(c.name.toLowerCase());
    const what = `computed column "${c.name}"`;
    const checked = await checkedExpression(
      con,
      c.sql,
      table.name,
      table.columns.map((t) => t.name),
      what,
    ).catch((err: unknown) => {
      const refused = duckdbErrorToQueryError(err);
      throw new QueryError(refused.kind, `${what}: ${refused.message}`);
    });
    out.push({ name: c.name, sql: checked.text, reads: knownColumns(table, checked.columns) });
  }
  return out;
}

/**
 * Output columns of a scan of `names` (the table's own spelling) and `computed`, by preparing
 * it, not running it; kept per table, whose columns never change once loaded, so that a
 * repeated scan sends its schema frame without a round trip into DuckDB. The computed
 * expressions are prepared in a WHERE too, where DuckDB's binder refuses aggregates and
 * window functions: a computed column is one value per row.
 */
export async function outputColumns(
  con: DuckDBConnection,
  table: LoadedTable,
  names: string[],
  computed: CheckedComputed[] = [],
): Promise<ColumnSchema[]> {
  let described = describedColumns.get(table);
  if (!described) {
    described = new Lru(MAX_DESCRIBED_SCANS);
    describedColumns.set(table, described);
  }
  const key = JSON.stringify([names, computed.map((c) => [c.name, c.sql])]);
  const known = described.get(key);
  if (known) return known;
  const items = [...names.map(quoteIdent), ...computed.map((c) => selectItem(c.sql, c.name))];
  const oneValue =
    computed.length > 0 ? ` WHERE ${computed.map((c) => `(${c.sql}) IS NULL`).join(' OR ')}` : '';
  const prepared = await con
    .prepare(`SELECT ${items.join(', ')} FROM ${quoteIdent(table.name)}${oneValue}`)
    .catch((err: unknown) => {
      if (computed.length === 0) throw err;
      throw new QueryError(
        'bad_request',
        `the computed columns of this scan of ${table.name} must each be one value per row (no aggregate, no window function): ${duckdbErrorToQueryError(err).message}`,
      );
    });
  try {
    const columns = preparedColumns(prepared);
    described.set(key, columns);
    return columns;
  } finally {
    prepared.destroySync();
  }
}

/** A prepared statement's output columns, as they travel. */
export function preparedColumns(prepared: DuckDBPreparedStatement): ColumnSchema[] {
  return Array.from({ length: prepared.columnCount }, (_, i) =>
    columnSchemaFor(prepared.columnName(i), prepared.columnType(i)),
  );
}

const MAX_DESCRIBED_SCANS = 256;
const describedColumns = new WeakMap<LoadedTable, Lru<string, ColumnSchema[]>>();

export function positional(count: number): string {
  return Array.from({ length: count }, (_, i) => `c${i}`).join(', ');
}
