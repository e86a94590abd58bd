/**
 * The keys of a scan request (dynamic filtering) loaded into TEMP tables of the scan's own
 * connection, for the scan to semi-join against: a hash join over data, where an IN list of
 * thousands of literals would cost more to parse and plan than the scan itself. A scan that
 * awaits its filter makes the tables of the columns named ahead while it waits, so that once
 * the keys come only the appender stands between them and the scan.
 *
 * A semi-join reads its keys through a filter that keeps every key (`hash(key) IS NOT NULL`)
 * where a Bloom filter of them pays: DuckDB pushes one into the probe side's scan only where
 * the join's build side is filtered (JoinFilterPushdownOptimizer::IsFiltering), reasoning
 * that a join with a whole table keeps every row, and a keys table is a filtered set by
 * construction. The scan then tests the Bloom filter first and skips, for the rows it drops,
 * the scan's other predicates, the reading of the other columns and the join's probe. That
 * pays against many keys (the join's hash table outgrows the core's caches) or beside a
 * predicate; against a few keys alone the join's hash table says no as quickly, and the test
 * only adds to every row (docs/performance.md). A filter DuckDB can prove true from the
 * table's statistics (`key IS NOT NULL`) would be removed before that check; a hash is never
 * NULL, whatever the key.
 *
 * Keys known distinct are joined instead (an inner join with them keeps exactly the rows the
 * semi-join keeps, once each): DuckDB probes an inner join's hash table faster, and takes a
 * perfect hash join for dense integer keys, which it never does for a SEMI join
 * (docs/performance.md). Delta-encoded keys are distinct by construction: their decoder
 * refuses a key that does not exceed the one before it.
 */
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import {
  checkWireColumns,
  reusedChunk,
  type WireLayout,
  wireLayoutFor,
  writeWireColumns,
} from '../duckdb/columnar.js';
import { decodeDeltaKeys, type IntegerLayout, integerLayout } from '../duckdb/delta-keys.js';
import { quoteIdent } from '../duckdb/sql.js';
import { QueryError } from '../errors.js';
import type { ScanKeys, WireColumn } from '../protocol/frames.js';

const KEYS_TABLE_PREFIX = '__scan_keys';
/** The keys tables' column: a name no loaded table is likely to have (scan.ts joins by it). */
export const KEY_COLUMN = '__scan_key';

/** The keys tables' column of the codes keys carry (`ScanKeys.match`, `ScanKeys.branches`). */
export const CODE_COLUMN = '__scan_code';

const CODE_TYPES = { 1: 'UTINYINT', 2: 'USMALLINT', 4: 'UINTEGER' } as const;

/** One key set of a scan, loaded: the condition that keeps its rows, and how to join it instead. */
export interface LoadedKeys {
  /** `column IN (SELECT <KEY_COLUMN> FROM keys)`, as SQL. */
  condition: string;
  /**
   * Where the keys are distinct: the keys table and the table's column it joins, and the group
   * of key sets whose codes (CODE_COLUMN) must be equal, where the keys carry codes; with
   * `ScanKeys.branches`, their predicates as checked (bit i of a code names `branches[i]`).
   */
  join?: { keys: string; column: string; group?: number; branches?: string[] };
}

/** Keys from which on a semi-join's Bloom filter pays for its test on every row by itself. */
const BLOOM_FILTER_MIN_KEYS = 4096;

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
   * Fills a keys table (column KEY_COLUMN) with `keys`, typed like the table's `column` (a name the
   * table has): the one made ahead for it, else a new one. Returns the condition that keeps
   * the rows whose `column` is one of the keys, as SQL; `besidePredicate`: the scan tests a
   * predicate of its own on every row too; `branches`: the key set's `branches.where`, checked.
   */
  async semiJoin(
    column: string,
    keys: ScanKeys,
    besidePredicate: boolean,
    branches?: string[],
  ): Promise<LoadedKeys> {
    const { match } = keys;
    // Branch codes are one byte each (MAX_BRANCHES bits).
    const codeType = match ? CODE_TYPES[match.width] : keys.branches && CODE_TYPES[1];
    const ahead = codeType ? undefined : this.ahead.get(column);
    // A second key set of the same column gets a table of its own: sets intersect, not add up.
    if (!codeType) this.ahead.delete(column);
    const name = await (ahead ?? this.make(column, codeType));
    const appender = await this.con.createAppender(name, 'main', 'temp');
    try {
      fill(appender, column, keys);
    } finally {
      appender.closeSync();
    }
    const bloom =
      besidePredicate || keys.rows >= BLOOM_FILTER_MIN_KEYS ? ` WHERE hash(${KEY_COLUMN}) IS NOT NULL` : '';
    const table = `temp.main.${quoteIdent(name)}`;
    return {
      condition: `${quoteIdent(column)} IN (SELECT ${KEY_COLUMN} FROM ${table}${bloom})`,
      ...(keys.encoding === 'delta' && {
        join: {
          keys: table,
          column,
          ...(match && { group: match.group }),
          ...(keys.branches && branches && { branches }),
        },
      }),
    };
  }

  /** A keys table typed like `column`, with a codes column of `codeType` where given. */
  private async make(column: string, codeType?: string): Promise<string> {
    if (this.table.toLowerCase().startsWith(KEYS_TABLE_PREFIX)) {
      throw new QueryError(
        'bad_request',
        `table ${this.table} shares its name with the keys tables; send a predicate in where`,
      );
    }
    const name = `${KEYS_TABLE_PREFIX}_${this.made++}`;
    // Typed by the column itself (the codes by a type of CODE_TYPES): no type name from the
    // request reaches SQL.
    const codes = codeType ? `, NULL::${codeType} AS ${CODE_COLUMN}` : '';
    await this.con.run(
      `CREATE TEMP TABLE temp.main.${quoteIdent(name)} AS SELECT ${quoteIdent(column)} AS ${KEY_COLUMN}${codes} FROM ${quoteIdent(this.table)} LIMIT 0`,
    );
    return name;
  }
}

function fill(appender: DuckDBAppender, column: string, keys: ScanKeys): void {
  const codes = keys.match?.codes ?? keys.branches?.codes;
  const types = codes ? [appender.columnType(0), appender.columnType(1)] : [appender.columnType(0)];
  const layouts = types.map(wireLayoutFor);
  if (layouts[0].wire === 'text') {
    throw new QueryError(
      'bad_request',
      `keys of column ${column} (${types[0]}) cannot travel as data; send them as a predicate in where`,
    );
  }
  const integer = integerLayout(types[0]);
  if (keys.encoding === 'delta' && !integer) {
    throw new QueryError(
      'bad_request',
      `delta-encoded keys need an integer column; ${column} is ${types[0]}: send them unencoded`,
    );
  }
  const values = keyValues(keys, layouts[0], integer, `column ${column} (${types[0]})`);
  const columns = codes ? [values, { data: codes }] : [values];
  writeWireColumns(layouts, columns, keys.rows, reusedChunk(types), (chunk) =>
    appender.appendDataChunk(chunk),
  );
  appender.flushSync();
}

/**
 * A key set's values as a wire column of `layout`, delta-encoded keys decoded (`integer`: the
 * column's integer layout), checked whole before any byte is read; `what` names the column
 * in the error that says how they are malformed.
 */
export function keyValues(
  keys: ScanKeys,
  layout: WireLayout,
  integer: IntegerLayout | undefined,
  what: string,
): WireColumn {
  const malformed = (problem: string) =>
    new QueryError('bad_request', `the keys for ${what} are malformed: ${problem}`);
  let values: WireColumn = keys.values;
  if (keys.encoding === 'delta') {
    if (!integer) throw malformed('delta-encoded keys need an integer column');
    if (values.offsets || values.nulls) throw malformed('delta-encoded keys have no offsets or nulls');
    const fixed = decodeDeltaKeys(values.data, keys.rows, integer);
    if (typeof fixed === 'string') throw malformed(fixed);
    values = { data: fixed };
  }
  const problem = checkWireColumns([layout], [values], keys.rows);
  if (problem) throw malformed(problem);
  return values;
}
