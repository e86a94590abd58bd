/**
 * Which parts of a split table a scan need not ask: empty parts, and parts whose column ranges
 * (min/max per column, reported by their containers) no row of which can pass the pushed
 * filter. Sound above all: a part is skipped only when DuckDB itself says no value in the range
 * can pass, comparing the filter's constants with the ranges held in columns of the column's
 * type (one query over a VALUES table, a row per part), so exactly as it compares them with the
 * column in the scan. Anything unknown or not understood keeps the part.
 */
import { type DuckDBConnection, LIST, listValue, VARCHAR } from '@duckdb/node-api';
import { isJsonObject } from '../../../json-object.js';
import { Lru } from '../../../lru.js';
import type { ColumnRange } from '../../../protocol/shards.js';
import type { TableColumn } from '../../../protocol/table-metadata.js';
import type { CatalogPart, CatalogTable } from '../../catalog/catalog-table.js';
import { type Condition, type RangeFilter, readRangeFilter, typeFamily } from './range-filter.js';

/** Columns a condition compares. */
function columnsOf(condition: Condition): TableColumn[] {
  if ('args' in condition) return condition.args.flatMap(columnsOf);
  return 'column' in condition ? [condition.column] : [];
}

/**
 * The SQL names of column `i`'s range in the parts' table (`ranges` below): `c<i>_min` and
 * `c<i>_max` of the column's type (NULL when unknown), `c<i>_none` true when the part holds
 * no non-NULL value of it.
 */
const rangeColumns = (i: number) => ({ min: `c${i}_min`, max: `c${i}_max`, none: `c${i}_none` });

/**
 * SQL over one row of the parts' table that is false only when no value in the part's range
 * can pass `condition`. The range columns have the column's type, so DuckDB compares them with
 * the filter's constants exactly as it compares the column.
 */
function maySql(condition: Condition, constants: string[], columnIndex: (c: TableColumn) => number): string {
  if ('args' in condition) {
    const args = condition.args.map((a) => maySql(a, constants, columnIndex));
    return `(${args.join(condition.k === 'and' ? ' AND ' : ' OR ')})`;
  }
  if (!('column' in condition)) return 'true';
  const { min, max, none } = rangeColumns(columnIndex(condition.column));
  const k = (i: number) => `(${constants[i]})`;
  const within = (i: number) => `(${min} <= ${k(i)} AND ${max} >= ${k(i)})`;
  let test: string;
  switch (condition.k) {
    case 'not null':
      return `(NOT ${none})`;
    case 'between':
      test = `${max} >= ${k(condition.low)} AND ${min} <= ${k(condition.high)}`;
      break;
    case 'in':
      test = condition.values.map(within).join(' OR ');
      break;
    case 'compare': {
      const v = k(condition.value);
      test = {
        '=': within(condition.value),
        '<>': `NOT (${min} = ${v} AND ${max} = ${v})`,
        '<': `${min} < ${v}`,
        '<=': `${min} <= ${v}`,
        '>': `${max} > ${v}`,
        '>=': `${max} >= ${v}`,
      }[condition.op];
    }
  }
  // Only NULLs: nothing passes. A comparison DuckDB cannot decide (NULL: an unknown range) keeps the part.
  return `(NOT ${none} AND coalesce((${test}), true))`;
}

/** Literal texts already checked, and whether each is one constant. */
const checked = new Lru<string, boolean>(50_000);

/**
 * The range literals that are what they claim: one constant (or casts of one) each, checked on
 * DuckDB's parse tree before they are put in SQL (once per text: ranges change only with the
 * data). Returns the set of valid literal texts.
 */
async function validLiterals(con: DuckDBConnection, literals: string[]): Promise<Set<string>> {
  const unknown = [...new Set(literals.filter((l) => checked.get(l) === undefined))];
  if (unknown.length > 0) {
    const reader = await con.runAndReadAll(
      `SELECT l, json_serialize_sql('SELECT ' || l) FROM unnest($1) u(l)`,
      [listValue(unknown)],
      [LIST(VARCHAR)],
    );
    for (const [literal, tree] of reader.getRows())
      checked.set(String(literal), isOneConstant(JSON.parse(String(tree))));
  }
  return new Set(literals.filter((l) => checked.get(l) === true));
}

function isConstant(node: unknown): boolean {
  if (!isJsonObject(node)) return false;
  return node.class === 'CONSTANT' || (node.class === 'CAST' && isConstant(node.child));
}

/** `SELECT <one constant>` and nothing else: no FROM, WHERE, set operation, modifier or second statement. */
function isOneConstant(tree: unknown): boolean {
  if (!isJsonObject(tree) || tree.error !== false || !Array.isArray(tree.statements)) return false;
  if (tree.statements.length !== 1 || !isJsonObject(tree.statements[0])) return false;
  const node = tree.statements[0].node;
  return (
    isJsonObject(node) &&
    node.type === 'SELECT_NODE' &&
    Array.isArray(node.select_list) &&
    node.select_list.length === 1 &&
    isConstant(node.select_list[0]) &&
    isJsonObject(node.from_table) &&
    node.from_table.type === 'EMPTY' &&
    node.where_clause === null &&
    Array.isArray(node.modifiers) &&
    node.modifiers.length === 0 &&
    Array.isArray(node.group_expressions) &&
    node.group_expressions.length === 0 &&
    node.having === null &&
    node.qualify === null &&
    node.sample === null
  );
}

function reportedRange(part: CatalogPart, column: TableColumn): ColumnRange | null | undefined {
  const key = Object.keys(part.columnRanges).find((name) => name.toLowerCase() === column.name.toLowerCase());
  return key === undefined ? undefined : part.columnRanges[key];
}

/** Why a part is skipped: the ranges of the columns the failing conjunct compares. */
function reason(conjunct: Condition, rangeText: (c: TableColumn) => string | undefined): string {
  const columns = new Map(columnsOf(conjunct).map((c) => [c.name, c]));
  const ranges = [...columns.values()].flatMap((column) => {
    const text = rangeText(column);
    return text === undefined ? [] : [`${column.name} range ${text}`];
  });
  if (ranges.length === 0) return 'its column ranges are outside the filter';
  return `${ranges.join(' and ')} ${ranges.length > 1 ? 'are' : 'is'} outside the filter`;
}

/**
 * Part index → why it is not asked ("empty", or which column ranges fall outside `where`).
 * `where` is the pushed filter over the table's unqualified column names.
 */
export async function partsToSkip(
  con: DuckDBConnection,
  where: string | undefined,
  table: CatalogTable,
): Promise<Map<number, string>> {
  const skip = new Map<number, string>();
  const parts = table.parts ?? [];
  for (const part of parts) if (part.rowCount === 0) skip.set(part.index, 'empty');
  const live = parts.filter((p) => !skip.has(p.index));
  if (!where?.trim() || live.length === 0) return skip;
  try {
    const filter = await readRangeFilter(con, where, table.columns);
    if (filter) await skipOutOfRange(con, filter, live, skip);
  } catch {
    // A filter or range DuckDB cannot read or compare prunes nothing: the scan decides.
  }
  return skip;
}

async function skipOutOfRange(
  con: DuckDBConnection,
  filter: RangeFilter,
  parts: CatalogPart[],
  skip: Map<number, string>,
): Promise<void> {
  const columns = [...new Map(filter.conjuncts.flatMap(columnsOf).map((c) => [c.name, c])).values()];
  const literals = parts.flatMap((p) =>
    columns.flatMap((c) => {
      const r = reportedRange(p, c);
      return r ? [r.min, r.max] : [];
    }),
  );
  const valid = await validLiterals(con, literals);
  // One row per part: its index, then per column its range (of the column's type) and whether it is all NULL.
  const rows = parts.map((part) => {
    const cells = columns.map((column) => {
      const r = reportedRange(part, column);
      // Only types range-filter.ts compares are cast to: their names are plain SQL.
      const typed = typeFamily(column.type) !== undefined;
      const known = r && typed && valid.has(r.min) && valid.has(r.max);
      const end = (literal: string | undefined) =>
        typed ? `CAST(${known && literal ? literal : 'NULL'} AS ${column.type})` : 'NULL';
      return `${end(r?.min)}, ${end(r?.max)}, ${r === null}`;
    });
    return `(${[part.index, ...cells].join(', ')})`;
  });
  const names = ['part', ...columns.flatMap((_, i) => Object.values(rangeColumns(i)))];
  const columnIndex = (c: TableColumn) => columns.findIndex((x) => x.name === c.name);
  const verdicts = filter.conjuncts.map((c) => maySql(c, filter.constants, columnIndex));
  const shown = columns.map((_, i) => {
    const { min, max } = rangeColumns(i);
    return `[${min}::VARCHAR, ${max}::VARCHAR]`;
  });
  const reader = await con.runAndReadAll(
    `SELECT part, [${verdicts.join(', ')}], [${shown.join(', ')}]::VARCHAR[][]
     FROM (VALUES ${rows.join(', ')}) ranges(${names.join(', ')})`,
  );
  for (const [index, may, ranges] of reader.getRowsJson() as [number, unknown[], [unknown, unknown][]][]) {
    const failed = may.indexOf(false);
    if (failed < 0) continue;
    const part = parts.find((p) => p.index === Number(index)) as CatalogPart;
    const rangeText = (column: TableColumn) => {
      if (reportedRange(part, column) === null) return '(only NULLs)';
      const [min, max] = ranges[columnIndex(column)];
      return min === null ? undefined : `${String(min)}..${String(max)}`;
    };
    skip.set(part.index, reason(filter.conjuncts[failed], rangeText));
  }
}
