/**
 * One query's use of the coordinator's copies of reference tables (reference-tables.ts): the
 * copies it holds, their version checks (one request per table, sent as its gather starts and
 * awaited before its SQL runs), and a scan served from a copy: a TEMP VIEW named like the
 * scan's TEMP table, selecting the scan's columns with its pushed predicate from the copy, so
 * that the user's SQL, key reductions and local reductions read it as a gathered table.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { NatsConnection } from '@nats-io/transport-node';
import { quoteIdent, selectItem } from '../../duckdb/sql.js';
import { msSince } from '../../timing.js';
import type { CatalogTable } from '../catalog/catalog.js';
import type { ReferenceTables, TableCopy } from '../catalog/reference-tables.js';
import type { TableScanPlan } from '../plan/analyze/index.js';
import type { GatherStats } from './gather.js';
import type { Serial } from './serial.js';

export const COPY_TRANSPORT = 'coordinator copy';

export class QueryCopies {
  private readonly held = new Map<string, { copy: TableCopy; checked: Promise<void> }>();
  /** Off once a copy proved stale: the query is gathered again from the containers. */
  private off = false;

  constructor(
    private readonly references: ReferenceTables | undefined,
    private readonly nc: NatsConnection | undefined,
  ) {}

  /**
   * The copy that serves `table` in this query, its version check sent now (once per table);
   * undefined where the table is scanned (and maybe copied meanwhile, for later queries).
   */
  serving(table: CatalogTable): TableCopy | undefined {
    const { references, nc } = this;
    if (this.off || !references || !nc) return undefined;
    const key = table.name.toLowerCase();
    const known = this.held.get(key);
    if (known) return known.copy;
    const copy = references.acquire(table, nc);
    if (!copy) return undefined;
    const checked = references.confirm(copy, nc);
    // Awaited in `confirmed`; a rejection must not go unhandled meanwhile.
    checked.catch(() => undefined);
    this.held.set(key, { copy, checked });
    return copy;
  }

  /** Resolves once every copy used is still current; rejects with a StaleCopyError otherwise. */
  async confirmed(): Promise<void> {
    await Promise.all([...this.held.values()].map((h) => h.checked));
  }

  /** Lets the copies go (the query ended, or is gathered again without them). */
  release(): void {
    for (const { copy } of this.held.values()) this.references?.release(copy);
    this.held.clear();
  }

  /** No copies from now on in this query: one proved stale. */
  stop(): void {
    this.release();
    this.off = true;
  }

  /** Drops the copies whose table's catalog entry changed. */
  sweep(lookup: (name: string) => CatalogTable | undefined): void {
    this.references?.sweep(lookup);
  }
}

/** A scan served from a copy: the copy, its table, the plan, and the scan's TEMP name. */
export interface CopyScan {
  copy: TableCopy;
  table: CatalogTable;
  plan: TableScanPlan;
  scan: string;
}

/**
 * The TEMP VIEW over `copy` for one scan: the plan's columns (in the table's spelling; the
 * first column where the query needs none, as a scan would send), those it computes, and its
 * pushed predicate.
 * `count` counts its rows where the predicate leaves them unknown.
 */
function copyView({ copy, table, plan, scan }: CopyScan): {
  create: string;
  count?: string;
  columns: string[];
} {
  const spelled = (name: string) =>
    table.columns.find((c) => c.name.toLowerCase() === name.toLowerCase())?.name ?? name;
  const columns = plan.columns.length > 0 ? plan.columns.map(spelled) : [table.columns[0].name];
  const items = [...columns.map(quoteIdent), ...(plan.computed ?? []).map((c) => selectItem(c.sql, c.name))];
  const where = plan.where ? ` WHERE ${plan.where}` : '';
  return {
    create: `CREATE OR REPLACE TEMP VIEW ${quoteIdent(scan)} AS SELECT ${items.join(', ')} FROM ${copy.relation}${where}`,
    // Without a predicate the view holds the copy's rows, counted when it was filled.
    ...(plan.where && { count: `(SELECT count(*) FROM temp.main.${quoteIdent(scan)})::DOUBLE` }),
    columns,
  };
}

type CopyView = ReturnType<typeof copyView>;

/** Makes `views` in one statement; their row counts (`rows` where a view has no predicate). */
async function createViews(con: DuckDBConnection, views: CopyView[], rows: number[]): Promise<number[]> {
  const counts = views.flatMap((v) => v.count ?? []);
  const sql = [...views.map((v) => v.create), `SELECT ${counts.length > 0 ? counts.join(', ') : '1'}`];
  const counted = (await con.runAndReadAll(sql.join(';\n'))).getRows()[0].map(Number);
  let next = 0;
  return views.map((v, i) => (v.count ? counted[next++] : rows[i]));
}

/**
 * Serves `scans` from their copies: each a TEMP VIEW named like the scan's TEMP table. All
 * are made in one call into DuckDB (on a loaded machine each call waits for a core, and the
 * keys read from the copies wait for the views); where that fails, each alone, so that its
 * error goes to its own scan.
 */
export function serveFromCopies(
  con: DuckDBConnection,
  serial: Serial,
  scans: CopyScan[],
): Promise<GatherStats>[] {
  const started = performance.now();
  const views = scans.map(copyView);
  const copyRows = scans.map((s) => s.copy.rows);
  const together =
    scans.length === 0
      ? Promise.resolve(undefined)
      : serial.run(() => createViews(con, views, copyRows).catch(() => undefined));
  return scans.map(async (s, i): Promise<GatherStats> => {
    const rows =
      (await together)?.[i] ?? (await serial.run(() => createViews(con, [views[i]], [copyRows[i]])))[0];
    return {
      table: s.table.name,
      transport: COPY_TRANSPORT,
      source: `${COPY_TRANSPORT} of ${s.copy.instance}`,
      version: s.copy.version,
      columns: views[i].columns,
      where: s.plan.where,
      rows,
      bytes: 0,
      frames: 0,
      container_ms: 0,
      ms: msSince(started),
    };
  });
}

/** Drops every TEMP table and view a gather made on `con`, so that it can be gathered again. */
export async function forgetGathered(con: DuckDBConnection): Promise<void> {
  const listed = await con.runAndReadAll(
    `SELECT 'VIEW', view_name FROM duckdb_views() WHERE temporary AND NOT internal
     UNION ALL SELECT 'TABLE', table_name FROM duckdb_tables() WHERE temporary ORDER BY 1 DESC`,
  );
  for (const [kind, name] of listed.getRows())
    await con.run(`DROP ${kind} IF EXISTS temp.main.${quoteIdent(String(name))}`);
}
