/**
 * The keys of a scan request (dynamic filtering) loaded into a TEMP table of the scan's own
 * connection, for the scan to semi-join against: a hash join over data, where an IN list of
 * thousands of literals would cost more to parse and plan than the scan itself.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { checkWireColumns, reusedChunk, wireLayoutFor, writeWireColumns } from '../duckdb/columnar.js';
import { quoteIdent } from '../duckdb/sql.js';
import { QueryError } from '../errors.js';
import type { ScanKeys } from '../protocol/frames.js';

/** The TEMP table that holds the keys, column `k`. */
export const SCAN_KEYS_TABLE = 'temp.main.__scan_keys';

/** Fills SCAN_KEYS_TABLE with `keys`, typed like `table`.`column` (a name the table has). */
export async function loadScanKeys(
  con: DuckDBConnection,
  table: string,
  column: string,
  keys: ScanKeys,
): Promise<void> {
  if (table.toLowerCase() === '__scan_keys') {
    throw new QueryError(
      'bad_request',
      `table ${table} shares its name with the keys table; send a predicate in where`,
    );
  }
  // Typed by the column itself: no type name from the request reaches SQL.
  await con.run(
    `CREATE TEMP TABLE ${SCAN_KEYS_TABLE} AS SELECT ${quoteIdent(column)} AS k FROM ${quoteIdent(table)} LIMIT 0`,
  );
  const appender = await con.createAppender('__scan_keys', 'main', 'temp');
  try {
    const types = [appender.columnType(0)];
    const layouts = [wireLayoutFor(types[0])];
    if (layouts[0].wire === 'text') {
      throw new QueryError(
        'bad_request',
        `keys of column ${column} (${types[0]}) cannot travel as data; send them as a predicate in where`,
      );
    }
    const problem = checkWireColumns(layouts, [keys.values], keys.rows);
    if (problem) {
      throw new QueryError(
        'bad_request',
        `the keys for column ${column} (${types[0]}) are malformed: ${problem}`,
      );
    }
    writeWireColumns(layouts, [keys.values], keys.rows, reusedChunk(types), (chunk) =>
      appender.appendDataChunk(chunk),
    );
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
