/**
 * Filters a scan applies exactly, left out of the coordinator's SQL (DataFusion's `Exact`
 * filter pushdown, Trino's applyFilter without a remaining filter): the coordinator does not
 * evaluate them again, and the columns only they name are not fetched. TPC-H Q4's
 * `EXISTS (SELECT * FROM lineitem WHERE l_orderkey = o_orderkey AND l_commitdate <
 * l_receiptdate)` then moves each distinct l_orderkey once, not (l_orderkey, l_commitdate,
 * l_receiptdate) per line.
 *
 * Why the answer cannot change. An AND-conjunct P of a WHERE or ON as written, pushed whole to
 * a base-table use U (predicates.ts: U is not NULL-extended where P is evaluated), is
 * evaluated over rows whose U columns are a row of the TEMP table U reads, that is, of U's
 * scan. When that scan's `where` holds P as an AND-term (every reference reading the scan has
 * P among its terms), every such row satisfies P, so P is TRUE wherever it is evaluated, and
 * leaving it out of its AND (or the WHERE) changes no row. A conjunct node walked more than
 * once must have gone whole every time. Not one inside a select list, even of a subquery: an
 * expression there without an alias names its output column by its text. The columns then
 * needed are those of the rewritten query.
 *
 * This holds only where the scans apply their `where`: the executor sends the SQL as written
 * when pushdown is off, and gathers again with it when a container declines an applied one.
 */
import { isJsonObject, type JsonObject } from '../../../json-object.js';
import { type ComputedColumns, computedColumns, NO_COMPUTED } from './computed-columns.js';
import { duckDbStatement, lowerDuckDb, selectListOf } from './duckdb-tree.js';
import { type ExactScan, scanName, type TableCatalogEntry, type TableScanPlan } from './plan.js';
import { type DuckDbSql, withoutLocations } from './print.js';
import { replaced, rewrittenSql } from './reference-scans.js';
import { type Resolution, Resolver, type Use } from './scope.js';
import { treeKey } from './trees.js';

export interface ExactFilters {
  /** the SQL to run over the gathered TEMP tables with the applied conjuncts left out */
  sql: string;
  /** per scan: its columns then, and the AND-terms of its `where` left out of `sql` */
  scans: Map<string, ExactScan>;
}

export interface ExactInputs {
  parsed: unknown;
  sql: string;
  resolved: Resolution;
  /** the printed text of each pushed tree (by treeKey) */
  printed: Map<string, string>;
  /** each use's printed filter terms */
  termsOf: Map<Use, string[]>;
  scanOf: (u: Use) => string;
  tables: TableScanPlan[];
  /** nodes already replaced in the coordinator's SQL (references reading scans of their own) */
  renamed: Map<JsonObject, JsonObject>;
  /** the catalog and the pushed subqueries' results, for the rewritten query's columns */
  catalog: TableCatalogEntry[];
  results: TableCatalogEntry[];
}

/** The conjunct nodes every walk of which went whole to a use whose scan applies it; per scan the terms. */
function appliedConjuncts(x: ExactInputs): { nodes: Set<JsonObject>; applied: Map<string, Set<string>> } {
  const scanned = new Set(x.tables.map(scanName));
  const results = new Set(x.results.map((r) => r.name));
  const readers = (scan: string) => x.resolved.uses.filter((u) => x.scanOf(u) === scan);
  const nodes = new Set<JsonObject>();
  const applied = new Map<string, Set<string>>();
  const named = inSelectLists(x.parsed, new Set(x.resolved.conjuncts.keys()));
  for (const [node, walks] of x.resolved.conjuncts) {
    if (named.has(node)) continue;
    const terms: { scan: string; text: string }[] = [];
    for (const walk of walks) {
      if (!walk || results.has(walk.use.table.name)) break;
      const text = x.printed.get(treeKey(walk.tree));
      const scan = x.scanOf(walk.use);
      if (text === undefined || !scanned.has(scan)) break;
      if (!readers(scan).every((u) => x.termsOf.get(u)?.includes(text))) break;
      terms.push({ scan, text });
    }
    if (walks.length === 0 || terms.length !== walks.length) continue;
    nodes.add(node);
    for (const { scan, text } of terms) applied.set(scan, (applied.get(scan) ?? new Set()).add(text));
  }
  return { nodes, applied };
}

/** DuckDB's tree of the constant TRUE. */
async function trueNode(duckDb: DuckDbSql): Promise<JsonObject | undefined> {
  const [node] = selectListOf(withoutLocations(await duckDb.parse('SELECT true'))) ?? [];
  return isJsonObject(node) ? node : undefined;
}

/** Those of `nodes` inside a select list anywhere in `tree`. */
function inSelectLists(tree: unknown, nodes: Set<JsonObject>): Set<JsonObject> {
  const found = new Set<JsonObject>();
  const walk = (x: unknown, inList: boolean): void => {
    if (Array.isArray(x)) for (const y of x) walk(y, inList);
    if (!isJsonObject(x)) return;
    if (inList && nodes.has(x)) found.add(x);
    for (const [k, v] of Object.entries(x)) walk(v, inList || k === 'select_list');
  };
  walk(tree, false);
  return found;
}

/**
 * Replacements that leave `nodes` (AND-conjuncts of WHEREs and ONs) out: an AND keeps its
 * other terms (one left stands alone), a WHERE of only such terms goes, an ON becomes TRUE.
 */
function leftOut(tree: unknown, nodes: Set<JsonObject>, constant: JsonObject): Map<JsonObject, JsonObject> {
  const by = new Map<JsonObject, JsonObject>();
  const gone = (c: unknown): boolean => isJsonObject(c) && nodes.has(c);
  const terms = (c: unknown): unknown[] =>
    isJsonObject(c) && c.type === 'CONJUNCTION_AND' && Array.isArray(c.children) ? c.children : [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) for (const y of x) walk(y);
    if (!isJsonObject(x)) return;
    if (terms(x).some(gone)) {
      const kept = terms(x).filter((c) => !gone(c));
      const only = kept.length === 1 && isJsonObject(kept[0]) ? kept[0] : undefined;
      by.set(x, kept.length === 0 ? constant : (only ?? { ...x, children: kept }));
    }
    const where = x.where_clause;
    if (gone(where) || (terms(where).length > 0 && terms(where).every(gone)))
      by.set(x, { ...x, where_clause: null });
    for (const v of Object.values(x)) walk(v);
  };
  walk(tree);
  // A conjunct that is a whole ON (or anything else): the constant TRUE in its place.
  for (const n of nodes) if (!by.has(n)) by.set(n, constant);
  return by;
}

/**
 * The scans and the coordinator's SQL: with the exact filters left to the containers
 * (`exact`: pushdown on and no container declined one), each scan fetches only the columns
 * the rest of the query needs and the SQL leaves those filters out; else `asWritten`.
 */
export function exactOrAsWritten(
  analysis: { tables: TableScanPlan[]; exactSql?: string },
  exact: boolean,
  asWritten: string,
): { plans: TableScanPlan[]; sql: string; exact: boolean } {
  if (!exact || analysis.exactSql === undefined)
    return { plans: analysis.tables, sql: asWritten, exact: false };
  const plans = analysis.tables.map((p) =>
    p.exact ? { ...p, columns: p.exact.columns, ...(p.exact.computed && { computed: p.exact.computed }) } : p,
  );
  return { plans, sql: analysis.exactSql, exact: true };
}

/**
 * The columns each catalog table's scans need in `parsed` with `by` in place, the computed
 * columns among them (`names`, per table); undefined where that cannot be told.
 */
function neededColumns(
  x: ExactInputs,
  by: Map<JsonObject, JsonObject>,
  names: Map<string, string[]>,
): Resolution['needs'] | undefined {
  const catalog = x.catalog.map((t) => {
    const computed = names.get(t.name);
    return computed ? { name: t.name, columns: [...t.columns, ...computed] } : t;
  });
  try {
    // Catalog names, not the scans' TEMP names (x.renamed is left out).
    const statement = duckDbStatement(replaced(x.parsed, by), x.sql);
    return new Resolver(catalog, true, x.results).resolve(lowerDuckDb(statement).query).needs;
  } catch {
    return undefined;
  }
}

/**
 * The SQL without the conjuncts its scans apply and with the expressions they compute read
 * from their columns (computed-columns.ts), and the scans' columns then; undefined: neither.
 */
export async function exactFilters(x: ExactInputs, duckDb: DuckDbSql): Promise<ExactFilters | undefined> {
  const found = appliedConjuncts(x);
  const constant = found.nodes.size > 0 ? await trueNode(duckDb) : undefined;
  const applied = constant ? found.applied : new Map<string, Set<string>>();
  const out = constant ? leftOut(x.parsed, found.nodes, constant) : new Map<JsonObject, JsonObject>();
  let computed = await computedColumns(
    {
      parsed: x.parsed,
      // Nothing of a conjunct left out of the SQL: its scan applies it.
      computable: x.resolved.computable.filter((c) => !c.within || !(constant && found.nodes.has(c.within))),
      needs: x.resolved.needs,
      scanOf: x.scanOf,
      scanned: new Set(x.tables.map(scanName)),
      catalog: [...x.catalog, ...x.results],
    },
    (c) => neededColumns(x, new Map([...out, ...c.by]), c.names),
    duckDb,
  );
  if (out.size === 0 && computed.by.size === 0) return undefined;
  const rewritten = (c: ComputedColumns) =>
    rewrittenSql(x.parsed, new Map([...x.renamed, ...out, ...c.by]), duckDb);
  let sql = await rewritten(computed);
  if (sql === undefined && computed.by.size > 0 && out.size > 0) {
    computed = NO_COMPUTED;
    sql = await rewritten(computed);
  }
  if (sql === undefined) return undefined;
  const needs = neededColumns(x, new Map([...out, ...computed.by]), computed.names);
  if (!needs) return undefined;
  const scans = new Map<string, ExactScan>();
  for (const plan of x.tables) {
    const need = needs.get(plan.table);
    const columns = need ? plan.columns.filter((c) => need.all || need.cols.has(c.toLowerCase())) : [];
    const terms = [...(applied.get(scanName(plan)) ?? [])];
    const mine = computed.scans.get(scanName(plan)) ?? [];
    if (terms.length > 0 || columns.length < plan.columns.length || mine.length > 0)
      scans.set(scanName(plan), { columns, applied: terms, ...(mine.length > 0 && { computed: mine }) });
  }
  return { sql, scans };
}
