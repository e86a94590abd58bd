/**
 * The user's query as DuckDB's parse tree (json_serialize_sql): walking it, and printing a
 * rewritten tree back to SQL only where DuckDB parses the print to the very same tree.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { deserializedSql, serializedSql } from '../../duckdb/parse-tree.js';
import { isJsonObject, type JsonObject } from '../../json-object.js';
import { withoutLocations } from './analyze/print.js';
import { treeKey } from './analyze/trees.js';

/** Every object of `tree` (itself included) that `match` accepts, depth first. */
export function objectsOf(tree: unknown, match: (o: JsonObject) => boolean): JsonObject[] {
  const out: JsonObject[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (isJsonObject(x)) {
      if (match(x)) out.push(x);
      Object.values(x).forEach(walk);
    }
  };
  walk(tree);
  return out;
}

export const isBaseTable = (o: JsonObject) => o.type === 'BASE_TABLE' && typeof o.table_name === 'string';

/** The names (lower-case) of every CTE `tree` defines, at any depth. */
export function cteNames(tree: unknown): Set<string> {
  const names = new Set<string>();
  for (const m of objectsOf(tree, (o) => isJsonObject(o.cte_map)))
    for (const e of (m.cte_map as JsonObject).map as unknown[])
      if (isJsonObject(e)) names.add(String(e.key).toLowerCase());
  return names;
}

/** The single statement's SELECT node of `sql`, without locations; undefined for anything else. */
export async function statementNode(con: DuckDBConnection, sql: string): Promise<JsonObject | undefined> {
  const tree = withoutLocations(await serializedSql(con, sql));
  if (!isJsonObject(tree) || tree.error === true || !Array.isArray(tree.statements)) return undefined;
  if (tree.statements.length !== 1 || !isJsonObject(tree.statements[0])) return undefined;
  const root = tree.statements[0].node;
  return isJsonObject(root) ? root : undefined;
}

/** The statement wrapper of `node`, as json_serialize_sql writes it. */
function statement(node: JsonObject): string {
  return JSON.stringify({ error: false, statements: [{ node, named_param_map: [] }] });
}

/** DuckDB's print of `node`, if it parses back to the very same tree. */
export async function printed(con: DuckDBConnection, node: JsonObject): Promise<string | undefined> {
  const [sql] = await deserializedSql(con, [statement(node)]);
  if (sql === undefined) return undefined;
  const again = withoutLocations(await serializedSql(con, sql));
  const back = isJsonObject(again) && Array.isArray(again.statements) ? again.statements : [];
  return back.length === 1 && isJsonObject(back[0]) && treeKey(back[0].node) === treeKey(node)
    ? sql
    : undefined;
}
