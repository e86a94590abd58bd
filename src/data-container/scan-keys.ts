/**
 * The keys of a scan request (dynamic filtering) loaded into TEMP tables of the scan's own
 * connection, for the scan to semi-join against: a hash join over data, where an IN list of
 * thousands of literals would cost more to parse and plan than the scan itself.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { checkWireColumns, reusedChunk, wireLayoutFor, writeWireColumns } from '../duckdb/columnar.js';
import { decodeDeltaKeys, integerLayout } from '../duckdb/delta-keys.js';
import { quoteIdent } from '../duckdb/sql.js';
import { QueryError } from '../errors.js';
import type { ScanKeys, WireColumn } from '../protocol/frames.js';

const KEYS_TABLE_PREFIX = '__scan_keys';

/**
 * Fills a TEMP table (column `k`) with `keys`, typed like `table`.`column` (a name the table
 * has); `index` tells a request's key sets apart. Returns the table, as SQL.
 */
export async function loadScanKeys(
  con: DuckDBConnection,
  table: string,
  column: string,
  keys: ScanKeys,
  index = 0,
): Promise<string> {
  if (table.toLowerCase().startsWith(KEYS_TABLE_PREFIX)) {
    throw new QueryError(
      'bad_request',
      `table ${table} shares its name with the keys tables; send a predicate in where`,
    );
  }
  const name = index === 0 ? KEYS_TABLE_PREFIX : `${KEYS_TABLE_PREFIX}_${index}`;
  const sqlName = `temp.main.${quoteIdent(name)}`;
  // Typed by the column itself: no type name from the request reaches SQL.
  await con.run(
    `CREATE TEMP TABLE ${sqlName} AS SELECT ${quoteIdent(column)} AS k FROM ${quoteIdent(table)} LIMIT 0`,
  );
  const appender = await con.createAppender(name, 'main', 'temp');
  try {
    const types = [appender.columnType(0)];
    const layouts = [wireLayoutFor(types[0])];
    const malformed = (problem: string) =>
      new QueryError('bad_request', `the keys for column ${column} (${types[0]}) are malformed: ${problem}`);
    if (layouts[0].wire === 'text') {
      throw new QueryError(
        'bad_request',
        `keys of column ${column} (${types[0]}) cannot travel as data; send them as a predicate in where`,
      );
    }
    let values: WireColumn = keys.values;
    if (keys.encoding === 'delta') {
      const layout = integerLayout(types[0]);
      if (!layout) {
        throw new QueryError(
          'bad_request',
          `delta-encoded keys need an integer column; ${column} is ${types[0]}: send them unencoded`,
        );
      }
      if (values.offsets || values.nulls) throw malformed('delta-encoded keys have no offsets or nulls');
      const fixed = decodeDeltaKeys(values.data, keys.rows, layout);
      if (typeof fixed === 'string') throw malformed(fixed);
      values = { data: fixed };
    }
    const problem = checkWireColumns(layouts, [values], keys.rows);
    if (problem) throw malformed(problem);
    writeWireColumns(layouts, [values], keys.rows, reusedChunk(types), (chunk) =>
      appender.appendDataChunk(chunk),
    );
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return sqlName;
}
