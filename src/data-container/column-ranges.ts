/**
 * Each column's smallest and largest value in the loaded table (protocol/shards.ts), so a
 * coordinator can skip parts a filter cannot match. Only types whose order DuckDB compares as
 * values (numbers, text, dates and times, booleans, UUIDs) get a range, and only when both ends
 * are short enough to send around; a column left out has no known range. Numbers, dates and
 * most times are read from the statistics DuckDB keeps exact while rows are appended (no
 * pass over the rows); the rest take one aggregate pass.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from '../duckdb/sql.js';
import type { ColumnRange } from '../protocol/shards.js';
import type { TableColumn } from '../protocol/table-metadata.js';

/** Longest min or max text kept; a longer one leaves the column out. */
export const MAX_RANGE_TEXT = 200;

/**
 * Types DuckDB's statistics print whole (`stats()`), NaN and infinities included. Not text
 * (a prefix only) nor TIMESTAMP_NS (printed to microseconds).
 */
const IN_STATISTICS =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|DATE|TIME|TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP WITH TIME ZONE|BOOLEAN)$/;
const AGGREGATED = /^(VARCHAR|UUID|TIMESTAMP_NS)$/;
const STATISTICS = /^\[Min: (.*), Max: (.*)\]\[Has Null: (?:true|false), Has No Null: (true|false)\]/;

type Ranges = Record<string, ColumnRange | null>;

export async function columnRanges(
  con: DuckDBConnection,
  table: string,
  columns: TableColumn[],
): Promise<Ranges> {
  const from = `main.${quoteIdent(table)}`;
  const ranges: Ranges = {};
  const unread = await readStatistics(
    con,
    from,
    columns.filter((c) => IN_STATISTICS.test(c.type)),
    ranges,
  );
  const aggregated = [...unread, ...columns.filter((c) => AGGREGATED.test(c.type))];
  await aggregate(con, from, aggregated, ranges);
  // In the table's column order.
  return Object.fromEntries(columns.filter((c) => c.name in ranges).map((c) => [c.name, ranges[c.name]]));
}

/** Fills `ranges` from DuckDB's statistics; the columns whose statistics did not say. */
async function readStatistics(
  con: DuckDBConnection,
  from: string,
  columns: TableColumn[],
  ranges: Ranges,
): Promise<TableColumn[]> {
  if (columns.length === 0) return [];
  const select = columns.map((c) => `stats(${quoteIdent(c.name)})`).join(', ');
  // stats() is a value per row: an empty table has none to say it on.
  const row = (await con.runAndReadAll(`SELECT ${select} FROM ${from} LIMIT 1`)).getRows()[0];
  if (!row) return columns;
  return columns.filter((c, i) => {
    const said = STATISTICS.exec(String(row[i]));
    if (!said) return true;
    const [, min, max, someValue] = said;
    ranges[c.name] = someValue === 'false' ? null : { min: literal(min, c.type), max: literal(max, c.type) };
    return false;
  });
}

/** Fills `ranges` with one pass of min() and max() over `columns`. */
async function aggregate(
  con: DuckDBConnection,
  from: string,
  columns: TableColumn[],
  ranges: Ranges,
): Promise<void> {
  if (columns.length === 0) return;
  // One past the cap: longer than the cap is told apart without moving a long value here.
  const end = (fn: string, c: TableColumn) =>
    `left(${fn}(${quoteIdent(c.name)})::VARCHAR, ${MAX_RANGE_TEXT + 1})`;
  const select = columns.map((c) => `${end('min', c)}, ${end('max', c)}`).join(', ');
  const row = (await con.runAndReadAll(`SELECT ${select} FROM ${from}`)).getRows()[0];
  columns.forEach((c, i) => {
    const [min, max] = [row[2 * i], row[2 * i + 1]] as (string | null)[];
    if (min === null || max === null) ranges[c.name] = null;
    else if (min.length <= MAX_RANGE_TEXT && max.length <= MAX_RANGE_TEXT) {
      ranges[c.name] = { min: literal(min, c.type), max: literal(max, c.type) };
    }
  });
}

function literal(text: string, type: string): string {
  return `CAST(${quoteLiteral(text)} AS ${type})`;
}
