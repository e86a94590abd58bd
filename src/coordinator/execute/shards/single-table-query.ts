/**
 * DuckDB's parse tree of a query over one table, read into the clauses partial aggregation
 * rewrites: select items (`*` expanded), WHERE, GROUP BY keys, HAVING, DISTINCT, ORDER BY,
 * LIMIT and OFFSET. Every column reference becomes the table's bare column name; select
 * aliases used in WHERE, GROUP BY, HAVING and ORDER BY are replaced by what they name, and
 * GROUP BY / ORDER BY positions by the items they point at, as DuckDB's binder reads them.
 * A shape that cannot be read with certainty declines (throws Decline with the reason).
 */
import { isJsonObject, type JsonObject } from '../../../json-object.js';
import { VOLATILE } from '../../plan/analyze/functions.js';
import { type Tree, treeKey } from '../../plan/analyze/trees.js';
import type { FunctionFacts } from './function-facts.js';
import { aliased, columnRef, expressionNodes, mapExpressions } from './tree-nodes.js';

/** Why a query is not planned in parts; the planner turns it into `{reason}`. */
export class Decline extends Error {}

export interface TableSchema {
  name: string;
  columns: string[];
  types: string[];
}

export interface SelectItem {
  expr: Tree;
  /** The alias the query gives, if any. */
  alias?: string;
}

/** An ORDER BY term: a select item (0-based) or an expression over the table's columns. */
export interface OrderBy {
  item?: number;
  expr?: Tree;
  descending: boolean;
  nullsFirst: boolean;
}

export interface SingleTableQuery {
  items: SelectItem[];
  where?: Tree;
  /** GROUP BY, GROUP BY ALL, HAVING or an aggregate anywhere: one row per group. */
  aggregate: boolean;
  keys: Tree[];
  having?: Tree;
  distinct: boolean;
  orders: OrderBy[];
  limit?: number;
  offset: number;
}

/** DuckDB's session defaults for `ORDER BY x` without ASC/DESC or NULLS FIRST/LAST. */
export interface OrderDefaults {
  descending: boolean;
  /** default_null_order, lower-case: nulls_last, nulls_first, nulls_first_on_asc_last_on_desc… */
  nullOrder: string;
}

/** Expression classes that mean the same in each part and at the merge. */
const PLAIN_CLASSES = new Set([
  'BETWEEN',
  'CASE',
  'CAST',
  'COLUMN_REF',
  'COMPARISON',
  'CONJUNCTION',
  'CONSTANT',
  'FUNCTION',
  'OPERATOR',
]);

const CLASS_REASONS: Record<string, string> = {
  SUBQUERY: 'a subquery',
  WINDOW: 'a window function',
  STAR: '* or COLUMNS() inside an expression',
  LAMBDA: 'a lambda',
  PARAMETER: 'a query parameter',
  COLLATE: 'COLLATE (gathered partial rows lose the collation)',
};

export class SingleTableReader {
  private readonly byLowerName: Map<string, string>;
  private readonly relation: string;

  constructor(
    private readonly node: JsonObject,
    private readonly table: TableSchema,
    private readonly facts: Map<string, FunctionFacts>,
    private readonly isAggregateName: (name: string) => boolean,
    private readonly defaults: OrderDefaults,
  ) {
    this.byLowerName = new Map(table.columns.map((c) => [c.toLowerCase(), c]));
    if (isJsonObject(node.cte_map) && Array.isArray(node.cte_map.map) && node.cte_map.map.length > 0)
      throw new Decline('the query has a WITH clause');
    this.relation = this.checkFrom();
  }

  read(): SingleTableQuery {
    const node = this.node;
    if (node.sample !== null && node.sample !== undefined) throw new Decline('the query samples rows');
    if (node.qualify !== null && node.qualify !== undefined) throw new Decline('the query has QUALIFY');
    this.checkFunctions();

    const items = this.selectItems();
    const aliasOf = (name: string, withAggregates: boolean): Tree | undefined => {
      const named = items.filter((i) => i.alias?.toLowerCase() === name.toLowerCase());
      if (named.length !== 1) return undefined;
      if (!withAggregates && this.hasAggregate(named[0].expr)) return undefined;
      return aliased(named[0].expr, '');
    };
    const where = isJsonObject(node.where_clause)
      ? this.normalize(node.where_clause, (n) => aliasOf(n, false))
      : undefined;
    if (where && this.hasAggregate(where)) throw new Decline('an aggregate in WHERE');
    const having = isJsonObject(node.having)
      ? this.normalize(node.having, (n) => aliasOf(n, true))
      : undefined;
    const { keys, grouped } = this.groupKeys(items, (n) => aliasOf(n, false));
    const { distinct, orders, limit, offset } = this.modifiers(items);
    const aggregate =
      grouped ||
      having !== undefined ||
      items.some((i) => this.hasAggregate(i.expr)) ||
      orders.some((o) => o.expr !== undefined && this.hasAggregate(o.expr));
    return { items, where, aggregate, keys, having, distinct, orders, limit, offset };
  }

  /** The FROM is the table itself (any alias), unsampled, columns not renamed; its name in the query. */
  private checkFrom(): string {
    const from = this.node.from_table;
    if (!isJsonObject(from) || from.type !== 'BASE_TABLE')
      throw new Decline('the query does not read a single table (a join, a subquery or a table function)');
    const name = String(from.table_name ?? '');
    if (name.toLowerCase() !== this.table.name.toLowerCase())
      throw new Decline(`the query reads ${name}, not ${this.table.name}`);
    const schema = String(from.schema_name ?? '').toLowerCase();
    if ((schema !== '' && schema !== 'main') || (from.catalog_name ?? '') !== '')
      throw new Decline(`the query names a catalog or schema for ${name}`);
    if (from.sample !== null && from.sample !== undefined) throw new Decline('the query samples rows');
    if (from.at_clause !== null && from.at_clause !== undefined)
      throw new Decline('the query has an AT clause');
    if (Array.isArray(from.column_name_alias) && from.column_name_alias.length > 0)
      throw new Decline(`the query renames the columns of ${name}`);
    return (typeof from.alias === 'string' && from.alias !== '' ? from.alias : name).toLowerCase();
  }

  private checkFunctions(): void {
    for (const f of expressionNodes(this.node)) {
      if (f.class !== 'FUNCTION') continue;
      const name = String(f.function_name).toLowerCase();
      // The parser itself names some built-ins main.row(), main.list_value().
      if (!['', 'main'].includes(String(f.schema ?? '')) || (f.catalog ?? '') !== '')
        throw new Decline(`the query calls ${f.schema}.${name}() by a qualified name`);
      const facts = this.facts.get(name);
      if (facts === undefined && !this.isAggregateName(name))
        throw new Decline(`DuckDB does not list the function ${name}()`);
      if (facts?.macro) throw new Decline(`${name}() is a macro`);
      if (facts?.volatile || VOLATILE.has(name))
        throw new Decline(`${name}() is not deterministic: each part could see another value`);
    }
  }

  isAggregate(tree: Tree): boolean {
    return tree.class === 'FUNCTION' && this.isAggregateName(String(tree.function_name).toLowerCase());
  }

  hasAggregate(tree: Tree): boolean {
    return expressionNodes(tree).some((n) => this.isAggregate(n));
  }

  /**
   * `tree` with each column reference made the table's bare column name; an unqualified name
   * that is no column is looked up by `alias` (a select alias). Anything else declines.
   */
  private normalize(tree: Tree, alias?: (name: string) => Tree | undefined): Tree {
    return mapExpressions(tree, (node) => {
      const cls = String(node.class);
      if (!PLAIN_CLASSES.has(cls))
        throw new Decline(`the query has ${CLASS_REASONS[cls] ?? `${cls} expressions`}`);
      if (cls !== 'COLUMN_REF') return undefined;
      const names = (Array.isArray(node.column_names) ? node.column_names : []).map(String);
      if (names.length === 2 && names[0].toLowerCase() === this.relation) names.shift();
      if (names.length !== 1)
        throw new Decline(`the column reference ${names.join('.')} is not a plain column`);
      const column = this.byLowerName.get(names[0].toLowerCase());
      if (column !== undefined) return columnRef(column);
      const named = alias?.(names[0]);
      if (named !== undefined) return named;
      throw new Decline(`${names[0]} is not a column of ${this.table.name}`);
    });
  }

  private selectItems(): SelectItem[] {
    const out: SelectItem[] = [];
    for (const item of Array.isArray(this.node.select_list) ? this.node.select_list : []) {
      if (!isJsonObject(item)) throw new Decline('an unreadable select item');
      if (item.class === 'STAR') {
        out.push(...this.expandStar(item));
        continue;
      }
      const alias = typeof item.alias === 'string' && item.alias !== '' ? item.alias : undefined;
      const expr = this.normalize(aliased(item, ''));
      const column = alias === undefined ? undefined : this.byLowerName.get(alias.toLowerCase());
      if (column !== undefined && treeKey(expr) !== treeKey(columnRef(column)))
        throw new Decline(`the alias ${alias} is also a column name of ${this.table.name}`);
      out.push({ expr, alias });
    }
    if (out.length === 0) throw new Decline('the query selects no columns');
    return out;
  }

  /** `*` or `t.*`, with EXCLUDE: the table's columns in order. */
  private expandStar(star: JsonObject): SelectItem[] {
    const relation = String(star.relation_name ?? '').toLowerCase();
    const empty = (v: unknown) => v === null || v === undefined || (Array.isArray(v) && v.length === 0);
    if (
      (relation !== '' && relation !== this.relation) ||
      star.columns === true ||
      !empty(star.expr) ||
      !empty(star.replace_list) ||
      !empty(star.rename_list) ||
      !empty(star.qualified_exclude_list)
    )
      throw new Decline('the query selects COLUMNS(), * REPLACE/RENAME or another relation’s *');
    const excluded = new Set(
      (Array.isArray(star.exclude_list) ? star.exclude_list : []).map((e) => String(e).toLowerCase()),
    );
    for (const e of excluded)
      if (!this.byLowerName.has(e)) throw new Decline(`* EXCLUDE names ${e}, which is not a column`);
    return this.table.columns
      .filter((c) => !excluded.has(c.toLowerCase()))
      .map((c) => ({ expr: columnRef(c) }));
  }

  private groupKeys(
    items: SelectItem[],
    alias: (name: string) => Tree | undefined,
  ): { keys: Tree[]; grouped: boolean } {
    const node = this.node;
    const exprs = Array.isArray(node.group_expressions) ? node.group_expressions.filter(isJsonObject) : [];
    const sets = Array.isArray(node.group_sets) ? node.group_sets : [];
    if (node.aggregate_handling === 'FORCE_AGGREGATES') {
      // GROUP BY ALL: the items without aggregates that read a column (DuckDB leaves constants out).
      const keys = items
        .map((i) => i.expr)
        .filter((e) => !this.hasAggregate(e) && expressionNodes(e).some((n) => n.class === 'COLUMN_REF'));
      return { keys: unique(keys), grouped: true };
    }
    if (node.aggregate_handling !== 'STANDARD_HANDLING')
      throw new Decline(`${node.aggregate_handling} grouping`);
    if (sets.length === 0 && exprs.length === 0) return { keys: [], grouped: false };
    const all = new Set(exprs.map((_, i) => i));
    const only = sets.length === 1 && Array.isArray(sets[0]) ? new Set(sets[0]) : undefined;
    if (!only || only.size !== all.size || ![...all].every((i) => only.has(i)))
      throw new Decline('GROUPING SETS, ROLLUP or CUBE');
    const keys = exprs.map((g) => {
      const position = positionOf(g);
      if (position !== undefined) {
        if (position < 1 || position > items.length)
          throw new Decline(`GROUP BY ${position} is out of range`);
        return aliased(items[position - 1].expr, '');
      }
      return this.normalize(g, alias);
    });
    if (keys.some((k) => this.hasAggregate(k))) throw new Decline('an aggregate in GROUP BY');
    return { keys: unique(keys), grouped: true };
  }

  private modifiers(items: SelectItem[]) {
    let distinct = false;
    let orders: OrderBy[] = [];
    let limit: number | undefined;
    let offset = 0;
    let stage = 0;
    const order = ['DISTINCT_MODIFIER', 'ORDER_MODIFIER', 'LIMIT_MODIFIER'];
    for (const m of Array.isArray(this.node.modifiers) ? this.node.modifiers : []) {
      if (!isJsonObject(m)) throw new Decline('an unreadable modifier');
      const at = order.indexOf(String(m.type));
      if (at < 0) throw new Decline(m.type === 'LIMIT_PERCENT_MODIFIER' ? 'LIMIT … PERCENT' : `${m.type}`);
      if (at < stage) throw new Decline('modifiers in an unusual order');
      stage = at + 1;
      if (m.type === 'DISTINCT_MODIFIER') {
        if (Array.isArray(m.distinct_on_targets) && m.distinct_on_targets.length > 0)
          throw new Decline('DISTINCT ON (which row it keeps depends on row order)');
        distinct = true;
      } else if (m.type === 'ORDER_MODIFIER') {
        orders = (Array.isArray(m.orders) ? m.orders : []).map((o) => this.orderTerm(o, items));
      } else {
        limit = m.limit === null || m.limit === undefined ? undefined : count(m.limit, 'LIMIT');
        offset = m.offset === null || m.offset === undefined ? 0 : count(m.offset, 'OFFSET');
      }
    }
    return { distinct, orders, limit, offset };
  }

  private orderTerm(o: unknown, items: SelectItem[]): OrderBy {
    if (!isJsonObject(o) || !isJsonObject(o.expression)) throw new Decline('an unreadable ORDER BY term');
    const e = o.expression;
    const descending = o.type === 'DESCENDING' || (o.type === 'ORDER_DEFAULT' && this.defaults.descending);
    const nullsFirst =
      o.null_order === 'NULLS FIRST' ||
      (o.null_order !== 'NULLS LAST' && defaultNullsFirst(this.defaults.nullOrder, descending));
    const term = { descending, nullsFirst };
    if (e.class === 'STAR') throw new Decline('ORDER BY ALL');
    const position = positionOf(e);
    if (position !== undefined) {
      if (position < 1 || position > items.length) throw new Decline(`ORDER BY ${position} is out of range`);
      return { ...term, item: position - 1 };
    }
    if (e.class === 'CONSTANT') throw new Decline('ORDER BY a constant');
    if (e.class === 'COLUMN_REF' && Array.isArray(e.column_names) && e.column_names.length === 1) {
      // ORDER BY binds a bare name to a select alias before a column.
      const name = String(e.column_names[0]).toLowerCase();
      const named = items.flatMap((it, i) => (it.alias?.toLowerCase() === name ? [i] : []));
      if (named.length > 1) throw new Decline(`ORDER BY ${name} names several select items`);
      if (named.length === 1) return { ...term, item: named[0] };
    }
    const expr = this.normalize(e);
    const same = items.findIndex((it) => treeKey(it.expr) === treeKey(expr));
    return same >= 0 ? { ...term, item: same } : { ...term, expr };
  }
}

function defaultNullsFirst(nullOrder: string, descending: boolean): boolean {
  switch (nullOrder) {
    case 'nulls_first':
      return true;
    case 'nulls_first_on_asc_last_on_desc':
      return !descending;
    case 'nulls_last_on_asc_first_on_desc':
      return descending;
    default:
      return false;
  }
}

/** An integer constant in GROUP BY or ORDER BY is a position in the select list. */
function positionOf(e: JsonObject): number | undefined {
  if (e.class !== 'CONSTANT' || !isJsonObject(e.value) || e.value.is_null === true) return undefined;
  const type = isJsonObject(e.value.type) ? e.value.type.id : undefined;
  if (type !== 'INTEGER' && type !== 'BIGINT') return undefined;
  return Number(e.value.value);
}

/** A LIMIT or OFFSET: a non-negative integer constant. */
function count(e: unknown, what: string): number {
  const n = isJsonObject(e) ? positionOf(e) : undefined;
  if (n === undefined || !Number.isSafeInteger(n) || n < 0)
    throw new Decline(`${what} is not a non-negative integer constant`);
  return n;
}

function unique(trees: Tree[]): Tree[] {
  const seen = new Set<string>();
  return trees.filter((t) => {
    const key = treeKey(t);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
