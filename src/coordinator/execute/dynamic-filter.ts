/**
 * Dynamic filtering (semi-join reduction, as Trino does it): once a join's filtered side is
 * gathered, the other side's scan is asked only for rows whose key appears among the
 * gathered keys. The keys travel as data (a wire column the container semi-joins against)
 * while they fit in a request; types that travel as text go as an IN list; too many keys
 * become their min..max range. The analyzer decides where this cannot change a result
 * (analyze/reductions.ts).
 */
import type { DuckDBConnection, DuckDBMaterializedResult } from '@duckdb/node-api';
import {
  columnSchemaFor,
  FrameBuilder,
  type WireLayout,
  wireFrames,
  wireLayoutFor,
} from '../../duckdb/columnar.js';
import {
  encodeDeltaKeys,
  encodeDeltaNumbers,
  fixedKeys,
  type IntegerLayout,
  integerLayout,
  integerLayoutNamed,
} from '../../duckdb/delta-keys.js';
import { materializedChunks } from '../../duckdb/json-values.js';
import { quoteIdent, quoteLiteral } from '../../duckdb/sql.js';
import { MAX_SCAN_KEY_BYTES, type ScanKeys, type WireColumn } from '../../protocol/frames.js';
import type { SemiJoinReduction } from '../plan/analyze/index.js';
import { KeyCollector, type KeySet } from './key-collector.js';
import type { LocalRelation } from './local-reduction.js';
import type { Serial } from './serial.js';

/** An IN list stays well under NATS's 1 MiB max_payload and quick for DuckDB to parse. */
const MAX_IN_LIST_BYTES = 256 * 1024;
const MAX_IN_LIST_VALUES = 50_000;

const UNQUOTED =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|REAL|DOUBLE|DECIMAL.*)$/i;

export interface DynamicFilter {
  /** SQL over the reduced table's columns (an IN list, a range, or `false`). */
  where?: string;
  /** The keys as data, in the reduced column's type. */
  keys?: ScanKeys;
  /** For stats: what the filter was made of. */
  description: string;
}

function literal(text: string, type: string): string {
  return UNQUOTED.test(type) ? text : `${quoteLiteral(text)}::${type}`;
}

/** One reduction being built: its keys are in the TEMP table gathered for `reduction.source`. */
interface Reducing {
  con: DuckDBConnection;
  serial: Serial;
  reduction: SemiJoinReduction;
  /** The reduced column's DuckDB type. */
  type: string;
  /** The key column and the table it is read from, as SQL. */
  key: string;
  table: string;
  /** `source.column`, for stats. */
  described: string;
}

/**
 * The filter for `reduction.table`, from the keys gathered for `reduction.source` on `con`.
 * `type` is the reduced column's DuckDB type; the keys take at most `maxKeyBytes` (the rest
 * of a request's budget when several key sets go together). `from` is the source's rows
 * where they are narrowed here first (local-reduction.ts), else its TEMP table.
 */
export async function dynamicFilter(
  con: DuckDBConnection,
  serial: Serial,
  reduction: SemiJoinReduction,
  type: string,
  maxKeyBytes = MAX_SCAN_KEY_BYTES,
  from?: LocalRelation,
): Promise<DynamicFilter> {
  const here = from && from.applied.length > 0 ? ` (narrowed here by ${from.applied.join(', ')})` : '';
  const r: Reducing = {
    con,
    serial,
    reduction,
    type,
    key: quoteIdent(reduction.sourceColumn),
    table: from?.sql ?? `temp.main.${quoteIdent(reduction.source)}`,
    described: `${reduction.source}.${reduction.sourceColumn}${here}`,
  };
  const { key, table, described } = r;
  const local = from && (await localKeys(r, maxKeyBytes));
  if (local) return local;
  // Cast to the reduced column's type: where the join compares values of two types, a key
  // equal to a value there casts to exactly that value, so no matching row is left out.
  // Ascending, for the delta encoding of integer keys.
  const result = await serial.first(() =>
    con.run(
      `SELECT DISTINCT k FROM (SELECT TRY_CAST(${key} AS ${type}) AS k FROM ${table}) WHERE k IS NOT NULL ORDER BY k`,
    ),
  );
  if (result.rowCount === 0) return { where: 'false', description: `no keys in ${described}` };
  const columnType = result.columnTypes()[0];
  const layout = wireLayoutFor(columnType);
  if (layout.wire === 'text') return inListFilter(r);
  const packed = packKeys(result, layout, integerLayout(columnType), maxKeyBytes);
  if (!packed) return rangeFilter(r);
  return {
    keys: { column: reduction.column, rows: result.rowCount, ...packed },
    description: `IN ${result.rowCount} keys of ${described}`,
  };
}

/**
 * The keys of a source read here whole (a coordinator's copy or a side sent at once: few rows
 * by construction), as they are, made distinct and ascending by a KeyCollector as a source's
 * frames are: where they are integers, the same keys as the SQL path's, without DuckDB's
 * DISTINCT and ORDER BY (two more pipelines, each a round of its threads, longer than sorting
 * a few thousand keys here). Undefined for other types, or where they do not fit `maxBytes`
 * (the SQL path answers).
 */
async function localKeys(r: Reducing, maxBytes: number): Promise<DynamicFilter | undefined> {
  const { con, serial, key, table, type, reduction } = r;
  if (!integerLayoutNamed(type)) return undefined;
  const result = await serial.first(() => con.run(`SELECT TRY_CAST(${key} AS ${type}) AS k FROM ${table}`));
  const column = columnSchemaFor('k', result.columnTypes()[0]);
  const collector = KeyCollector.of(column);
  if (!collector) return undefined;
  for (const { rows, columns } of wireFrames(materializedChunks(result), [column], MAX_SCAN_KEY_BYTES))
    collector.add(columns[0], rows);
  collector.end(true);
  const keys = collector.keysAs(type);
  return keys && keysFilter(reduction, keys, maxBytes, r.described);
}

/**
 * The filter of keys read from the source's frames (key-collector.ts): the one the SQL path
 * makes of the same keys, or undefined where they take more than `maxBytes` (the range then
 * comes from the source's TEMP table).
 */
export function keysFilter(
  reduction: SemiJoinReduction,
  keys: KeySet,
  maxBytes: number,
  described = `${reduction.source}.${reduction.sourceColumn}`,
): DynamicFilter | undefined {
  if (keys.rows === 0) return { where: 'false', description: `no keys in ${described}` };
  // Encoded from the Numbers in hand; their fixed layout is made only where it is sent.
  const packed =
    keys.rows > maxBytes
      ? undefined
      : packColumn(
          keys.rows * keys.layout.width,
          () => ({ data: fixedKeys(keys.numbers, keys.layout) }),
          (max) => encodeDeltaNumbers(keys.numbers, keys.layout, max),
          maxBytes,
        );
  if (!packed) return undefined;
  return {
    keys: { column: reduction.column, rows: keys.rows, ...packed },
    description: `IN ${keys.rows} keys of ${described}`,
  };
}

/**
 * The range of keys in hand (a KeySet: integers, ascending) where they are too many to send:
 * for a source whose TEMP table is not there to read it from (it holds its rows).
 */
export function keysRange(reduction: SemiJoinReduction, keys: KeySet): DynamicFilter {
  const described = `${reduction.source}.${reduction.sourceColumn}`;
  if (keys.rows === 0) return { where: 'false', description: `no keys in ${described}` };
  const [min, max] = [keys.numbers[0], keys.numbers[keys.rows - 1]];
  return {
    where: `${quoteIdent(reduction.column)} BETWEEN ${min} AND ${max}`,
    description: `range of ${described}`,
  };
}

/**
 * The keys as one wire column (integers delta-encoded where that is smaller), or undefined
 * when they take more than `maxBytes`.
 */
function packKeys(
  result: DuckDBMaterializedResult,
  layout: WireLayout,
  integer: IntegerLayout | undefined,
  maxBytes: number,
): Pick<ScanKeys, 'values' | 'encoding'> | undefined {
  // A delta-encoded key takes a byte at least.
  if (result.rowCount > maxBytes) return undefined;
  // Integers are packed whole first: their delta form is most often far smaller.
  const limit = integer ? Number.POSITIVE_INFINITY : maxBytes;
  const builder = new FrameBuilder([layout], MAX_SCAN_KEY_BYTES);
  for (const chunk of materializedChunks(result)) {
    builder.append(chunk);
    if (builder.byteLength > limit) return undefined;
  }
  const [column] = builder.take().columns;
  const delta = integer && ((max: number) => encodeDeltaKeys(column.data, result.rowCount, integer, max));
  return packColumn(
    column.data.byteLength + (column.offsets?.byteLength ?? 0),
    () => column,
    delta,
    maxBytes,
  );
}

/**
 * Keys as sent: delta-encoded integers (`delta`, given at most this many bytes) where smaller
 * than their wire column of `bytes` (made by `column`); undefined past `maxBytes`.
 */
function packColumn(
  bytes: number,
  column: () => WireColumn,
  delta: ((maxBytes: number) => Uint8Array | undefined) | undefined,
  maxBytes: number,
): Pick<ScanKeys, 'values' | 'encoding'> | undefined {
  const encoded = delta?.(Math.min(maxBytes, bytes));
  if (encoded) return { values: { data: encoded }, encoding: 'delta' };
  return bytes <= maxBytes ? { values: column() } : undefined;
}

/** Keys of a type that travels as text: an IN list of literals, or the range when long. */
async function inListFilter(r: Reducing): Promise<DynamicFilter> {
  const { con, serial, key, table, type } = r;
  const reader = await serial.first(() =>
    con.runAndReadUntil(
      `SELECT DISTINCT CAST(${key} AS VARCHAR) FROM ${table} WHERE ${key} IS NOT NULL`,
      MAX_IN_LIST_VALUES + 1,
    ),
  );
  const inList = reader.getRows().map((r) => literal(String(r[0]), type));
  const bytes = inList.reduce((n, v) => n + v.length + 2, 0);
  if (inList.length > MAX_IN_LIST_VALUES || bytes > MAX_IN_LIST_BYTES) {
    return rangeFilter(r);
  }
  return {
    where: `${quoteIdent(r.reduction.column)} IN (${inList.join(', ')})`,
    description: `IN ${inList.length} keys of ${r.described}`,
  };
}

async function rangeFilter(r: Reducing): Promise<DynamicFilter> {
  const { con, serial, key, table, type } = r;
  const range = await serial.first(() =>
    con.runAndReadAll(`SELECT CAST(min(${key}) AS VARCHAR), CAST(max(${key}) AS VARCHAR) FROM ${table}`),
  );
  const [min, max] = range.getRows()[0].map(String);
  return {
    where: `${quoteIdent(r.reduction.column)} BETWEEN ${literal(min, type)} AND ${literal(max, type)}`,
    description: `range of ${r.described}`,
  };
}
