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
import { serializedSql } from '../../duckdb/parse-tree.js';
import { quoteIdent } from '../../duckdb/sql.js';
import { QueryError } from '../../errors.js';
import { isJsonObject, type JsonObject } from '../../json-object.js';
import { Lru } from '../../lru.js';
import type { CatalogTable } from '../catalog/catalog.js';
import { type GatherOptions, type GatherStats, gatherFrames, TempTableTarget } from '../execute/gather.js';
import { useful } from '../execute/reduction-schedule.js';
import { functionFacts } from '../execute/shards/function-facts.js';
import { gatherPartials, partialPlanOf, schemaOf } from '../execute/shards/partial-gather.js';
import { baseTable, expressionNodes } from '../execute/shards/tree-nodes.js';
import type { QueryAnalysis, ResultTable } from './analyze/index.js';
import { withoutLocations } from './analyze/print.js';
import { treeKey } from './analyze/trees.js';
import { eagerAggregation, MIN_REDUCTION } from './eager-aggregation.js';
import { cteNames, isBaseTable, objectsOf, printed, statementNode } from './query-tree.js';

/** One subquery to run in its table's container, its rows into TEMP table `temp`. */
export interface PushedSubquery {
  table: string;
  /** the name the SQL read the table by (lower-case): its name, or one of its scans' (reference-scans.ts) */
  read: string;
  query: string;
  temp: string;
  /**
   * its SELECT node, as treeKey prints it, a FROM renamed to a scan read as its table (the
   * analysis names IN subqueries so)
   */
  key: string;
  /** its output column names, as DuckDB names them (the TEMP table's columns) */
  columns: string[];
  /** their DuckDB types */
  types: string[];
}

export interface SubqueryPlan {
  subqueries: PushedSubquery[];
  /** What eager aggregation made of the query before its subqueries were pushed. */
  eager?: string;
  /** The user's SQL with each pushed subquery replaced by its TEMP table. */
  sql: string;
  /** Names (lower-case) the rewritten SQL no longer reads: catalog tables, or their scans (`read`). */
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
): Promise<(Omit<PushedSubquery, 'temp' | 'query'> & { sql: string }) | undefined> {
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
  const empty = table.columns.map((c, i) => `NULL::${table.types[i]} AS ${quoteIdent(c)}`);
  const probe = `WITH ${quoteIdent(scanOf ? table.name : String(from.table_name))} AS (SELECT ${empty.join(', ')} WHERE false) ${sql}`;
  let columns: string[];
  let types: string[];
  try {
    const prepared = await con.prepare(probe);
    try {
      columns = Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnName(i));
      types = Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnType(i).toString());
    } finally {
      prepared.destroySync();
    }
  } catch {
    return undefined;
  }
  if (new Set(columns.map((c) => c.toLowerCase())).size !== columns.length) return undefined;
  // Named as in the user's SQL, where the analysis named it (a renamed FROM read its table there).
  return { table: table.name, read, sql, key: treeKey(pushed), columns, types };
}

/** The tree of `SELECT * FROM temp.main.<temp>`. */
async function selectAllOf(con: DuckDBConnection, temp: string): Promise<JsonObject> {
  const tree = withoutLocations(await serializedSql(con, `SELECT * FROM temp.main.${quoteIdent(temp)}`));
  return ((tree as JsonObject).statements as JsonObject[])[0].node as JsonObject;
}

/**
 * The subqueries of `sql` to push to their tables' containers, and the SQL over their TEMP
 * tables; undefined when there is none. `keep` may decline a pushable subquery, by the name
 * its FROM reads (`PushedSubquery.read`) and its key. `scans` are the references renamed to
 * scans of their own (reference-scans.ts), each to its table: read back as that table in the
 * rewritten SQL.
 */
export async function planSubqueryPushdown(
  con: DuckDBConnection,
  sql: string,
  lookup: PushableTable,
  accepts: AcceptsSubquery = async () => true,
  keep: (read: string, key: string) => boolean = () => true,
  scans: Map<string, string> = new Map(),
): Promise<SubqueryPlan | undefined> {
  const root = await statementNode(con, sql);
  if (!root) return undefined;
  const ctes = cteNames(root);
  const facts = await functionFacts(con);
  const aggregates = (name: string) => facts.get(name)?.aggregate === true;
  const subqueries: PushedSubquery[] = [];
  const push = async (node: unknown): Promise<string | undefined> => {
    if (!isJsonObject(node)) return undefined;
    const pushable = await pushableTable(con, node, ctes, lookup, aggregates, scans);
    if (pushable === undefined) return undefined;
    if (!keep(pushable.read, pushable.key)) return undefined;
    const temp = `${TEMP_PREFIX}${subqueries.length}`;
    if (!(await accepts(pushable.table, pushable.sql, temp))) return undefined;
    const { table, read, sql: query, key, columns, types } = pushable;
    subqueries.push({ table, read, query, temp, key, columns, types });
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
  const stillRead = new Set(objectsOf(root, isBaseTable).map((o) => String(o.table_name).toLowerCase()));
  const unread = new Set(subqueries.map((s) => s.read).filter((t) => !stillRead.has(t)));
  // The references renamed to scans read their tables again (under their alias): the
  // rewritten SQL is analyzed anew, and its own references get their own scans.
  for (const ref of objectsOf(root, isBaseTable)) {
    const table =
      ref.catalog_name === 'temp' &&
      ref.schema_name === 'main' &&
      scans.get(String(ref.table_name).toLowerCase());
    if (table) Object.assign(ref, { catalog_name: '', schema_name: '', table_name: table });
  }
  const rewritten = await printed(con, root);
  if (rewritten === undefined) return undefined;
  return { subqueries, sql: rewritten, unread };
}

/** The catalog tables whose containers can run a query over them by their name. */
export type QueryableTable = (name: string) => CatalogTable | undefined;

/** The analysis of the rewritten SQL, which reads the pushed subqueries' TEMP tables too. */
export type AnalyzeRewritten = (sql: string, results: ResultTable[]) => Promise<QueryAnalysis>;

/** What subquery pushdown planned (EXPLAIN shows it), and why work stayed in the coordinator. */
export interface SubqueryPlanning {
  /** Undefined when no subquery is pushed. */
  pushed?: { plan: SubqueryPlan; analysis: QueryAnalysis };
  notes: string[];
}

/** What a plan read of a table: its columns and types, whether it is split (`accepts`), its rows. */
function tableShape(table: CatalogTable | undefined): string {
  return table ? JSON.stringify([schemaOf(table), table.parts !== undefined, table.rowCount]) : '';
}

/**
 * Plannings by SQL text. One depends only on the SQL and on the tables it looked up, so an
 * entry serves while those look the same; planning again costs several DuckDB round trips
 * (parse, print, parse back, bind, probes of an eager aggregation) on every query that reads
 * two tables or more.
 */
const plans = new Lru<string, { looked: Map<string, string>; plan?: SubqueryPlan; notes: string[] }>(512);

/**
 * The pushdown of `sql`'s subqueries, and what is then left to gather table by table (the
 * rewritten SQL analyzed again: a table read elsewhere too is scanned for its other
 * references only, and an IN's result is a source of keys). Tables aggregated below their
 * joins first (eager-aggregation.ts) are pushed as derived tables too, where they are then
 * no longer read elsewhere; else the query is planned as written.
 */
export async function subqueryPlanOf(
  con: DuckDBConnection,
  sql: string,
  analysis: QueryAnalysis,
  tableOf: QueryableTable,
  analyzeRewritten: AnalyzeRewritten,
): Promise<SubqueryPlanning> {
  // A query of one table runs whole in its container, or in the parts of a split one.
  if (analysis.tables.length < 2) return { notes: [] };
  const sources = new Set(analysis.subqueryReductions.map((r) => r.subquery));
  let known = plans.get(sql);
  if (!known || [...known.looked].some(([name, shape]) => tableShape(tableOf(name)) !== shape)) {
    const looked = new Map<string, string>();
    const lookingUp: QueryableTable = (name) => {
      const table = tableOf(name);
      looked.set(name, tableShape(table));
      return table;
    };
    known = { looked, ...(await uncachedPlanning(con, sql, analysis, sources, lookingUp)) };
    plans.set(sql, known);
  }
  const { plan, notes } = known;
  if (!plan) return { notes };
  const results = plan.subqueries.map((s) => ({
    name: s.temp,
    columns: s.columns,
    types: s.types,
    keys: sources.has(s.key),
  }));
  return { pushed: { plan, analysis: await analyzeRewritten(plan.sql, results) }, notes };
}

async function uncachedPlanning(
  con: DuckDBConnection,
  sql: string,
  analysis: QueryAnalysis,
  sources: Set<string>,
  tableOf: QueryableTable,
): Promise<{ plan?: SubqueryPlan; notes: string[] }> {
  const schemaWithRows = (name: string) => {
    const table = tableOf(name);
    return table && { ...schemaOf(table), rows: table.rowCount };
  };
  const reducedBy = (table: string) =>
    useful(analysis)
      .filter((r) => r.table.toLowerCase() === table.toLowerCase())
      .map((r) => r.source);
  const scans = scansOf(analysis);
  const eager = await eagerAggregation(con, sql, schemaWithRows, { reducedBy, minReduction: MIN_REDUCTION });
  if (eager.sql !== undefined) {
    const plan = await uncachedPlan(con, eager.sql, sources, scans, tableOf);
    if (plan && eager.tables.every((t) => plan.unread.has(t.toLowerCase()))) {
      const what = eager.tables.map((t) => `${t} aggregated below its join`).join('; ');
      return { plan: { ...plan, eager: what }, notes: eager.notes };
    }
    eager.notes.push(
      `not aggregated below the join: ${eager.tables.join(', ')} is read elsewhere in the query, or its aggregate does not run in its container`,
    );
  }
  return { plan: await uncachedPlan(con, sql, sources, scans, tableOf), notes: eager.notes };
}

/**
 * The later scans of a table with several (reference-scans.ts), lower-case, each to its table:
 * their references read them by that name in `QueryAnalysis.sql`.
 */
function scansOf(analysis: QueryAnalysis): Map<string, string> {
  return new Map(analysis.tables.flatMap((t) => (t.scan ? [[t.scan.toLowerCase(), t.table]] : [])));
}

/**
 * The plan of `sql`'s subqueries; `sources` are those whose results are keys (an IN's),
 * `scans` the renamed references' scans.
 */
async function uncachedPlan(
  con: DuckDBConnection,
  sql: string,
  sources: Set<string>,
  scans: Map<string, string>,
  tableOf: QueryableTable,
): Promise<SubqueryPlan | undefined> {
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
  const plan = await planSubqueryPushdown(con, sql, schemaOfName, accepts, undefined, scans);
  if (!plan || plan.subqueries.every((s) => plan.unread.has(s.read))) return plan;
  // A table the SQL reads elsewhere too is gathered anyway, with every row and column its
  // subqueries need (the analysis plans its scan for all its references): pushing them would
  // only add a round trip, unless the subquery's result is keys that reduce another table
  // (an IN's: analyze/reductions.ts). Planned again without the others, the rest are pushed
  // as before (a pushed subquery holds no other).
  const unread = plan.unread;
  return planSubqueryPushdown(
    con,
    sql,
    schemaOfName,
    accepts,
    (read, key) => unread.has(read) || sources.has(key),
    scans,
  );
}

export interface PushedSubqueries {
  /** The SQL to run over the gathered tables. */
  sql: string;
  /** What is left to gather table by table. */
  analysis: QueryAnalysis;
  /**
   * Starts the subqueries' gathers (once the scans are sure to start too: they share `con`),
   * by TEMP table; `onRows` is told each one's rows so far.
   */
  start: (onRows: (temp: string, rows: number) => void) => Map<string, Promise<GatherStats>>;
  /** Why work stayed in the coordinator. */
  notes: string[];
}

/** Plans the pushdown of `sql`'s subqueries, and how to gather them (none: the query as written). */
export async function pushSubqueries(
  con: DuckDBConnection,
  sql: string,
  analysis: QueryAnalysis,
  tableOf: QueryableTable,
  analyzeRewritten: AnalyzeRewritten,
  opts: GatherOptions,
): Promise<PushedSubqueries> {
  const { pushed, notes } = await opts.serial.run(() =>
    subqueryPlanOf(con, sql, analysis, tableOf, analyzeRewritten),
  );
  const tables = pushed?.plan.subqueries.map((s) => tableOf(s.table)) ?? [];
  if (!pushed || tables.some((t) => t === undefined)) {
    return { sql, analysis, start: () => new Map(), notes };
  }
  const start = (onRows: (temp: string, rows: number) => void) =>
    new Map(
      pushed.plan.subqueries.map((s, i) => {
        const table = tables[i] as CatalogTable;
        const own = { ...opts, onRows: (rows: number) => onRows(s.temp, rows) };
        const gathered = table.parts
          ? gatherMerged(con, s, { ...table, parts: table.parts }, own)
          : gatherFrames(
              table,
              { columns: [], query: s.query },
              own,
              new TempTableTarget(con, s.temp, { serial: opts.serial }),
            );
        return [s.temp, gathered];
      }),
    );
  return { sql: pushed.analysis.sql ?? pushed.plan.sql, analysis: pushed.analysis, start, notes };
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
