/**
 * A scan's columns: requested names resolved to the table's own spelling, and the output
 * columns as they travel, described once per table and column list.
 */
import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import { columnSchemaFor } from '../duckdb/columnar.js';
import { quoteIdent } from '../duckdb/sql.js';
import { QueryError } from '../errors.js';
import { Lru } from '../lru.js';
import type { ColumnSchema } from '../protocol/frames.js';
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

/**
 * Output columns of a scan of `names` (the table's own spelling), by preparing it, not
 * running it; kept per table, whose columns never change once loaded, so that a repeated scan
 * sends its schema frame without a round trip into DuckDB.
 */
export async function outputColumns(
  con: DuckDBConnection,
  table: LoadedTable,
  names: string[],
): Promise<ColumnSchema[]> {
  let described = describedColumns.get(table);
  if (!described) {
    described = new Lru(MAX_DESCRIBED_SCANS);
    describedColumns.set(table, described);
  }
  const key = JSON.stringify(names);
  const known = described.get(key);
  if (known) return known;
  const prepared = await con.prepare(
    `SELECT ${names.map(quoteIdent).join(', ')} FROM ${quoteIdent(table.name)}`,
  );
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
