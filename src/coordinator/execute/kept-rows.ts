/**
 * How many rows a table's own pushed predicate keeps, estimated by its container at planning
 * time, so that the semi-join reductions start from the most selective scans (analyze/
 * reductions.ts `chooseReductions`): Q8's `p_type = '…'` keeps 0.7% of parts, Q5's one-year
 * `o_orderdate` range 15% of orders, which no table size tells. Trino asks its connectors for
 * table statistics the same way; here the container counts the predicate on a sample of
 * about one row group (duckdb/kept-rows-sql.ts), a few milliseconds even on millions of rows.
 * The analysis, estimates included, is cached per SQL text, so a repeated query asks nothing;
 * an estimate is kept per table, data version and predicate too, for other queries that
 * filter the same way (dashboards vary the rest of their SQL).
 *
 * A split table's estimate adds up its parts', each asked at once. An estimate only orders
 * the reductions, and any order is valid: a table that cannot be asked (unreachable, or a
 * part of it) or that does not answer in time gets none, and the planner falls back to
 * ordering by table sizes.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { keptOfAll, keptRowsSql } from '../../duckdb/kept-rows-sql.js';
import { Lru } from '../../lru.js';
import type { CatalogTable } from '../catalog/catalog.js';
import { partAsTable } from '../catalog/catalog-table.js';
import { openScan } from './gather.js';

/**
 * An estimate that takes longer is not waited for (the container is told to stop): the query
 * plans without it. A sampled count takes a few ms; a costly predicate (a regular expression
 * over long strings) on a table of about a sample's rows costs as much as the scan itself,
 * and the first run of a query should not wait for that.
 */
const ESTIMATE_TIMEOUT_MS = 500;

/** Estimates in hand, by table, data version and predicate. */
const known = new Lru<string, number>(4096);

export type KeptRows = (table: string, where: string) => Promise<number | undefined>;

/** Estimates by the containers of the tables `lookup` finds. */
export function keptRowsEstimator(
  lookup: (table: string) => CatalogTable | undefined,
  nc?: NatsConnection,
): KeptRows {
  return async (name, where) => {
    const table = lookup(name);
    if (!table || table.error) return undefined;
    if (!table.parts) return estimate(table, where, nc);
    const parts = await Promise.all(table.parts.map((part) => estimate(partAsTable(table, part), where, nc)));
    let rows = 0;
    for (const n of parts) {
      if (n === undefined) return undefined;
      rows += n;
    }
    return rows;
  };
}

/** The estimate of an unsplit table (or one part), by its container. */
async function estimate(
  table: CatalogTable,
  where: string,
  nc?: NatsConnection,
): Promise<number | undefined> {
  if (table.rowCount === 0) return 0;
  const key = JSON.stringify([table.location, table.version, table.rowCount, where]);
  const hit = known.get(key);
  if (hit !== undefined) return hit;
  try {
    const frames = openScan(
      table,
      { columns: [], query: keptRowsSql(table.remoteName, table.rowCount, where) },
      {
        nc,
        idleTimeoutMs: ESTIMATE_TIMEOUT_MS,
        deadline: performance.now() + ESTIMATE_TIMEOUT_MS,
        signal: AbortSignal.timeout(ESTIMATE_TIMEOUT_MS),
      },
    );
    let counts: [number, number] | undefined;
    for await (const frame of frames) {
      if (frame.type === 'error') return undefined;
      const [kept, seen] = frame.type === 'data' && frame.rows === 1 ? (frame.columns ?? []) : [];
      if (kept && seen && !kept.nulls && !seen.nulls) counts = [readDouble(kept.data), readDouble(seen.data)];
    }
    if (!counts) return undefined;
    const [kept, seen] = counts;
    if (!Number.isFinite(kept) || !Number.isFinite(seen)) return undefined;
    const rows = keptOfAll(kept, seen, table.rowCount);
    known.set(key, rows);
    return rows;
  } catch {
    return undefined;
  }
}

function readDouble(data: Uint8Array): number {
  return data.byteLength === 8
    ? new DataView(data.buffer, data.byteOffset, 8).getFloat64(0, true)
    : Number.NaN;
}
