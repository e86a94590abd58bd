/**
 * DuckDB parse-tree nodes built from scratch, in the very shapes `json_serialize_sql` gives
 * (every field it writes, so that a printed node parses back to the same tree), for the part
 * and merge queries of partial aggregation.
 */
import { isJsonObject, type JsonObject } from '../../../json-object.js';
import type { Tree } from '../../plan/analyze/trees.js';

export function columnRef(name: string): Tree {
  return { class: 'COLUMN_REF', type: 'COLUMN_REF', alias: '', column_names: [name] };
}

/** An integer constant (BIGINT past INTEGER's range, as DuckDB's parser types it). */
export function integer(value: number): Tree {
  const id = Math.abs(value) <= 2147483647 ? 'INTEGER' : 'BIGINT';
  return {
    class: 'CONSTANT',
    type: 'VALUE_CONSTANT',
    alias: '',
    value: { type: { id, type_info: null }, is_null: false, value },
  };
}

export interface CallOptions {
  distinct?: boolean;
  filter?: Tree;
  operator?: boolean;
}

export function call(name: string, children: Tree[], opts: CallOptions = {}): Tree {
  return {
    class: 'FUNCTION',
    type: 'FUNCTION',
    alias: '',
    function_name: name,
    schema: '',
    children,
    filter: opts.filter ?? null,
    order_bys: { type: 'ORDER_MODIFIER', orders: [] },
    distinct: opts.distinct ?? false,
    is_operator: opts.operator ?? false,
    export_state: false,
    catalog: '',
  };
}

/** `CAST(child AS type)`, `type` a `cast_type` of DuckDB's tree. */
export function cast(child: Tree, type: JsonObject): Tree {
  return { class: 'CAST', type: 'OPERATOR_CAST', alias: '', child, cast_type: type, try_cast: false };
}

export const DOUBLE_TYPE: JsonObject = { id: 'DOUBLE', type_info: null };

export function coalesce(children: Tree[]): Tree {
  return { class: 'OPERATOR', type: 'OPERATOR_COALESCE', alias: '', children };
}

export function aliased(tree: Tree, alias: string): Tree {
  return { ...tree, alias };
}

export interface OrderTerm {
  expression: Tree;
  descending: boolean;
  nullsFirst: boolean;
}

export function orderModifier(terms: OrderTerm[]): JsonObject {
  return {
    type: 'ORDER_MODIFIER',
    orders: terms.map((t) => ({
      type: t.descending ? 'DESCENDING' : 'ASCENDING',
      null_order: t.nullsFirst ? 'NULLS FIRST' : 'NULLS LAST',
      expression: t.expression,
    })),
  };
}

export function limitModifier(limit: number | undefined, offset: number): JsonObject {
  return {
    type: 'LIMIT_MODIFIER',
    limit: limit === undefined ? null : integer(limit),
    offset: offset === 0 ? null : integer(offset),
  };
}

export const DISTINCT_MODIFIER: JsonObject = { type: 'DISTINCT_MODIFIER', distinct_on_targets: [] };

export function baseTable(name: string, schema = '', catalog = ''): JsonObject {
  return {
    type: 'BASE_TABLE',
    alias: '',
    sample: null,
    schema_name: schema,
    table_name: name,
    column_name_alias: [],
    catalog_name: catalog,
    at_clause: null,
  };
}

export interface SelectParts {
  select: Tree[];
  from: JsonObject;
  where?: Tree;
  /** GROUP BY these (one grouping set of them all); undefined: not grouped. */
  groupBy?: Tree[];
  having?: Tree;
  modifiers?: JsonObject[];
}

export function selectNode(q: SelectParts): JsonObject {
  const groups = q.groupBy ?? [];
  return {
    type: 'SELECT_NODE',
    modifiers: q.modifiers ?? [],
    cte_map: { map: [] },
    select_list: q.select,
    from_table: q.from,
    where_clause: q.where ?? null,
    group_expressions: groups,
    group_sets: q.groupBy === undefined ? [] : [groups.map((_, i) => i)],
    aggregate_handling: 'STANDARD_HANDLING',
    having: q.having ?? null,
    sample: null,
    qualify: null,
  };
}

/**
 * A copy of `tree` where `replace` gives a replacement for an expression node (undefined:
 * keep it and go inside). Non-expression objects (constants' values, CASE branches, cast
 * types) are walked, never replaced.
 */
export function mapExpressions(tree: Tree, replace: (node: Tree) => Tree | undefined): Tree {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (!isJsonObject(x)) return x;
    if (typeof x.class === 'string') {
      const r = replace(x);
      if (r !== undefined) return r;
    }
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(x)) out[k] = k === 'query_location' ? v : walk(v);
    return out;
  };
  return walk(tree) as Tree;
}

/** Every expression node of `tree` (itself included), depth first. */
export function expressionNodes(tree: unknown): Tree[] {
  const out: Tree[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (isJsonObject(x)) {
      if (typeof x.class === 'string') out.push(x);
      Object.values(x).forEach(walk);
    }
  };
  walk(tree);
  return out;
}
