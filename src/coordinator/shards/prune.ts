/**
 * Which parts of a split table a scan need not ask: empty parts, and parts whose column ranges
 * (min/max per column, reported by their containers) no row of which can pass the pushed
 * filter. Sound above all: a part is skipped only when DuckDB itself, comparing the filter's
 * constants with the part's range literals as it would compare them with the column, says no
 * value in the range can pass; anything unknown or not understood keeps the part.
 */
import { type DuckDBConnection, LIST, listValue, VARCHAR } from '@duckdb/node-api';
import { isJsonObject } from '../../json-object.js';
import type { ColumnRange } from '../../protocol/shards.js';
import type { TableColumn } from '../../protocol/table-metadata.js';
import type { CatalogPart, CatalogTable } from '../catalog-table.js';
import { type Condition, type RangeFilter, readRangeFilter, typeFamily } from './range-filter.js';

/** A part's range of a column, as SQL of the column's type; null: no non-NULL value; undefined: unknown. */
type Range = { min: string; max: string } | null | undefined;

/** Columns a condition compares. */
function columnsOf(condition: Condition): TableColumn[] {
  if ('args' in condition) return condition.args.flatMap(columnsOf);
  return 'column' in condition ? [condition.column] : [];
}

/** SQL that is false only when no value in `range` can pass `condition` (given the constants). */
function maySql(condition: Condition, constants: string[], rangeOf: (c: TableColumn) => Range): string {
  if ('args' in condition) {
    const args = condition.args.map((a) => maySql(a, constants, rangeOf));
    return `(${args.join(condition.k === 'and' ? ' AND ' : ' OR ')})`;
  }
  if (!('column' in condition)) return 'true';
  const range = rangeOf(condition.column);
  if (range === undefined) return 'true';
  // No non-NULL value: no comparison, IN, BETWEEN or IS NOT NULL passes.
  if (range === null) return 'false';
  const { min, max } = range;
  const k = (i: number) => `(${constants[i]})`;
  const within = (i: number) => `(${min} <= ${k(i)} AND ${max} >= ${k(i)})`;
  let test: string;
  switch (condition.k) {
    case 'not null':
      return 'true';
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
  // A comparison DuckDB cannot decide (NULL) keeps the part.
  return `coalesce((${test}), true)`;
}

/**
 * The range literals that are what they claim: one constant (or casts of one) each, checked on
 * DuckDB's parse tree before they are put in SQL. Returns the set of valid literal texts.
 */
async function validLiterals(con: DuckDBConnection, literals: string[]): Promise<Set<string>> {
  if (literals.length === 0) return new Set();
  const reader = await con.runAndReadAll(
    `SELECT l, json_serialize_sql('SELECT ' || l) FROM unnest($1) u(l)`,
    [listValue(literals)],
    [LIST(VARCHAR)],
  );
  const valid = new Set<string>();
  for (const [literal, tree] of reader.getRows()) {
    if (isOneConstant(JSON.parse(String(tree)))) valid.add(String(literal));
  }
  return valid;
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
  const names = [...new Set(columnsOf(conjunct).map((c) => c.name))];
  const ranges = names.flatMap((name) => {
    const text = rangeText(columnsOf(conjunct).find((c) => c.name === name) as TableColumn);
    return text === undefined ? [] : [`${name} range ${text}`];
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
  const rangeOf = (part: CatalogPart, column: TableColumn): Range => {
    const r = reportedRange(part, column);
    if (!r) return r;
    // Only types range-filter.ts compares are cast to: their names are plain SQL.
    if (!typeFamily(column.type) || !valid.has(r.min) || !valid.has(r.max)) return undefined;
    return { min: `CAST(${r.min} AS ${column.type})`, max: `CAST(${r.max} AS ${column.type})` };
  };
  // Per part: one list of the conjuncts' verdicts, one of the ranges as text (for reasons).
  const select = parts.flatMap((part, i) => {
    const verdicts = filter.conjuncts.map((c) => maySql(c, filter.constants, (col) => rangeOf(part, col)));
    const shown = columns.map((col) => {
      const r = rangeOf(part, col);
      return r ? `[CAST(${r.min} AS VARCHAR), CAST(${r.max} AS VARCHAR)]` : 'NULL::VARCHAR[]';
    });
    return [`[${verdicts.join(', ')}] AS may${i}`, `[${shown.join(', ')}]::VARCHAR[][] AS shown${i}`];
  });
  const row = (await con.runAndReadAll(`SELECT ${select.join(', ')}`)).getRowsJson()[0];
  parts.forEach((part, i) => {
    const verdicts = row[2 * i] as unknown[];
    const failed = verdicts.indexOf(false);
    if (failed < 0) return;
    const shown = row[2 * i + 1] as ([unknown, unknown] | null)[];
    const rangeText = (column: TableColumn) => {
      if (reportedRange(part, column) === null) return '(only NULLs)';
      const range = shown[columns.findIndex((c) => c.name === column.name)];
      return range ? `${String(range[0])}..${String(range[1])}` : undefined;
    };
    skip.set(part.index, reason(filter.conjuncts[failed], rangeText));
  });
}
