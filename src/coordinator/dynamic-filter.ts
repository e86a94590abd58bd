/**
 * Dynamic filtering (semi-join reduction, as Trino does it): once a join's filtered side is
 * gathered, the other side's scan is asked only for rows whose key appears among the
 * gathered keys — as an IN list when it is short, else as the keys' min..max range.
 * The analyzer decides where this cannot change a result (analyze/reductions.ts).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from '../duckdb/sql.js';
import type { SemiJoinReduction } from './analyze/index.js';
import type { Serial } from './serial.js';

/** An IN list stays well under NATS's 1 MiB max_payload and quick for DuckDB to parse. */
const MAX_IN_LIST_BYTES = 256 * 1024;
const MAX_IN_LIST_VALUES = 50_000;

const UNQUOTED =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|REAL|DOUBLE|DECIMAL.*)$/i;

export interface DynamicFilter {
  /** SQL over the reduced table's columns. */
  where: string;
  /** For stats: what the filter was made of. */
  description: string;
}

function literal(text: string, type: string): string {
  return UNQUOTED.test(type) ? text : `${quoteLiteral(text)}::${type}`;
}

/**
 * The filter for `reduction.table`, from the keys in the TEMP table already gathered for
 * `reduction.source` on `con`. `type` is the key column's DuckDB type.
 */
export async function dynamicFilter(
  con: DuckDBConnection,
  serial: Serial,
  reduction: SemiJoinReduction,
  type: string,
): Promise<DynamicFilter> {
  const key = quoteIdent(reduction.sourceColumn);
  const source = `temp.main.${quoteIdent(reduction.source)}`;
  const column = quoteIdent(reduction.column);
  const described = `${reduction.source}.${reduction.sourceColumn}`;
  const reader = await serial.run(() =>
    con.runAndReadUntil(
      `SELECT DISTINCT CAST(${key} AS VARCHAR) FROM ${source} WHERE ${key} IS NOT NULL`,
      MAX_IN_LIST_VALUES + 1,
    ),
  );
  const values = reader.getRows().map((r) => String(r[0]));
  if (values.length === 0) return { where: 'false', description: `no keys in ${described}` };
  const inList = values.map((v) => literal(v, type));
  const bytes = inList.reduce((n, v) => n + v.length + 2, 0);
  if (values.length <= MAX_IN_LIST_VALUES && bytes <= MAX_IN_LIST_BYTES) {
    return {
      where: `${column} IN (${inList.join(', ')})`,
      description: `IN ${values.length} keys of ${described}`,
    };
  }
  const range = await serial.run(() =>
    con.runAndReadAll(`SELECT CAST(min(${key}) AS VARCHAR), CAST(max(${key}) AS VARCHAR) FROM ${source}`),
  );
  const [min, max] = range.getRows()[0].map(String);
  return {
    where: `${column} BETWEEN ${literal(min, type)} AND ${literal(max, type)}`,
    description: `range of ${described}`,
  };
}
