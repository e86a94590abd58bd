/**
 * One scan per group of a table's references that want different rows. Today's rule, one scan
 * per table, gives each reference the OR of all their filters and only the reductions every
 * reference allows: TPC-H Q21's three references of lineitem (one filtered and joined to
 * orders and supplier, two correlated EXISTS / NOT EXISTS by `l_orderkey`) fetch all of it.
 * Gathered apart, each group gets its own filter, and a group may be reduced by the keys of
 * another group of the same table (reductions.ts says why that holds).
 *
 * References are grouped by what they want: the same filter and the same reducers (by
 * column, source table and source column). A table keeps one scan when a reference of it
 * wants every row anyway (no filter, and no reducer whose source is narrowed: the other
 * groups' rows are then among that scan's, and a scan more would only cost a round trip),
 * when all its references want the same, or when a reference cannot be renamed. A small
 * table gets its scans too: each is a view of the coordinator's copy, or a few rows sent
 * whole, and its keys are those of one reference (TPC-H Q8's nation n1, narrowed by region,
 * gives customer one region's nations where one scan for n1 and n2 gave all 25). The first
 * group keeps the table's name; the others' references are renamed in the SQL to their
 * TEMP table (`temp.main."<table>#<n>"`, keeping their alias, or taking the table's name as
 * one), printed by DuckDB and accepted only if it parses back to the very tree renamed.
 */
import { isJsonObject, type JsonObject } from '../../../json-object.js';
import type { DuckDbSql } from './print.js';
import { withoutLocations } from './print.js';
import { typedReducers } from './reductions.js';
import type { Use } from './scope.js';
import { treeKey } from './trees.js';

/** The reducers of a reference, by column, source table and source column. */
function reducersOf(u: Use): string {
  const reducers = typedReducers(u).map((r) => `${r.column}=${r.source.table.name}.${r.sourceColumn}`);
  return JSON.stringify([...new Set(reducers)].sort());
}

/** What one reference wants of its table's scan. */
function wants(u: Use, filterOf: (u: Use) => string | undefined): string {
  return JSON.stringify([filterOf(u) ?? null, reducersOf(u)]);
}

/**
 * Each group's scan, where groups that differ only in their filter share one: reduced by the
 * same keys, one scan probes the table once where two would probe it twice, and the OR of
 * their filters keeps at most the rows the two would send (each reference's filter is applied
 * again here). Not when a group's reducer reads a reference of these groups (a self-join
 * reduced by its other side's keys keeps its two scans), nor across DISTINCT and plain scans
 * (distinct rows of one may be far fewer than its rows in a shared plain scan).
 */
function sharedScans(groups: Use[][]): number[] {
  const scanOf = groups.map((_, i) => i);
  const kind = (g: Use[]) => JSON.stringify([reducersOf(g[0]), g.every((u) => u.existential)]);
  for (let i = 0; i < groups.length; i++) {
    if (scanOf[i] !== i || typedReducers(groups[i][0]).length === 0) continue;
    const together = groups.flatMap((g, j) =>
      j >= i && scanOf[j] === j && kind(g) === kind(groups[i]) ? [j] : [],
    );
    const uses = new Set(together.flatMap((j) => groups[j]));
    const selfReduced = [...uses].some((u) => typedReducers(u).some((r) => uses.has(r.source)));
    if (!selfReduced) for (const j of together) scanOf[j] = i;
  }
  return scanOf;
}

/**
 * The references given a scan of their own: each such use → its scan's TEMP table name.
 * Uses not in the map read their table's one scan (named after the table).
 */
export function referenceScans(
  uses: Use[],
  filterOf: (u: Use) => string | undefined,
  note: (text: string) => void,
): Map<Use, string> {
  const want = new Map(uses.map((u) => [u, wants(u, filterOf)]));
  // Narrowed: a filter of its own, or a reducer from a narrowed use it would not share a scan with.
  const narrowed = new Set(uses.filter((u) => filterOf(u) !== undefined));
  for (let grew = true; grew; ) {
    grew = false;
    for (const u of uses) {
      if (narrowed.has(u)) continue;
      const apart = (v: Use) => v.table !== u.table || want.get(v) !== want.get(u);
      if (typedReducers(u).some((r) => narrowed.has(r.source) && apart(r.source))) {
        narrowed.add(u);
        grew = true;
      }
    }
  }
  const byTable = new Map<string, Use[]>();
  for (const u of uses) byTable.set(u.table.name, [...(byTable.get(u.table.name) ?? []), u]);
  const scans = new Map<Use, string>();
  for (const [table, tableUses] of byTable) {
    const wanted = [...new Set(tableUses.map((u) => want.get(u)))];
    const shared = sharedScans(wanted.map((w) => tableUses.filter((u) => want.get(u) === w)));
    const groups = [...new Set(shared)];
    const groupOf = (u: Use) => groups.indexOf(shared[wanted.indexOf(want.get(u))]);
    const renamable = tableUses.every((u) => u.node && !u.renamed && !u.schemaQualified);
    if (groups.length < 2 || !tableUses.every((u) => narrowed.has(u))) continue;
    if (!renamable) {
      note(
        `one scan for the references of ${table}: one cannot be renamed (column aliases, or main.${table}.column)`,
      );
      continue;
    }
    for (const u of tableUses) {
      const group = groupOf(u);
      scans.set(u, group === 0 ? table : `${table}#${group + 1}`);
    }
  }
  return scans;
}

/** `node` read from TEMP table `scan`, under the name it was known by. */
function renamedNode(node: JsonObject, scan: string): JsonObject {
  const alias = typeof node.alias === 'string' && node.alias !== '' ? node.alias : node.table_name;
  return { ...node, catalog_name: 'temp', schema_name: 'main', table_name: scan, alias };
}

/** Each use's node that reads a scan of its own, and the node reading that scan instead. */
export function renamedNodes(scans: Map<Use, string>): Map<JsonObject, JsonObject> {
  const by = new Map<JsonObject, JsonObject>();
  for (const [u, scan] of scans)
    if (u.node && scan !== u.table.name) by.set(u.node, renamedNode(u.node, scan));
  return by;
}

/** A copy of `tree` with the nodes of `by` replaced, without locations. */
export function replaced(tree: unknown, by: Map<JsonObject, JsonObject>): unknown {
  if (Array.isArray(tree)) return tree.map((x) => replaced(x, by));
  if (!isJsonObject(tree)) return tree;
  const node = by.get(tree) ?? tree;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) if (k !== 'query_location') out[k] = replaced(v, by);
  return out;
}

/**
 * The SQL `parsed` (json_serialize_sql's answer) with the nodes of `by` replaced, or
 * undefined where DuckDB's print of it does not parse back to the same tree.
 */
export async function rewrittenSql(
  parsed: unknown,
  by: Map<JsonObject, JsonObject>,
  duckDb: DuckDbSql,
): Promise<string | undefined> {
  const tree = replaced(parsed, by);
  const [sql] = await duckDb.print([JSON.stringify(tree)]);
  if (sql === undefined) return undefined;
  const again = withoutLocations(await duckDb.parse(sql).catch(() => undefined));
  const nodeOf = (t: unknown) =>
    isJsonObject(t) &&
    Array.isArray(t.statements) &&
    t.statements.length === 1 &&
    isJsonObject(t.statements[0])
      ? t.statements[0].node
      : undefined;
  const want = nodeOf(tree);
  return want !== undefined && treeKey(nodeOf(again)) === treeKey(want) ? sql : undefined;
}
