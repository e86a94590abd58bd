/**
 * The waiting half of a scan with `awaitFilter`: the coordinator asks at once for a join side
 * whose dynamic filter (the other side's keys) is still being gathered. Meanwhile the
 * container keeps the rows that pass the scan's own predicate in a TEMP table, so that once
 * the filter arrives only those are filtered again: the two tables are scanned side by side
 * instead of one after the other. Where the predicate would keep too many rows, or too large a
 * share of the table (estimated on a sample of it), nothing is kept, and the table is scanned
 * once the filter is in, as it is where the filter comes before the rows are kept (that copy
 * is then interrupted); where it keeps few (`awaitFilterAbove`), the scan does not wait at all.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { keptOfAll, keptRowsSql } from '../duckdb/kept-rows-sql.js';
import { quoteIdent } from '../duckdb/sql.js';
import type { LoadedTable } from './table.js';

/** What a scan reads: the loaded table, or the rows kept from it. */
export type ScanSource = Pick<LoadedTable, 'name' | 'columns' | 'rowCount'>;

const PREFILTERED_TABLE = '__prefiltered';
/** Rows worth keeping: past this, filtering them again would not be much cheaper than a scan. */
const MAX_PREFILTERED_ROWS = 1_000_000;
/**
 * The share of the table worth keeping: copying half of it into a TEMP table costs several
 * times what scanning the other half once more would (Q3's orders: 106–120 ms of CPU to keep
 * 48% of the rows, against 12–18 saved by the filtered scan), on cores the other scans of the
 * query may need.
 */
const MAX_PREFILTERED_SHARE = 0.2;

/** Rows of `source` that `where` (checked already) keeps, estimated on a sample (keptRowsSql). */
export async function estimateRows(
  con: DuckDBConnection,
  source: Pick<ScanSource, 'name' | 'rowCount'>,
  where: string,
): Promise<number> {
  if (source.rowCount === 0) return 0;
  const counted = await con.runAndReadAll(keptRowsSql(source.name, source.rowCount, where));
  const [kept, seen] = counted.getRows()[0].map(Number);
  return keptOfAll(kept, seen, source.rowCount);
}

/**
 * The rows of `table` that pass `where` (checked already; `estimated` rows), as a TEMP table
 * of `con` with the table's columns `columns`; undefined where they would be more than
 * MAX_PREFILTERED_ROWS.
 */
export async function prefilter(
  con: DuckDBConnection,
  table: ScanSource,
  columns: string[],
  where: string,
  estimated: number,
): Promise<ScanSource | undefined> {
  if (
    table.name.toLowerCase() === PREFILTERED_TABLE ||
    estimated > MAX_PREFILTERED_ROWS ||
    estimated > table.rowCount * MAX_PREFILTERED_SHARE
  )
    return undefined;
  const names = [...new Set(columns)];
  const created = await con.runAndReadAll(
    `CREATE TEMP TABLE ${PREFILTERED_TABLE} AS SELECT ${names.map(quoteIdent).join(', ')} FROM ${quoteIdent(table.name)} WHERE ${where}`,
  );
  return {
    name: PREFILTERED_TABLE,
    columns: names.map(
      (name) => table.columns.find((c) => c.name === name) as LoadedTable['columns'][number],
    ),
    rowCount: Number(created.getRows()[0][0]),
  };
}
