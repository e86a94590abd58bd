/**
 * The keys of a scan request (dynamic filtering) loaded into TEMP tables of the scan's own
 * connection, for the scan to semi-join against: a hash join over data, where an IN list of
 * thousands of literals would cost more to parse and plan than the scan itself. A scan that
 * awaits its filter makes the tables of the columns named ahead while it waits, so that once
 * the keys come only the appender stands between them and the scan.
 */
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { checkWireColumns, reusedChunk, wireLayoutFor, writeWireColumns } from '../duckdb/columnar.js';
import { decodeDeltaKeys, integerLayout } from '../duckdb/delta-keys.js';
import { quoteIdent } from '../duckdb/sql.js';
import { QueryError } from '../errors.js';
import type { ScanKeys, WireColumn } from '../protocol/frames.js';

const KEYS_TABLE_PREFIX = '__scan_keys';

/** The keys tables of one scan's connection; `table` (the loaded table's name) types them. */
export class ScanKeyTables {
  private made = 0;
  /** Tables (their names) made ahead and not filled yet, by column. */
  private readonly ahead = new Map<string, Promise<string>>();

  constructor(
    private readonly con: DuckDBConnection,
    private readonly table: string,
  ) {}

  /**
   * Makes the empty keys tables of `columns` (names the table has), one statement after the
   * other; resolves once all are made. A failure is kept for `load` of that column to throw.
   */
  async prepare(columns: string[]): Promise<void> {
    for (const column of new Set(columns)) {
      if (this.ahead.has(column)) continue;
      const made = this.make(column);
      made.catch(() => undefined);
      this.ahead.set(column, made);
      await made.catch(() => undefined);
    }
  }

  /**
   * Fills a keys table (column `k`) with `keys`, typed like the table's `column` (a name the
   * table has): the one made ahead for it, else a new one. Returns the table, as SQL.
   */
  async load(column: string, keys: ScanKeys): Promise<string> {
    const ahead = this.ahead.get(column);
    // A second key set of the same column gets a table of its own: sets intersect, not add up.
    this.ahead.delete(column);
    const name = await (ahead ?? this.make(column));
    const appender = await this.con.createAppender(name, 'main', 'temp');
    try {
      fill(appender, column, keys);
    } finally {
      appender.closeSync();
    }
    return `temp.main.${quoteIdent(name)}`;
  }

  private async make(column: string): Promise<string> {
    if (this.table.toLowerCase().startsWith(KEYS_TABLE_PREFIX)) {
      throw new QueryError(
        'bad_request',
        `table ${this.table} shares its name with the keys tables; send a predicate in where`,
      );
    }
    const name = `${KEYS_TABLE_PREFIX}_${this.made++}`;
    // Typed by the column itself: no type name from the request reaches SQL.
    await this.con.run(
      `CREATE TEMP TABLE temp.main.${quoteIdent(name)} AS SELECT ${quoteIdent(column)} AS k FROM ${quoteIdent(this.table)} LIMIT 0`,
    );
    return name;
  }
}

function fill(appender: DuckDBAppender, column: string, keys: ScanKeys): void {
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
}
