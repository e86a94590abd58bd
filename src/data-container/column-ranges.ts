/**
 * Each column's smallest and largest value in the loaded table (protocol/shards.ts), in one
 * pass at load, so a coordinator can skip parts a filter cannot match. Only types whose order
 * DuckDB compares as values (numbers, text, dates and times, booleans, UUIDs) get a range, and
 * only when both ends are short enough to send around; a column left out has no known range.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from '../duckdb/sql.js';
import type { ColumnRange } from '../protocol/shards.js';
import type { TableColumn } from '../protocol/table-metadata.js';

/** Longest min or max text kept; a longer one leaves the column out. */
export const MAX_RANGE_TEXT = 200;

const ORDERABLE =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|DATE|TIME|TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS|TIMESTAMP WITH TIME ZONE|VARCHAR|BOOLEAN|UUID)$/;

export async function columnRanges(
  con: DuckDBConnection,
  table: string,
  columns: TableColumn[],
): Promise<Record<string, ColumnRange | null>> {
  const ranged = columns.filter((c) => ORDERABLE.test(c.type));
  if (ranged.length === 0) return {};
  // One past the cap: longer than the cap is told apart without moving a long value here.
  const end = (fn: string, c: TableColumn) =>
    `left(${fn}(${quoteIdent(c.name)})::VARCHAR, ${MAX_RANGE_TEXT + 1})`;
  const select = ranged.map((c) => `${end('min', c)}, ${end('max', c)}`).join(', ');
  const reader = await con.runAndReadAll(`SELECT ${select} FROM main.${quoteIdent(table)}`);
  const row = reader.getRows()[0];
  const ranges: Record<string, ColumnRange | null> = {};
  ranged.forEach((c, i) => {
    const [min, max] = [row[2 * i], row[2 * i + 1]] as (string | null)[];
    if (min === null || max === null) ranges[c.name] = null;
    else if (min.length <= MAX_RANGE_TEXT && max.length <= MAX_RANGE_TEXT) {
      ranges[c.name] = { min: literal(min, c.type), max: literal(max, c.type) };
    }
  });
  return ranges;
}

function literal(text: string, type: string): string {
  return `CAST(${quoteLiteral(text)} AS ${type})`;
}
