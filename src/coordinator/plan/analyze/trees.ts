/**
 * DuckDB expression trees as the plan carries them: a pushed filter is a node of the user's
 * own parse tree whose column references are rewritten to bare column names of the table
 * (or derived table) it filters. Built with DuckDB's own node shapes, so that
 * `json_deserialize_sql` prints them and `json_serialize_sql` reads the print back to the
 * same tree (print.ts checks that before anything is pushed).
 */
import { isJsonObject, type JsonObject } from '../../../json-object.js';

export type Tree = JsonObject;

/** A copy of `tree` with each column reference renamed by `rename` (undefined: not renamable). */
export function renameColumns(tree: Tree, rename: (ref: JsonObject) => string | undefined): Tree | undefined {
  let ok = true;
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (!isJsonObject(x)) return x;
    if (x.class === 'COLUMN_REF') {
      const name = rename(x);
      if (name === undefined) ok = false;
      // Its alias kept: inside struct_pack it names the field.
      const alias = typeof x.alias === 'string' ? x.alias : '';
      return { class: 'COLUMN_REF', type: 'COLUMN_REF', alias, column_names: [name ?? '?'] };
    }
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(x)) if (k !== 'query_location') out[k] = walk(v);
    return out;
  };
  const out = walk(tree) as Tree;
  return ok ? { ...out, alias: '' } : undefined;
}

/** The single name of each column reference in a rewritten tree. */
export function columnNames(tree: Tree): Set<string> {
  const out = new Set<string>();
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (isJsonObject(x)) {
      if (x.class === 'COLUMN_REF' && Array.isArray(x.column_names))
        out.add(String(x.column_names[x.column_names.length - 1]).toLowerCase());
      else Object.values(x).forEach(walk);
    }
  };
  walk(tree);
  return out;
}

function conjunction(type: 'CONJUNCTION_AND' | 'CONJUNCTION_OR', children: Tree[]): Tree {
  if (children.length === 1) return children[0];
  return { class: 'CONJUNCTION', type, alias: '', children };
}

export const and = (children: Tree[]): Tree => conjunction('CONJUNCTION_AND', children);
export const or = (children: Tree[]): Tree => conjunction('CONJUNCTION_OR', children);

let unsafe = 0;

/**
 * A stable key of a tree: locations and aliases dropped, keys sorted, names lower-cased.
 * JSON.parse rounds integers beyond 2^53, so two different constants could read the same:
 * such a number makes the key unique (it equals no other key).
 */
export function treeKey(tree: unknown): string {
  const norm = (x: unknown): unknown => {
    if (typeof x === 'number' && Number.isInteger(x) && !Number.isSafeInteger(x)) return `unsafe#${++unsafe}`;
    if (Array.isArray(x)) return x.map(norm);
    if (!isJsonObject(x)) return x;
    const out: JsonObject = {};
    for (const k of Object.keys(x).sort()) {
      if (k === 'query_location' || k === 'alias') continue;
      const v = x[k];
      out[k] =
        k === 'column_names' && Array.isArray(v)
          ? v.map((n) => String(n).toLowerCase())
          : k === 'function_name' && typeof v === 'string'
            ? v.toLowerCase()
            : norm(v);
    }
    return out;
  };
  return JSON.stringify(norm(tree));
}

/** The AND-terms of a tree (nested ANDs flattened). */
export function andTerms(tree: Tree): Tree[] {
  if (tree.class === 'CONJUNCTION' && tree.type === 'CONJUNCTION_AND' && Array.isArray(tree.children))
    return tree.children.filter(isJsonObject).flatMap(andTerms);
  return [tree];
}
