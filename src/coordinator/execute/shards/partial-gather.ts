/**
 * A single-table query over a split table, aggregated in the parts and merged here
 * (partial-aggregate.ts): every part that may hold matching rows runs the part query, its
 * rows land in TEMP `__partials` (c0, c1…), and the merge query answers over them. Parts
 * the table's filter rules out are not asked (prune.ts), but one always is (scatter.ts), so
 * an aggregate over no rows still has its one row.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { Lru } from '../../../lru.js';
import type { CatalogTable } from '../../catalog/catalog.js';
import type { GatherOptions, GatherStats } from '../gather.js';
import { PARTIALS_TABLE, type PartialPlan, planPartialAggregate } from './partial-aggregate.js';
import { scatterInto } from './scatter.js';
import type { TableSchema } from './single-table-query.js';

export interface PartialGathered {
  stats: GatherStats;
  /** The user's answer over the gathered partial rows. */
  mergeSql: string;
}

/**
 * Plans of recent queries (dashboards repeat theirs): planning asks DuckDB about ten times. A
 * plan depends only on the SQL and the table's name, columns and types, which make the key.
 */
const plans = new Lru<string, PartialPlan | { reason: string }>(512);

async function cachedPlan(sql: string, schema: TableSchema, con: DuckDBConnection, partials: string) {
  const key = JSON.stringify([schema, partials, sql]);
  const known = plans.get(key);
  if (known) return known;
  const plan = await planPartialAggregate(sql, schema, con, partials);
  plans.set(key, plan);
  return plan;
}

/**
 * The partial plan of `sql` over split `table` (EXPLAIN shows it), or why there is none; its
 * merge reads TEMP table `partials`.
 */
export function partialPlanOf(
  sql: string,
  table: CatalogTable,
  con: DuckDBConnection,
  partials = PARTIALS_TABLE,
) {
  return cachedPlan(sql, schemaOf(table), con, partials);
}

/** A catalog table as the planners read it: its name, column names and types. */
export function schemaOf(table: CatalogTable): TableSchema {
  return {
    name: table.name,
    columns: table.columns.map((c) => c.name),
    types: table.columns.map((c) => c.type),
  };
}

/**
 * The partial rows of `sql` gathered from every part; why the query does not decompose; or
 * undefined where the parts would send what a scan sends (a filtered projection).
 */
export async function gatherPartials(
  con: DuckDBConnection,
  sql: string,
  table: CatalogTable & { parts: NonNullable<CatalogTable['parts']> },
  where: string | undefined,
  opts: GatherOptions,
  partials = PARTIALS_TABLE,
): Promise<PartialGathered | { reason: string } | undefined> {
  const plan = await opts.serial.run(() => cachedPlan(sql, schemaOf(table), con, partials));
  if ('reason' in plan) return plan;
  if (!plan.reducesRows) return undefined;
  const request = { columns: [], query: plan.partSql };
  const stats = await scatterInto(
    con,
    table,
    table.parts,
    request,
    partials,
    { ...opts, positional: true },
    { where },
  );
  return { stats: { ...stats, partial_aggregate: plan.description }, mergeSql: plan.mergeSql };
}
