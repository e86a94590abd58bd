/**
 * Filter trees to the SQL text a container splices: printed by DuckDB (`json_deserialize_sql`)
 * and accepted only when DuckDB parses the print back to the very same tree, so that what runs
 * at the container is what the analysis reasoned about (a constant JSON cannot hold exactly,
 * such as an integer beyond 2^53 or an infinite double, fails that check and is not pushed).
 */
import { isJsonObject, type JsonObject } from '../../../json-object.js';
import { selectListOf } from './duckdb-tree.js';
import { type Tree, treeKey } from './trees.js';

/** Returns JSON.parse of `SELECT json_serialize_sql($1::VARCHAR)` on a DuckDB connection. */
export type ParseWithDuckDb = (sql: string) => Promise<unknown>;

/** DuckDB's parser both ways: `parse` as above, `print` json_deserialize_sql of each tree text. */
export interface DuckDbSql {
  parse: ParseWithDuckDb;
  print: (trees: string[]) => Promise<(string | undefined)[]>;
}

/** A copy of a parse tree without `query_location` (the parser writes 2^64-1 for none, which JSON.parse rounds). */
export function withoutLocations(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(withoutLocations);
  if (!isJsonObject(x)) return x;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(x)) if (k !== 'query_location') out[k] = withoutLocations(v);
  return out;
}

/** `SELECT <tree>` as a whole json_serialize_sql result, from the tree of `SELECT NULL`. */
function selectOf(template: JsonObject, tree: Tree): string {
  const copy = structuredClone(template);
  const statements = copy.statements as JsonObject[];
  (statements[0].node as JsonObject).select_list = [tree];
  return JSON.stringify(copy);
}

/** Each tree's SQL text, or undefined where it does not print back to itself. */
export async function printTrees(trees: Tree[], duck: DuckDbSql): Promise<(string | undefined)[]> {
  if (trees.length === 0) return [];
  const template = withoutLocations(await duck.parse('SELECT NULL'));
  if (!isJsonObject(template) || selectListOf(template) === undefined) return trees.map(() => undefined);
  const printed = await duck.print(trees.map((t) => selectOf(template, t)));
  const texts = printed.map((p) => (p?.startsWith('SELECT ') ? p.slice('SELECT '.length).trim() : undefined));
  const reparse = async (sql: string): Promise<unknown[] | undefined> => {
    try {
      return selectListOf(await duck.parse(sql));
    } catch {
      return undefined;
    }
  };
  const ok = texts.filter((t) => t !== undefined);
  const batch = await reparse(`SELECT ${ok.map((t) => `(${t})`).join(', ')}`);
  let next = 0;
  const out: (string | undefined)[] = [];
  for (let i = 0; i < trees.length; i++) {
    const text = texts[i];
    if (text === undefined) {
      out.push(undefined);
      continue;
    }
    const back = batch && batch.length === ok.length ? batch[next] : (await reparse(`SELECT (${text})`))?.[0];
    next++;
    out.push(back !== undefined && treeKey(back) === treeKey(trees[i]) ? text : undefined);
  }
  return out;
}
