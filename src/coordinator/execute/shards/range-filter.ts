/**
 * What a pushed filter says about single columns' values, read from DuckDB's parse tree of
 * `SELECT 1 FROM t WHERE <filter>`: comparisons of a column with a constant (either side),
 * BETWEEN, IN lists and IS NOT NULL, under AND and OR. Anything else is "may match", so
 * whatever is decided from it stays sound. The constants keep DuckDB's own SQL text (printed
 * back by json_deserialize_sql from the exact tree, never through JavaScript numbers).
 *
 * Only comparisons whose constant DuckDB compares with the column without a cast that breaks
 * the column's order are kept (see `comparable`): a range of the column's values then bounds
 * the comparison's result.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { LIST, listValue, VARCHAR } from '@duckdb/node-api';
import { isJsonObject, type JsonObject } from '../../../json-object.js';
import type { TableColumn } from '../../../protocol/table-metadata.js';

export type Comparison = '=' | '<>' | '<' | '<=' | '>' | '>=';

/** A condition on the rows; constants are indexes into `RangeFilter.constants`. */
export type Condition =
  | { k: 'and' | 'or'; args: Condition[] }
  | { k: 'compare'; column: TableColumn; op: Comparison; value: number }
  | { k: 'between'; column: TableColumn; low: number; high: number }
  | { k: 'in'; column: TableColumn; values: number[] }
  | { k: 'not null'; column: TableColumn }
  | { k: 'may match' };

export interface RangeFilter {
  /** The filter's top-level AND conjuncts. */
  conjuncts: Condition[];
  /** SQL text of every constant the conditions name. */
  constants: string[];
}

const COMPARISONS: Record<string, Comparison> = {
  COMPARE_EQUAL: '=',
  COMPARE_NOTEQUAL: '<>',
  COMPARE_LESSTHAN: '<',
  COMPARE_LESSTHANOREQUALTO: '<=',
  COMPARE_GREATERTHAN: '>',
  COMPARE_GREATERTHANOREQUALTO: '>=',
};

/** `c OP col` is `col FLIPPED c`. */
const FLIPPED: Record<Comparison, Comparison> = {
  '=': '=',
  '<>': '<>',
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
};

const INTEGERS = ['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT'];
const NUMBERS = new Set([...INTEGERS, ...INTEGERS.map((t) => `U${t}`), 'FLOAT', 'DOUBLE', 'DECIMAL']);
/** Casts among these keep order; TIMESTAMP WITH TIME ZONE is left out (constants depend on the session's zone). */
const DATETIMES = new Set(['DATE', 'TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS']);
const DECIMAL = /^DECIMAL\(\d{1,2},\d{1,2}\)$/;

/**
 * Types whose values DuckDB compares in an order that casts among the same family keep
 * (numbers among numbers, dates and timestamps among themselves, text, booleans, times).
 * Undefined for any other type, which is never pruned on.
 */
export function typeFamily(type: string): string | undefined {
  const t = type.toUpperCase();
  if (NUMBERS.has(t) || DECIMAL.test(t)) return 'number';
  if (DATETIMES.has(t)) return 'datetime';
  if (t === 'VARCHAR' || t === 'BOOLEAN' || t === 'TIME') return t;
  return undefined;
}

/** The type of a constant-only expression: a constant, or casts of one; undefined for anything else. */
function constantType(node: unknown): string | undefined {
  if (!isJsonObject(node)) return undefined;
  if (node.class === 'CONSTANT' && isJsonObject(node.value) && node.value.is_null !== true) {
    const type = isJsonObject(node.value.type) ? node.value.type.id : undefined;
    // A quoted string is a literal DuckDB casts to the type it is compared with.
    return type === 'VARCHAR' ? 'STRING_LITERAL' : typeof type === 'string' ? type : undefined;
  }
  if (node.class === 'CAST' && constantType(node.child) !== undefined && isJsonObject(node.cast_type)) {
    const type = node.cast_type.id;
    return typeof type === 'string' ? type : undefined;
  }
  return undefined;
}

/**
 * True when comparing `column` with a constant of `constant` type compares the column's values
 * in their own order (or one a cast within the family keeps): a string literal takes the
 * column's type, numbers compare as numbers, dates and timestamps on one time line.
 */
function comparable(column: TableColumn, constant: string): boolean {
  const family = typeFamily(column.type);
  if (family === undefined) return false;
  return constant === 'STRING_LITERAL' || typeFamily(constant) === family;
}

/** Reads a tree into conditions, collecting the JSON paths of the constants it names. */
class Reader {
  readonly paths: string[] = [];
  private readonly columns: Map<string, TableColumn>;

  constructor(columns: TableColumn[]) {
    this.columns = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  }

  private column(node: unknown): TableColumn | undefined {
    if (!isJsonObject(node) || node.class !== 'COLUMN_REF' || !Array.isArray(node.column_names))
      return undefined;
    const [name, ...rest] = node.column_names;
    return rest.length === 0 && typeof name === 'string' ? this.columns.get(name.toLowerCase()) : undefined;
  }

  private constant(node: unknown, path: string, column: TableColumn): number | undefined {
    const type = constantType(node);
    if (type === undefined || !comparable(column, type)) return undefined;
    this.paths.push(path);
    return this.paths.length - 1;
  }

  condition(node: unknown, path: string): Condition {
    const may: Condition = { k: 'may match' };
    if (!isJsonObject(node)) return may;
    const children = Array.isArray(node.children) ? node.children : [];
    const child = (i: number) => `${path}.children[${i}]`;
    if (node.class === 'CONJUNCTION' && (node.type === 'CONJUNCTION_AND' || node.type === 'CONJUNCTION_OR')) {
      const args = children.map((c, i) => this.condition(c, child(i)));
      return { k: node.type === 'CONJUNCTION_AND' ? 'and' : 'or', args };
    }
    if (node.class === 'COMPARISON' && typeof node.type === 'string' && COMPARISONS[node.type]) {
      const op = COMPARISONS[node.type];
      const [left, right] = [this.column(node.left), this.column(node.right)];
      if (left && !right) {
        const value = this.constant(node.right, `${path}.right`, left);
        return value === undefined ? may : { k: 'compare', column: left, op, value };
      }
      if (right && !left) {
        const value = this.constant(node.left, `${path}.left`, right);
        return value === undefined ? may : { k: 'compare', column: right, op: FLIPPED[op], value };
      }
      return may;
    }
    if (node.class === 'BETWEEN' && node.type === 'COMPARE_BETWEEN') {
      const column = this.column(node.input);
      if (!column) return may;
      const low = this.constant(node.lower, `${path}.lower`, column);
      const high = low === undefined ? undefined : this.constant(node.upper, `${path}.upper`, column);
      return low === undefined || high === undefined ? may : { k: 'between', column, low, high };
    }
    if (node.class === 'OPERATOR' && node.type === 'COMPARE_IN') {
      const column = this.column(children[0]);
      if (!column || children.length < 2) return may;
      const values: number[] = [];
      for (let i = 1; i < children.length; i++) {
        const value = this.constant(children[i], child(i), column);
        if (value === undefined) return may;
        values.push(value);
      }
      return { k: 'in', column, values };
    }
    if (node.class === 'OPERATOR' && node.type === 'OPERATOR_IS_NOT_NULL' && children.length === 1) {
      const column = this.column(children[0]);
      return column ? { k: 'not null', column } : may;
    }
    return may;
  }
}

function conjuncts(condition: Condition): Condition[] {
  return condition.k === 'and' ? condition.args.flatMap(conjuncts) : [condition];
}

const WHERE_PATH = '$.statements[0].node.where_clause';
const CONSTANT_SLOT = '$.statements[0].node.select_list[0]';

/**
 * The filter `where` (over `columns`, unqualified) as conditions on column values; undefined
 * when DuckDB cannot parse it or it says nothing about any column's range.
 */
export async function readRangeFilter(
  con: DuckDBConnection,
  where: string,
  columns: TableColumn[],
): Promise<RangeFilter | undefined> {
  const parsed = await con.runAndReadAll(
    "SELECT json_serialize_sql($1::VARCHAR), json_serialize_sql('SELECT 0')",
    [`SELECT 1 FROM t WHERE ${where}`],
  );
  const [treeText, slotText] = parsed.getRows()[0].map(String);
  const tree = JSON.parse(treeText) as JsonObject;
  const statements = Array.isArray(tree.statements) ? tree.statements : [];
  if (tree.error === true || statements.length !== 1) return undefined;
  const node = isJsonObject(statements[0]) && isJsonObject(statements[0].node) ? statements[0].node : {};
  const reader = new Reader(columns);
  const found = conjuncts(reader.condition(node.where_clause, WHERE_PATH));
  if (found.every((c) => c.k === 'may match')) return undefined;
  if (reader.paths.length === 0) return { conjuncts: found, constants: [] };
  // Each constant's exact subtree put in place of `SELECT 0`'s constant, printed back.
  const printed = await con.runAndReadAll(
    `SELECT json_deserialize_sql(replace($2::VARCHAR, json_extract($2::VARCHAR, '${CONSTANT_SLOT}')::VARCHAR,
       json_extract($1::VARCHAR, p)::VARCHAR)::JSON)
     FROM unnest($3) WITH ORDINALITY u(p, i) ORDER BY i`,
    [treeText, slotText, listValue(reader.paths)],
    [VARCHAR, VARCHAR, LIST(VARCHAR)],
  );
  const constants = printed.getRows().map(([sql]) => String(sql).replace(/^SELECT /, ''));
  return { conjuncts: found, constants };
}
