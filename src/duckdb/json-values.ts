/**
 * DuckDB results as JSON answers, no value silently changed: integers beyond ±(2^53-1) and
 * DECIMALs as strings, DATE/TIME/TIMESTAMP as ISO-8601 text, NaN/Infinity as strings,
 * NULL as null, lists and structs as JSON arrays and objects.
 */
import {
  type DuckDBDataChunk,
  DuckDBMaterializedResult,
  type DuckDBResultReader,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValueConverter,
  JsonDuckDBValueConverter,
} from '@duckdb/node-api';
import { QueryError } from '../errors.js';
import { columnValidity, isValid, readStringColumn } from './columnar.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonRow = Record<string, JsonValue>;

/** What answers are read from: a DuckDB result, or chunks built here (a pushed query's rows). */
export interface ChunkSource {
  deduplicatedColumnNames(): string[];
  /** Its column types, where known before the first chunk (an empty result's Arrow schema needs them). */
  columnTypes?(): DuckDBType[];
  /** Its rows, when known before reading: a materialized result, or rows in hand. */
  readonly rowCount?: number;
  /** The next chunk; null or an empty chunk at the end. */
  fetchChunk(): Promise<DuckDBDataChunk | null>;
  /** The materialized result that holds the rows, when another object stands in for it. */
  readonly materialized?: DuckDBMaterializedResult;
}

/** Names made unique as DuckDB's node API makes a result's: `a`, `a:1`, `a:2`. */
export function deduplicateNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count > 1 ? `${name}:${count - 1}` : name;
  });
}

export interface JsonResult {
  /** Column names, made unique the way the row keys are (`a`, `a:1`). */
  columns: string[];
  rows: JsonRow[];
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

type TemporalKind = 'date' | 'timestamp' | 'zoned';

/**
 * DuckDB prints `2024-01-02 03:04:05+00` and `0045-03-15 (BC)`; ISO-8601 wants a `T`,
 * a `±hh:mm` offset and astronomical years (1 BC is 0000, 2 BC is -0001).
 */
function isoText(text: string, kind: TemporalKind): string {
  const bc = text.endsWith(' (BC)');
  let iso = bc ? text.slice(0, -' (BC)'.length) : text;
  if (kind !== 'date') iso = iso.replace(' ', 'T');
  if (kind === 'zoned') iso = iso.replace(/([+-]\d\d)$/, '$1:00');
  if (bc) {
    iso = iso.replace(/^\d+/, (year) => {
      const astronomical = 1 - Number(year);
      return astronomical === 0 ? '0000' : `-${String(-astronomical).padStart(4, '0')}`;
    });
  }
  return iso;
}

/** Converts one DuckDB value (recursing into nested ones) to its JSON form. */
export const jsonValueConverter: DuckDBValueConverter<JsonValue> = (value, type, converter) => {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT: {
      const n = value as bigint;
      return n >= -MAX_SAFE && n <= MAX_SAFE ? Number(n) : n.toString();
    }
    case DuckDBTypeId.DECIMAL:
    case DuckDBTypeId.INTERVAL:
      return String(value);
    case DuckDBTypeId.DATE:
      return isoText(String(value), 'date');
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return isoText(String(value), 'timestamp');
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIME_TZ:
      return isoText(String(value), 'zoned');
    default:
      return JsonDuckDBValueConverter(value, type, converter) as JsonValue;
  }
};

/**
 * Column `c` of `chunk` as JSON values. The common types are read straight from the
 * vector's typed array (per-value converter calls dominate large answers otherwise).
 */
export function columnValues(chunk: DuckDBDataChunk, c: number): JsonValue[] {
  const rows = chunk.rowCount;
  const vector = chunk.getColumnVector(c);
  const type = vector.type;
  const out: JsonValue[] = new Array(rows);
  const validity = columnValidity(chunk, c, rows);
  const valid = (i: number) => isValid(validity, i);
  const items = (vector as unknown as { items?: ArrayLike<number | bigint> }).items;
  switch (type.typeId) {
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      for (let i = 0; i < rows; i++) {
        const v = (items as ArrayLike<number>)[i];
        out[i] = valid(i) ? (Number.isFinite(v) ? v : String(v)) : null;
      }
      return out;
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
      for (let i = 0; i < rows; i++) {
        const v = (items as ArrayLike<bigint>)[i];
        out[i] = valid(i) ? (v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v.toString()) : null;
      }
      return out;
    case DuckDBTypeId.VARCHAR:
      return readStringColumn(chunk, c, rows);
    default:
      for (let i = 0; i < rows; i++) out[i] = jsonValueConverter(vector.getItem(i), type, jsonValueConverter);
      return out;
  }
}

function appendRows(chunk: DuckDBDataChunk, names: string[], rows: JsonRow[]): void {
  const columns = names.map((_, c) => columnValues(chunk, c));
  for (let r = 0; r < chunk.rowCount; r++) {
    const row: JsonRow = {};
    for (let c = 0; c < names.length; c++) row[names[c]] = columns[c][r];
    rows.push(row);
  }
}

function tooLarge(maxRows: number): QueryError {
  return new QueryError(
    'result_too_large',
    `the result has more than ${maxRows} rows, the most a JSON answer holds; add a LIMIT or aggregate`,
  );
}

/**
 * A materialized result's chunks, read in place: `fetchChunk` would take a round trip to a
 * worker thread for each (~90 µs a chunk measured).
 */
export function* materializedChunks(result: DuckDBMaterializedResult): Generator<DuckDBDataChunk> {
  // chunkCount is a native call each time it is read.
  const count = result.chunkCount;
  for (let k = 0; k < count; k++) yield result.getChunk(k);
}

/** The chunks of `source`, in order, to its end. */
export async function* chunksOf(source: ChunkSource): AsyncGenerator<DuckDBDataChunk> {
  const materialized = source instanceof DuckDBMaterializedResult ? source : source.materialized;
  if (materialized) {
    yield* materializedChunks(materialized);
    return;
  }
  for (
    let chunk = await source.fetchChunk();
    chunk && chunk.rowCount > 0;
    chunk = await source.fetchChunk()
  ) {
    yield chunk;
  }
}

/** Reads every chunk of `source`; throws QueryError 'result_too_large' as soon as they pass `maxRows`. */
export async function readChunks(source: ChunkSource, maxRows: number): Promise<DuckDBDataChunk[]> {
  const chunks: DuckDBDataChunk[] = [];
  let rows = 0;
  for await (const chunk of chunksOf(source)) {
    rows += chunk.rowCount;
    if (rows > maxRows) throw tooLarge(maxRows);
    chunks.push(chunk);
  }
  return chunks;
}

/**
 * The JSON answer of a result: a chunk source such as a streaming or materialized
 * DuckDBResult (read chunk by chunk, stopping as soon as it passes `maxRows`), or a
 * DuckDBResultReader. Throws QueryError 'result_too_large' beyond `maxRows`.
 */
export async function resultToJson(
  result: ChunkSource | DuckDBResultReader,
  maxRows = Number.POSITIVE_INFINITY,
): Promise<JsonResult> {
  const columns = result.deduplicatedColumnNames();
  if (!('fetchChunk' in result)) {
    if (Number.isFinite(maxRows)) await result.readUntil(maxRows + 1);
    else await result.readAll();
    if (result.currentRowCount > maxRows) throw tooLarge(maxRows);
    return { columns, rows: result.convertRowObjects(jsonValueConverter) as JsonRow[] };
  }
  const rows: JsonRow[] = [];
  for (const chunk of await readChunks(result, maxRows)) appendRows(chunk, columns, rows);
  return { columns, rows };
}
