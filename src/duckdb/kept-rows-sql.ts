/**
 * The query that estimates how many rows of a table a predicate keeps: one row (kept, seen),
 * counted on about one DuckDB row group drawn in whole vectors from all over the table (system
 * sampling reads only those). The first rows alone would misjudge a table sorted by the
 * predicate's column (`created_at > …` over time-ordered rows). Run by a container on its own
 * table (data-container/prefilter.ts) and pushed to one by the coordinator at planning
 * (coordinator/execute/kept-rows.ts).
 */
import { quoteIdent } from './sql.js';

const SAMPLE_ROWS = 122_880;

/** `where` (checked SQL over `table`'s columns) counted on the sample of `table`'s `rowCount` rows. */
export function keptRowsSql(table: string, rowCount: number, where: string): string {
  const percent = (SAMPLE_ROWS / Math.max(rowCount, 1)) * 100;
  const sample = percent < 100 ? ` TABLESAMPLE ${percent.toFixed(6)}% (system, 42)` : '';
  return `SELECT count(*) FILTER (WHERE kept)::DOUBLE AS kept, count(*)::DOUBLE AS seen FROM (SELECT (${where}) AS kept FROM ${quoteIdent(table)}${sample})`;
}

/** The rows of all `rowCount` that `keptRowsSql`'s (kept, seen) stand for. */
export function keptOfAll(kept: number, seen: number, rowCount: number): number {
  return seen === 0 ? 0 : (kept / seen) * rowCount;
}
