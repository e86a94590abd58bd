/**
 * A whole query that only picks columns of its one table: `SELECT a, b AS c, t.d` or `*`, an
 * optional WHERE and an optional constant LIMIT, read from DuckDB's parse tree. Its result is
 * a column scan's, so a data container can read it as one (rowid batches, materialized)
 * instead of streaming it. Anything else in the tree (DISTINCT, ORDER BY, OFFSET, GROUP BY,
 * HAVING, QUALIFY, a sample, a CTE, an expression in the select list, a join, a qualified or
 * aliased-column FROM…) declines: a field this module does not know must be empty.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { isJsonObject, type JsonObject } from '../json-object.js';
import { deserializedSql, withoutLocations } from './parse-tree.js';

/** One select-list item: a column of the table as the query names it, or all of them (`*`). */
export type PlainItem = { column: string } | { star: true };

export interface PlainSelect {
  items: PlainItem[];
  /** The WHERE tree; column refs the query qualified by the FROM alias are qualified by the table's name. */
  where?: JsonObject;
  limit?: number;
}

/** null, '', false, [] or an object of nothing but those (`cte_map: {map: []}`). */
function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === '' || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isJsonObject(value) && Object.values(value).every(isEmpty);
}

/** Every field of `node` but `kept` is empty. */
function onlyThese(node: JsonObject, kept: string[]): boolean {
  return Object.entries(node).every(([key, value]) => kept.includes(key) || isEmpty(value));
}

/** `LIMIT n` with n a non-negative integer constant (not NULL, a percentage or an expression); undefined otherwise. */
function constantLimit(modifier: JsonObject): number | undefined {
  const limit = modifier.limit;
  if (!isJsonObject(limit) || limit.class !== 'CONSTANT' || !isJsonObject(limit.value)) return undefined;
  const { value, is_null } = limit.value;
  return is_null === false && typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
    ? value
    : undefined;
}

/** The column a COLUMN_REF names: `c`, or `q.c` where q is the FROM's alias (or its table's name). */
function referencedColumn(ref: JsonObject, qualifier: string): string | undefined {
  const names = ref.column_names;
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) return undefined;
  if (names.length === 1) return names[0];
  // `a.b` may also be field b of a struct column a: only the FROM's own name reads as a qualifier.
  return names.length === 2 && names[0].toLowerCase() === qualifier ? names[1] : undefined;
}

function plainItem(item: unknown, qualifier: string): PlainItem | undefined {
  if (!isJsonObject(item)) return undefined;
  if (item.class === 'STAR' && onlyThese(item, ['class', 'type', 'query_location', 'relation_name'])) {
    const relation = String(item.relation_name ?? '').toLowerCase();
    return relation === '' || relation === qualifier ? { star: true } : undefined;
  }
  if (
    item.class !== 'COLUMN_REF' ||
    !onlyThese(item, ['class', 'type', 'alias', 'query_location', 'column_names'])
  )
    return undefined;
  const column = referencedColumn(item, qualifier);
  return column === undefined ? undefined : { column };
}

function objectsOf(tree: unknown, match: (o: JsonObject) => boolean): JsonObject[] {
  if (Array.isArray(tree)) return tree.flatMap((t) => objectsOf(t, match));
  if (!isJsonObject(tree)) return [];
  return [...(match(tree) ? [tree] : []), ...Object.values(tree).flatMap((t) => objectsOf(t, match))];
}

/**
 * The WHERE with refs `alias.c…` written `table.c…`, so that it reads as a predicate over the
 * table; undefined where a lambda could bind the alias's name to something else. Without
 * locations, which JSON cannot hold exactly, so that DuckDB can print it.
 */
function whereOverTable(where: JsonObject, alias: string, table: string): JsonObject | undefined {
  const copy = withoutLocations(where) as JsonObject;
  if (alias === '') return copy;
  if (objectsOf(copy, (o) => o.class === 'LAMBDA').length > 0) return undefined;
  for (const ref of objectsOf(copy, (o) => o.class === 'COLUMN_REF')) {
    const names = ref.column_names as string[];
    if (names.length > 1 && names[0].toLowerCase() === alias.toLowerCase()) names[0] = table;
  }
  return copy;
}

/** `node` (a statement's parse tree) as a plain column scan of its FROM table, or undefined. */
export function plainSelectOf(node: JsonObject): PlainSelect | undefined {
  const kept = ['type', 'select_list', 'from_table', 'where_clause', 'modifiers', 'aggregate_handling'];
  if (node.type !== 'SELECT_NODE' || !onlyThese(node, kept)) return undefined;
  if (node.aggregate_handling !== 'STANDARD_HANDLING') return undefined;
  const from = node.from_table;
  if (!isJsonObject(from) || from.type !== 'BASE_TABLE') return undefined;
  if (!onlyThese(from, ['type', 'table_name', 'alias', 'query_location'])) return undefined;
  const table = String(from.table_name);
  const alias = String(from.alias ?? '');
  const modifiers = Array.isArray(node.modifiers) ? node.modifiers : [];
  let limit: number | undefined;
  if (modifiers.length > 1) return undefined;
  if (modifiers.length === 1) {
    const modifier = modifiers[0];
    if (!isJsonObject(modifier) || modifier.type !== 'LIMIT_MODIFIER') return undefined;
    if (!onlyThese(modifier, ['type', 'limit'])) return undefined;
    limit = constantLimit(modifier);
    if (limit === undefined) return undefined;
  }
  const list = Array.isArray(node.select_list) ? node.select_list : [];
  const items = list.map((item) => plainItem(item, (alias || table).toLowerCase()));
  if (items.length === 0 || items.some((i) => i === undefined)) return undefined;
  const where = isJsonObject(node.where_clause) ? whereOverTable(node.where_clause, alias, table) : undefined;
  if (isJsonObject(node.where_clause) && where === undefined) return undefined;
  return {
    items: items as PlainItem[],
    ...(where && { where }),
    ...(limit !== undefined && { limit }),
  };
}

/**
 * SQL text of a WHERE tree, printed by DuckDB as `SELECT <expression>`; undefined where DuckDB
 * cannot print it. Only for a checker that parses it again (checkedPredicate): never spliced as is.
 */
export async function printedWhere(con: DuckDBConnection, where: JsonObject): Promise<string | undefined> {
  const node = {
    type: 'SELECT_NODE',
    modifiers: [],
    cte_map: { map: [] },
    select_list: [where],
    from_table: { type: 'EMPTY', alias: '', sample: null },
    where_clause: null,
    group_expressions: [],
    group_sets: [],
    aggregate_handling: 'STANDARD_HANDLING',
    having: null,
    sample: null,
    qualify: null,
  };
  const [sql] = await deserializedSql(con, [
    JSON.stringify({ error: false, statements: [{ node, named_param_map: [] }] }),
  ]);
  return sql?.startsWith('SELECT ') ? sql.slice('SELECT '.length) : undefined;
}
