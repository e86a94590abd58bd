/**
 * Aggregating subqueries of one table, run in that table's container (issue 16): in a query
 * that reads several tables, a derived table, CTE body or IN/EXISTS/scalar subquery such as
 * `(SELECT label_id, count(*) AS n FROM label_urls WHERE … GROUP BY label_id) x` is sent
 * whole to label_urls' container (the scan request's `query`), its rows land in a TEMP table
 * of the query's connection, and the user's SQL runs with that subquery replaced by the TEMP
 * table (same alias, same column aliases). The table itself is gathered only where the SQL
 * still reads it elsewhere. Over a split table the subquery is aggregated in its parts and
 * merged here into that TEMP table (shards/partial-gather.ts), where that is exact.
 *
 * Exact only where the subquery means the same alone as in the query, so a subquery is pushed
 * only when: its FROM is one catalog table by its bare name (no CTE of the query has
 * that name), it has no subquery, CTE, sample or query parameter of its own, it binds alone
 * over that table (DuckDB's binder: a correlated or LATERAL reference to the outer query does
 * not), it aggregates (GROUP BY, an aggregate, HAVING or DISTINCT: else a scan moves no more
 * rows), and its output column names are distinct. Both the subquery and the rewritten query
 * are printed by DuckDB and must parse back to the very trees reasoned about.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { deserializedSql, serializedSql } from '../duckdb/parse-tree.js';
import { quoteIdent } from '../duckdb/sql.js';
import { QueryError } from '../errors.js';
import { isJsonObject, type JsonObject } from '../json-object.js';
import { type QueryAnalysis, scanName } from './analyze/index.js';
import { withoutLocations } from './analyze/print.js';
import { treeKey } from './analyze/trees.js';
import type { CatalogTable } from './catalog.js';
import { type GatherOptions, type GatherStats, gatherFrames, TempTableTarget } from './gather.js';
import { functionFacts } from './shards/function-facts.js';
import { gatherPartials, partialPlanOf, schemaOf } from './shards/partial-gather.js';
import { baseTable, expressionNodes } from './shards/tree-nodes.js';

/** One subquery to run in its table's container, its rows into TEMP table `temp`. */
export interface PushedSubquery {
  table: string;
  /** the name the SQL read the table by (lower-case): its name, or one of its scans' (reference-scans.ts) */
  read: string;
  query: string;
  temp: string;
}

export interface SubqueryPlan {
  subqueries: PushedSubquery[];
  /** The user's SQL with each pushed subquery replaced by its TEMP table. */
  sql: string;
  /** Catalog tables (lower-case) the rewritten SQL no longer reads. */
  unread: Set<string>;
}

/** The columns and types of the catalog tables a subquery may read (queryable). */
export type PushableTable = (
  name: string,
  read: string,
) => { name: string; columns: string[]; types: string[] } | undefined;

/**
 * Whether `table`'s containers can answer subquery `sql` into TEMP table `temp`: every
 * unsplit one can; a split table's parts only where it decomposes (partial-aggregate.ts).
 */
export type AcceptsSubquery = (table: string, sql: string, temp: string) => Promise<boolean>;

const TEMP_PREFIX = '__subquery_';

/** Where a split table's parts put their partial rows of the subquery gathered into `temp`. */
function partialsOf(temp: string): string {
  return `${temp}#partials`;
}

/** Every object of `tree` (itself included) that `match` accepts, depth first. */
function objectsOf(tree: unknown, match: (o: JsonObject) => boolean): JsonObject[] {
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

const isBaseTable = (o: JsonObject) => o.type === 'BASE_TABLE' && typeof o.table_name === 'string';

function cteNames(tree: unknown): Set<string> {
  const names = new Set<string>();
  for (const m of objectsOf(tree, (o) => isJsonObject(o.cte_map)))
    for (const e of (m.cte_map as JsonObject).map as unknown[])
      if (isJsonObject(e)) names.add(String(e.key).toLowerCase());
  return names;
}

/** The statement wrapper of `node`, as json_serialize_sql writes it. */
function statement(node: JsonObject): string {
  return JSON.stringify({ error: false, statements: [{ node, named_param_map: [] }] });
}

/** DuckDB's print of `node`, if it parses back to the very same tree. */
async function printed(con: DuckDBConnection, node: JsonObject): Promise<string | undefined> {
  const [sql] = await deserializedSql(con, [statement(node)]);
  if (sql === undefined) return undefined;
  const again = withoutLocations(await serializedSql(con, sql));
  const back = isJsonObject(again) && Array.isArray(again.statements) ? again.statements : [];
  return back.length === 1 && isJsonObject(back[0]) && treeKey(back[0].node) === treeKey(node)
    ? sql
    : undefined;
}

/**
 * The table a SELECT node may be pushed to, if it is exact and worth it (the module comment);
 * its output column names are checked by binding it alone over an empty copy of the table.
 */
async function pushableTable(
  con: DuckDBConnection,
  node: JsonObject,
  ctes: Set<string>,
  lookup: PushableTable,
  aggregates: (name: string) => boolean,
  scans: Map<string, string>,
): Promise<{ table: string; read: string; sql: string } | undefined> {
  if (node.type !== 'SELECT_NODE') return undefined;
  const from = node.from_table;
  if (!isJsonObject(from) || !isBaseTable(from)) return undefined;
  if (from.sample !== null || from.at_clause !== null || node.sample !== null) return undefined;
  const read = String(from.table_name).toLowerCase();
  // A reference renamed to a scan of its own reads its table in the container.
  const scanOf = from.catalog_name === 'temp' && from.schema_name === 'main' ? scans.get(read) : undefined;
  if (scanOf === undefined && ((from.schema_name ?? '') !== '' || (from.catalog_name ?? '') !== ''))
    return undefined;
  const name = scanOf ?? read;
  const table = lookup(name, read);
  if (!table || ctes.has(name)) return undefined;
  const own = { ...node, from_table: null };
  if (objectsOf(own, (o) => o.type === 'SUBQUERY' || o.class === 'SUBQUERY' || isBaseTable(o)).length > 0)
    return undefined;
  if (cteNames(node).size > 0 || objectsOf(own, (o) => o.class === 'PARAMETER').length > 0) return undefined;
  const modifiers = Array.isArray(node.modifiers) ? node.modifiers.filter(isJsonObject) : [];
  const groups = Array.isArray(node.group_expressions) ? node.group_expressions : [];
  const aggregating =
    groups.length > 0 ||
    node.aggregate_handling === 'FORCE_AGGREGATES' ||
    (node.having !== null && node.having !== undefined) ||
    modifiers.some((m) => m.type === 'DISTINCT_MODIFIER') ||
    expressionNodes(node.select_list).some(
      (n) => n.class === 'FUNCTION' && aggregates(String(n.function_name).toLowerCase()),
    );
  if (!aggregating) return undefined;
  const pushed = scanOf
    ? { ...node, from_table: { ...from, catalog_name: '', schema_name: '', table_name: table.name } }
    : node;
  const sql = await printed(con, pushed);
  if (sql === undefined) return undefined;
  // Bound alone, the FROM names a CTE that is an empty copy of the table: a reference to the
  // outer query fails to bind here.
  const columns = table.columns.map((c, i) => `NULL::${table.types[i]} AS ${quoteIdent(c)}`);
  const probe = `WITH ${quoteIdent(scanOf ? table.name : String(from.table_name))} AS (SELECT ${columns.join(', ')} WHERE false) ${sql}`;
  try {
    const prepared = await con.prepare(probe);
    try {
      const names = Array.from({ length: prepared.columnCount }, (_, i) =>
        prepared.columnName(i).toLowerCase(),
      );
      if (new Set(names).size !== names.length) return undefined;
    } finally {
      prepared.destroySync();
    }
  } catch {
    return undefined;
  }
  return { table: table.name, read, sql };
}

/** The tree of `SELECT * FROM temp.main.<temp>`. */
async function selectAllOf(con: DuckDBConnection, temp: string): Promise<JsonObject> {
  const tree = withoutLocations(await serializedSql(con, `SELECT * FROM temp.main.${quoteIdent(temp)}`));
  return ((tree as JsonObject).statements as JsonObject[])[0].node as JsonObject;
}

/**
 * The subqueries of `sql` to push to their tables' containers, and the SQL over their TEMP
 * tables; undefined when there is none.
 */
export async function planSubqueryPushdown(
  con: DuckDBConnection,
  sql: string,
  lookup: PushableTable,
  accepts: AcceptsSubquery = async () => true,
  scans: Map<string, string> = new Map(),
): Promise<SubqueryPlan | undefined> {
  const tree = withoutLocations(await serializedSql(con, sql));
  if (!isJsonObject(tree) || tree.error === true || !Array.isArray(tree.statements)) return undefined;
  if (tree.statements.length !== 1 || !isJsonObject(tree.statements[0])) return undefined;
  const root = tree.statements[0].node;
  if (!isJsonObject(root)) return undefined;
  const ctes = cteNames(root);
  const facts = await functionFacts(con);
  const aggregates = (name: string) => facts.get(name)?.aggregate === true;
  const subqueries: PushedSubquery[] = [];
  const push = async (node: unknown): Promise<string | undefined> => {
    if (!isJsonObject(node)) return undefined;
    const pushable = await pushableTable(con, node, ctes, lookup, aggregates, scans);
    if (pushable === undefined) return undefined;
    const temp = `${TEMP_PREFIX}${subqueries.length}`;
    if (!(await accepts(pushable.table, pushable.sql, temp))) return undefined;
    subqueries.push({ table: pushable.table, read: pushable.read, query: pushable.sql, temp });
    return temp;
  };
  const tempTable = (temp: string) => baseTable(temp, 'main', 'temp');
  // Derived tables (table refs: expressions have a class), with an alias (DuckDB names a bare
  // one, which the rewrite would lose) and unsampled.
  for (const ref of objectsOf(
    root,
    (o) => o.type === 'SUBQUERY' && !('class' in o) && isJsonObject(o.subquery),
  )) {
    if (typeof ref.alias !== 'string' || ref.alias === '' || ref.sample !== null) continue;
    const temp = await push((ref.subquery as JsonObject).node);
    if (temp === undefined) continue;
    const replacement = { ...tempTable(temp), alias: ref.alias, column_name_alias: ref.column_name_alias };
    for (const k of Object.keys(ref)) delete ref[k];
    Object.assign(ref, replacement);
  }
  // Expression subqueries (IN, EXISTS, scalar): their SELECT reads the TEMP table.
  for (const expr of objectsOf(root, (o) => o.class === 'SUBQUERY' && isJsonObject(o.subquery))) {
    const subquery = expr.subquery as JsonObject;
    const temp = await push(subquery.node);
    if (temp !== undefined) subquery.node = await selectAllOf(con, temp);
  }
  // CTE bodies: the CTE keeps its name and column aliases, its body reads the TEMP table.
  for (const holder of objectsOf(root, (o) => isJsonObject(o.cte_map))) {
    for (const entry of ((holder.cte_map as JsonObject).map as unknown[]).filter(isJsonObject)) {
      const value = entry.value;
      if (!isJsonObject(value) || !isJsonObject(value.query)) continue;
      const temp = await push(value.query.node);
      if (temp === undefined) continue;
      value.query.node = await selectAllOf(con, temp);
    }
  }
  if (subqueries.length === 0) return undefined;
  const rewritten = await printed(con, root);
  if (rewritten === undefined) return undefined;
  const stillRead = new Set(objectsOf(root, isBaseTable).map((o) => String(o.table_name).toLowerCase()));
  const unread = new Set(subqueries.map((s) => s.read).filter((t) => !stillRead.has(t)));
  return { subqueries, sql: rewritten, unread };
}

/** `analysis` without the tables the rewritten SQL no longer reads, nor reductions from or to them. */
export function withoutUnread(analysis: QueryAnalysis, unread: Set<string>): QueryAnalysis {
  const read = (t: string) => !unread.has(t.toLowerCase());
  const kept = (r: { table: string; source: string }) => read(r.table) && read(r.source);
  return {
    ...analysis,
    tables: analysis.tables.filter((t) => read(scanName(t))),
    references: analysis.references.filter((r) => read(r.scan ?? r.table)),
    reductions: analysis.reductions.filter(kept),
    otherReductions: analysis.otherReductions.filter(kept),
  };
}

/** The catalog tables whose containers can run a query over them by their name. */
export type QueryableTable = (name: string) => CatalogTable | undefined;

/**
 * The pushdown of `sql`'s subqueries (EXPLAIN shows it), and what is then left to gather
 * table by table; undefined when none is pushed.
 */
export async function subqueryPlanOf(
  con: DuckDBConnection,
  sql: string,
  analysis: QueryAnalysis,
  tableOf: QueryableTable,
): Promise<{ plan: SubqueryPlan; analysis: QueryAnalysis } | undefined> {
  // A query of one table runs whole in its container, or in the parts of a split one.
  if (analysis.tables.length < 2) return undefined;
  const schemaOfName = (name: string) => {
    const table = tableOf(name);
    return table && schemaOf(table);
  };
  const accepts: AcceptsSubquery = async (name, query, temp) => {
    const table = tableOf(name);
    if (!table?.parts) return true;
    const plan = await partialPlanOf(query, table, con, partialsOf(temp));
    return !('reason' in plan) && plan.reducesRows;
  };
  // The later scans of a table with several (reference-scans.ts): their references read them by that name.
  const scans = new Map(analysis.tables.flatMap((t) => (t.scan ? [[t.scan.toLowerCase(), t.table]] : [])));
  const plan = await planSubqueryPushdown(con, sql, schemaOfName, accepts, scans);
  if (!plan) return undefined;
  if (plan.subqueries.every((s) => plan.unread.has(s.read)))
    return { plan, analysis: withoutUnread(analysis, plan.unread) };
  // A table the SQL reads elsewhere too is gathered anyway, with every row and column its
  // subqueries need (the analysis plans its scan for all its references): pushing them would
  // only add a round trip. Planned again without them, the others are pushed as before (a
  // pushed subquery holds no other).
  const unread = plan.unread;
  const again = await planSubqueryPushdown(
    con,
    sql,
    (name, read) => (unread.has(read) ? schemaOfName(name) : undefined),
    accepts,
    scans,
  );
  return again && { plan: again, analysis: withoutUnread(analysis, again.unread) };
}

export interface PushedSubqueries {
  /** The SQL to run over the gathered tables. */
  sql: string;
  /** What is left to gather table by table. */
  analysis: QueryAnalysis;
  /** Starts the subqueries' gathers (once the scans are sure to start too: they share `con`). */
  start: () => Promise<GatherStats>[];
}

/** Plans the pushdown of `sql`'s subqueries, and how to gather them; undefined when none is pushed. */
export async function pushSubqueries(
  con: DuckDBConnection,
  sql: string,
  analysis: QueryAnalysis,
  tableOf: QueryableTable,
  opts: GatherOptions,
): Promise<PushedSubqueries | undefined> {
  const planned = await opts.serial.run(() => subqueryPlanOf(con, sql, analysis, tableOf));
  if (!planned) return undefined;
  const tables = planned.plan.subqueries.map((s) => tableOf(s.table));
  if (tables.some((t) => t === undefined)) return undefined;
  const start = () =>
    planned.plan.subqueries.map((s, i) => {
      const table = tables[i] as CatalogTable;
      if (table.parts) return gatherMerged(con, s, { ...table, parts: table.parts }, opts);
      return gatherFrames(
        table,
        { columns: [], query: s.query },
        opts,
        new TempTableTarget(con, s.temp, { serial: opts.serial }),
      );
    });
  return { sql: planned.plan.sql, analysis: planned.analysis, start };
}

/** A split table's subquery: aggregated in its parts, merged into its TEMP table here. */
async function gatherMerged(
  con: DuckDBConnection,
  subquery: PushedSubquery,
  table: CatalogTable & { parts: NonNullable<CatalogTable['parts']> },
  opts: GatherOptions,
): Promise<GatherStats> {
  const gathered = await gatherPartials(
    con,
    subquery.query,
    table,
    undefined,
    opts,
    partialsOf(subquery.temp),
  );
  // Planned with the same plan (accepts), which decomposes and reduces rows.
  if (!gathered || 'reason' in gathered) {
    throw new QueryError('internal', `the subquery of ${table.name} could not be aggregated in its parts`);
  }
  await opts.serial.run(() =>
    con.run(`CREATE TEMP TABLE ${quoteIdent(subquery.temp)} AS ${gathered.mergeSql}`),
  );
  return { ...gathered.stats, query: subquery.query };
}
