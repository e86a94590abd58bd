/**
 * Expressions a scan computes in its container (projection pushdown of expressions: Trino's
 * applyProjection, DataFusion's projection of expressions into a scan): where the coordinator's
 * SQL reads `expr(columns of one table use)`, the scan sends the value as a column of its own
 * and the SQL reads that column instead, so the columns only the expression reads are not
 * fetched. TPC-H Q14's `p_type LIKE 'PROMO%'` then travels as a BOOLEAN instead of the
 * string, Q7's `extract(year FROM l_shipdate)` as a year, `l_extendedprice * (1 - l_discount)`
 * as one number instead of two.
 *
 * Why the answer cannot change. An expression E whose every column resolves to one base-table
 * use U of the SELECT it stands in (no subquery, aggregate, window, parameter, lambda or
 * volatile function: predicates.ts' `conjunctUse`) has, on each row of U, one value, which
 * the container computes with the same DuckDB over the same row. U must not be NULL-extended
 * by an outer join of its FROM (E over an extended row's NULLs may be anything), nor read by
 * a `*` (the computed column would become an output column). E is replaced only where its
 * value per input row is all that matters and no name derives from its text:
 * - inside an aggregate's arguments (not a window's), in any clause;
 * - in a WHERE or ON conjunct the coordinator's SQL keeps (one the scan applies is left out
 *   whole: exact-filters.ts), evaluated per row where only its value matters;
 * - as a select item with an alias, or inside one, of a SELECT without GROUP BY or
 *   aggregates (where a select item must match a GROUP BY key by its text), nor DISTINCT ON,
 *   nor DISTINCT with an ORDER BY (whose expressions must match select items by their text);
 * - as a GROUP BY key (written in GROUP BY, or an aliased select item grouped by its ordinal
 *   or by GROUP BY ALL), every occurrence of it outside aggregates replaced alike, so that each
 *   still matches the key; none where one cannot be (`groupKeysIn`).
 * Only expressions whose scan then leaves a column out are kept: one that frees no column only
 * adds one. A container that cannot compute one fails the scan, and the query is gathered
 * again with the SQL as written (execute.ts), which then fails or answers as DuckDB would.
 */
import { isJsonObject, type JsonObject } from '../../../json-object.js';
import type { ComputedColumn } from '../../../protocol/frames.js';
import { columnSpelling } from './derived.js';
import type { Expr, From, Query } from './ir.js';
import { conjunctUse, splitAnd } from './predicates.js';
import type { DuckDbSql } from './print.js';
import { printTrees } from './print.js';
import type { CatalogTable, Need, Source, Use } from './scope.js';
import { columnNames, renameColumns, type Tree, treeKey } from './trees.js';

/** An expression of one use that its scan could compute. */
export interface Computable {
  /** its node in the parse tree */
  node: JsonObject;
  use: Use;
  /** the expression over the use's columns (catalog spelling), as its scan computes it */
  tree: Tree;
  /**
   * The WHERE or ON conjunct (as written) it stands in: where the scan applies that conjunct,
   * the coordinator's SQL leaves it out (exact-filters.ts), and nothing of it is computed.
   */
  within?: JsonObject;
}

/**
 * The expressions of one SELECT (not of its subqueries, which are SELECTs of their own) that a
 * scan could compute for it (the module comment says where). `resolve`: the column of this
 * SELECT's FROM a column reference certainly denotes.
 */
export function computableIn(
  q: Extract<Query, { k: 'select' }>,
  resolve: (parts: string[]) => Source | undefined,
  isResult: (t: CatalogTable) => boolean,
): Computable[] {
  const out: Computable[] = [];
  const computable = (e: Expr): Computable | undefined => {
    if (e.k === 'col' || !isJsonObject(e.raw)) return undefined;
    const use = conjunctUse(e, (parts) => resolve(parts)?.target);
    if (use?.kind !== 'use' || use.renamed || use.nullable || isResult(use.table)) return undefined;
    const tree = renameColumns(e.raw, (ref) => {
      const parts = Array.isArray(ref.column_names)
        ? ref.column_names.map((n) => String(n).toLowerCase())
        : [];
      const s = resolve(parts);
      return s && columnSpelling(s);
    });
    return tree && { node: e.raw, use, tree };
  };
  const visit = (e: Expr, allowed: boolean, within?: JsonObject): void => {
    const found = allowed ? computable(e) : undefined;
    if (found) {
      out.push(within ? { ...found, within } : found);
      return;
    }
    if (e.k === 'sub' || (e.k === 'fn' && e.window) || !('args' in e)) return;
    // An OR of a WHERE or ON over several tables may code keys by its branches, computed from
    // its tables' columns where their rows are (branch-codes.ts): those columns must come.
    if (within && e.k === 'op' && e.or) return;
    const inAggregate = e.k === 'fn' && e.agg;
    for (const a of e.args) visit(a, allowed || inAggregate, within);
  };
  // A WHERE or ON is evaluated per row of the FROM, where only a value matters.
  for (const c of [q.where, ...joinConditions(q.from)].flatMap((e) => splitAnd(e)))
    if (isJsonObject(c.raw)) visit(c, true, c.raw);
  // Under DISTINCT, an ORDER BY (or DISTINCT ON) expression must match a select item by its text.
  const matchedByText = q.distinct && (q.ordered || (q.barriers ?? []).includes('DISTINCT ON'));
  const rowwise = !q.grouped && !matchedByText && !(q.barriers ?? []).includes('aggregate');
  for (const item of q.select) if (item.alias !== undefined) visit(item.expr, rowwise);
  for (const e of q.other) visit(e, false);
  return q.groupBy ? [...out, ...groupKeysIn(q, computable)] : out;
}

/**
 * The nodes inside a select item without an alias, anywhere in the tree (a WHERE of a scalar
 * subquery in one too): that item's output column is named by its text, which a replacement
 * would change.
 */
function namedByText(tree: unknown): Set<JsonObject> {
  const inside = new Set<JsonObject>();
  const walk = (x: unknown, mark: boolean): void => {
    if (Array.isArray(x)) for (const y of x) walk(y, mark);
    if (!isJsonObject(x)) return;
    if (mark) inside.add(x);
    for (const [k, v] of Object.entries(x)) {
      if (k === 'select_list' && Array.isArray(v))
        for (const item of v) walk(item, mark || !(isJsonObject(item) && item.alias));
      else walk(v, mark);
    }
  };
  walk(tree, false);
  return inside;
}

/** The ON conditions of a FROM's joins. */
function joinConditions(f: From): Expr[] {
  if (f.k !== 'join') return [];
  return [...joinConditions(f.left), ...joinConditions(f.right), ...(f.on ? [f.on] : [])];
}

/** Whether `e` holds a subquery or a window function. */
function opaqueToKeys(e: Expr): boolean {
  if (e.k === 'sub' || (e.k === 'fn' && e.window)) return true;
  return 'args' in e && e.args.some(opaqueToKeys);
}

/** Whether a GROUP BY expression is the ordinal `i` (1-based) of a select item. */
function isOrdinal(e: Expr, i: number): boolean {
  const raw = e.raw;
  if (!isJsonObject(raw) || raw.class !== 'CONSTANT' || !isJsonObject(raw.value)) return false;
  const type = raw.value.type;
  return isJsonObject(type) && type.id === 'INTEGER' && raw.value.value === i;
}

/**
 * GROUP BY keys a scan could compute: each computable key expression (written in GROUP BY,
 * or an aliased select item grouped by its ordinal or by GROUP BY ALL), with every occurrence
 * of it outside aggregates, all replaced alike so that each still matches the key (DuckDB
 * matches a select item, HAVING or ORDER BY expression to a key by its text). None where an
 * occurrence could not be replaced with the others: in an unaliased select item (its text
 * names its column), a window or a subquery; nor under DISTINCT.
 */
function groupKeysIn(
  q: Extract<Query, { k: 'select' }>,
  computable: (e: Expr) => Computable | undefined,
): Computable[] {
  if (q.distinct || [...q.select.map((i) => i.expr), ...q.other].some(opaqueToKeys)) return [];
  const keyOf = (c: Computable) => `${c.use.id}:${treeKey(c.tree)}`;
  const keys = new Set<string>();
  for (const g of q.groupKeys ?? []) {
    const c = computable(g);
    if (c) keys.add(keyOf(c));
  }
  q.select.forEach((item, i) => {
    const c = item.alias === undefined ? undefined : computable(item.expr);
    if (c && (q.groupAll || (q.groupKeys ?? []).some((g) => isOrdinal(g, i + 1)))) keys.add(keyOf(c));
  });
  if (keys.size === 0) return [];
  const found = new Map<string, Computable[]>();
  const blocked = new Set<string>();
  const walk = (e: Expr, unaliased: boolean): void => {
    if (e.k === 'fn' && e.agg) return;
    const c = computable(e);
    if (c && keys.has(keyOf(c))) {
      if (unaliased) blocked.add(keyOf(c));
      found.set(keyOf(c), [...(found.get(keyOf(c)) ?? []), c]);
      return;
    }
    if ('args' in e) for (const a of e.args) walk(a, unaliased);
  };
  for (const item of q.select) walk(item.expr, item.alias === undefined);
  for (const e of q.other) walk(e, false);
  return [...found].flatMap(([key, cs]) => (blocked.has(key) ? [] : cs));
}

/** The computed columns chosen: the nodes they replace, and per scan what it computes. */
export interface ComputedColumns {
  by: Map<JsonObject, JsonObject>;
  scans: Map<string, ComputedColumn[]>;
  /** per catalog table, the names of its scans' computed columns */
  names: Map<string, string[]>;
}

export const NO_COMPUTED: ComputedColumns = { by: new Map(), scans: new Map(), names: new Map() };

interface Candidate extends Computable {
  scan: string;
  name: string;
  sql: string;
}

function chosen(candidates: Candidate[]): ComputedColumns {
  const by = new Map<JsonObject, JsonObject>();
  const scans = new Map<string, ComputedColumn[]>();
  const names = new Map<string, string[]>();
  for (const c of candidates) {
    const alias = typeof c.node.alias === 'string' ? c.node.alias : '';
    by.set(c.node, { class: 'COLUMN_REF', type: 'COLUMN_REF', alias, column_names: [c.use.binding, c.name] });
    const list = scans.get(c.scan) ?? [];
    if (!list.some((x) => x.name === c.name)) list.push({ name: c.name, sql: c.sql });
    scans.set(c.scan, list);
    const table = c.use.table.name;
    const named = names.get(table) ?? [];
    if (!named.includes(c.name)) named.push(c.name);
    names.set(table, named);
  }
  return { by, scans, names };
}

/**
 * The computed columns worth it among `computable`: over scanned tables no `*` reads, each
 * named apart from every catalog column, one per distinct expression of a scan, kept where
 * the scan then leaves out a column it read (`needsOf`: the columns each table's scans need
 * with a choice in place; undefined where that cannot be told).
 */
export async function computedColumns(
  x: {
    /** the statement's parse tree */
    parsed: unknown;
    computable: Computable[];
    needs: Map<string, Need>;
    scanOf: (u: Use) => string;
    scanned: Set<string>;
    catalog: { columns: string[] }[];
  },
  needsOf: (c: ComputedColumns) => Map<string, Need> | undefined,
  duckDb: DuckDbSql,
): Promise<ComputedColumns> {
  const scanned = [...new Map(x.computable.map((c) => [c.node, c])).values()].filter(
    (c) => x.scanned.has(x.scanOf(c.use)) && !x.needs.get(c.use.table.name)?.all,
  );
  // The whole tree is walked only where something may be computed.
  const named = scanned.length > 0 ? namedByText(x.parsed) : new Set<JsonObject>();
  const eligible = scanned.filter((c) => !named.has(c.node));
  if (eligible.length === 0) return NO_COMPUTED;
  const texts = await printTrees(
    eligible.map((c) => c.tree),
    duckDb,
  );
  const taken = new Set(x.catalog.flatMap((t) => t.columns.map((c) => c.toLowerCase())));
  const nameOf = new Map<string, string>();
  let next = 0;
  const fresh = (): string => {
    let name = `__computed_${next++}`;
    while (taken.has(name)) name = `__computed_${next++}`;
    return name;
  };
  let candidates: Candidate[] = eligible.flatMap((c, i) => {
    const sql = texts[i];
    if (sql === undefined) return [];
    const scan = x.scanOf(c.use);
    const key = JSON.stringify([scan, sql]);
    const name = nameOf.get(key) ?? fresh();
    nameOf.set(key, name);
    return [{ ...c, scan, name, sql }];
  });
  // Dropping one that frees nothing may make another's columns needed again: a few rounds.
  for (let round = 0; round < 3 && candidates.length > 0; round++) {
    const needs = needsOf(chosen(candidates));
    if (!needs) return NO_COMPUTED;
    const frees = (c: Candidate) =>
      [...columnNames(c.tree)].some((col) => !needs.get(c.use.table.name)?.cols.has(col));
    const kept = candidates.filter(frees);
    if (kept.length === candidates.length) break;
    candidates = kept;
  }
  return candidates.length === 0 ? NO_COMPUTED : chosen(candidates);
}
