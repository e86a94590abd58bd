/**
 * A scan of a split table (protocol/shards.ts): every part that may hold matching rows is
 * asked at once with the same request, each into a TEMP table of its own, and the name the
 * user's SQL uses becomes a TEMP VIEW that is their UNION ALL (no copy).
 *
 * Failover: a part whose scan fails on the way (`unavailable`: silence, no responders, a
 * dropped connection; or an `internal` error frame) is asked again, and NATS's queue group
 * picks a replica; the failed try's TEMP table is dropped first, so no row counts twice. At
 * most MAX_TRIES within the query's deadline, then 503 naming the table and part. Other
 * errors say the same on every replica (a bad filter, a timeout): the query fails at once,
 * and the other parts are stopped.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent } from '../../../duckdb/sql.js';
import { QueryError } from '../../../errors.js';
import type { ScanRequest } from '../../../protocol/frames.js';
import { msSince } from '../../../timing.js';
import type { CatalogPart, CatalogTable } from '../../catalog/catalog.js';
import { partAsTable } from '../../catalog/catalog-table.js';
import {
  emptyStats,
  type GatherOptions,
  type GatherStats,
  gatherFrames,
  type PartStats,
  TempTableTarget,
} from '../gather.js';
import { mergedTimeline } from '../scan-timeline.js';
import { partsToSkip } from './prune.js';

/** Scans of one part at most, the first included. */
const MAX_TRIES = 3;

/** Where part `index`'s rows for `target` land: `#` cannot occur in a table name, so no table is shadowed. */
function partTableName(target: string, index: number): string {
  return `${target}#part${index}`;
}

/** Errors of the replica or the way to it, not of the request: another try may succeed. */
function transportFailure(err: unknown): boolean {
  return err instanceof QueryError && (err.kind === 'unavailable' || err.kind === 'internal');
}

/** The first call's promise, for every caller: each part gets the same dynamic filter. */
function shared<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

function partName(table: CatalogTable, part: CatalogPart, count: number): string {
  return `table ${table.name}, part ${part.index} of ${count} (${part.subject})`;
}

/** The error a part's last try ends the query with, naming the table and the part. */
function partError(err: unknown, table: CatalogTable, part: CatalogPart, count: number, tries: number) {
  if (!(err instanceof QueryError) || err.kind === 'cancelled' || err.kind === 'result_too_large') return err;
  const what = partName(table, part, count);
  if (!transportFailure(err)) return new QueryError(err.kind, `${what}: ${err.message}`);
  const times = tries === 1 ? 'once' : `${tries} times`;
  return new QueryError('unavailable', `${what} could not be read (asked ${times}): ${err.message}`);
}

interface PartGathered {
  stats: GatherStats;
  tries: number;
}

/** One part into its TEMP table, asked again after a transport failure. */
async function gatherPart(
  con: DuckDBConnection,
  table: CatalogTable,
  part: CatalogPart,
  count: number,
  request: ScanRequest,
  target: string,
  opts: GatherOptions,
): Promise<PartGathered> {
  const name = partTableName(target, part.index);
  const partTable = partAsTable(table, part);
  for (let tries = 1; ; tries++) {
    const target = new TempTableTarget(con, name, opts);
    try {
      return { stats: await gatherFrames(partTable, request, opts, target), tries };
    } catch (err) {
      // Rows of the failed try are forgotten: dropped here, and no longer counted in onRows.
      opts.onRows?.(0);
      const again =
        transportFailure(err) &&
        tries < MAX_TRIES &&
        !opts.signal.aborted &&
        (opts.deadline === undefined || performance.now() < opts.deadline);
      if (!again) {
        await target.discard().catch(() => undefined);
        throw partError(err, table, part, count, tries);
      }
      await target.discard();
    }
  }
}

/** The requested columns with the catalog's types: the gathered table when every part is skipped. */
function emptyTableSql(table: CatalogTable, request: ScanRequest, target: string): string {
  const names = request.columns?.length ? request.columns : table.columns.map((c) => c.name);
  const defs = names.map((name) => {
    const column = table.columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
    if (!column) throw new QueryError('unknown_column', `table ${table.name} has no column ${name}`);
    return `${quoteIdent(column.name)} ${column.type}`;
  });
  return `CREATE TEMP TABLE ${quoteIdent(target)} (${defs.join(', ')})`;
}

/** `CREATE TEMP VIEW target` over the parts' TEMP tables, which must have the same columns. */
function unionViewSql(table: CatalogTable, gathered: [CatalogPart, PartGathered][], target: string): string {
  const [first] = gathered;
  const columns = first[1].stats.columns;
  for (const [part, { stats }] of gathered) {
    if (stats.columns.join('\u0000') !== columns.join('\u0000')) {
      throw new QueryError(
        'protocol_error',
        `the parts of table ${table.name} sent different columns: part ${first[0].index} ${columns.join(', ')}, part ${part.index} ${stats.columns.join(', ')}`,
      );
    }
  }
  const selects = gathered.map(
    ([part]) => `SELECT * FROM temp.main.${quoteIdent(partTableName(target, part.index))}`,
  );
  return `CREATE TEMP VIEW ${quoteIdent(target)} AS ${selects.join(' UNION ALL ')}`;
}

/** Which parts may be left out: those whose ranges no row of can pass `where`. */
export interface Pruning {
  /** The table's pushed filter (the request's own, unless the request is a query). */
  where?: string;
}

/**
 * Runs `request` against every part of `table` that may hold matching rows and makes
 * `target` the union of their replies. The stats sum the parts and list each.
 */
export async function scatterInto(
  con: DuckDBConnection,
  table: CatalogTable,
  parts: CatalogPart[],
  request: ScanRequest,
  target: string,
  opts: GatherOptions,
  pruning: Pruning = { where: request.where },
): Promise<GatherStats> {
  const started = performance.now();
  const skipped = await opts.serial.run(() => partsToSkip(con, pruning.where, table));
  // A pushed query's result has its own columns, and over no rows it may still have a row
  // (count(*) is 0): one part answers it even when none holds a matching row.
  if (request.query && skipped.size === parts.length) skipped.delete(parts[0].index);
  const asked = parts.filter((p) => !skipped.has(p.index));
  // The first part that fails stops the others; they all stop before this returns, as
  // the caller closes the connection they write to once it has the error.
  const stop = new AbortController();
  const rows = new Map<number, number>();
  const filter = opts.filter && shared(opts.filter);
  const partOpts = (part: CatalogPart): GatherOptions => ({
    ...opts,
    signal: AbortSignal.any([opts.signal, stop.signal]),
    filter,
    onRows: (n) => {
      rows.set(part.index, n);
      opts.onRows?.([...rows.values()].reduce((a, b) => a + b, 0));
    },
  });
  let failure: { err: unknown } | undefined;
  const settled = await Promise.allSettled(
    asked.map((part) =>
      gatherPart(con, table, part, parts.length, request, target, partOpts(part)).catch((err: unknown) => {
        failure ??= { err };
        stop.abort();
        throw err;
      }),
    ),
  );
  if (failure) throw failure.err;
  const gathered = settled.map(
    (s, i) => [asked[i], (s as PromiseFulfilledResult<PartGathered>).value] as [CatalogPart, PartGathered],
  );
  await opts.serial.run(() =>
    con.run(
      gathered.length > 0 ? unionViewSql(table, gathered, target) : emptyTableSql(table, request, target),
    ),
  );
  return tableStats(table, request, parts, skipped, new Map(gathered.map(([p, g]) => [p.index, g])), started);
}

function tableStats(
  table: CatalogTable,
  request: ScanRequest,
  parts: CatalogPart[],
  skipped: Map<number, string>,
  gathered: Map<number, PartGathered>,
  started: number,
): GatherStats {
  const stats = emptyStats(table, request);
  stats.parts = parts.map((part): PartStats => {
    const g = gathered.get(part.index);
    if (!g) return { part: part.index, rows: 0, bytes: 0, ms: 0, tries: 0, skipped: skipped.get(part.index) };
    stats.rows += g.stats.rows;
    stats.bytes += g.stats.bytes;
    stats.frames += g.stats.frames;
    stats.container_ms = Math.max(stats.container_ms, g.stats.container_ms);
    if (stats.columns.length === 0) stats.columns = g.stats.columns;
    // One part that did not apply the where makes the table's rows unfiltered there.
    if (g.stats.declined) stats.declined = `part ${part.index}: ${g.stats.declined}`;
    const { rows, bytes, ms, replica } = g.stats;
    return { part: part.index, ...(replica && { replica }), rows, bytes, ms, tries: g.tries };
  });
  const timeline = mergedTimeline([...gathered.values()].flatMap((g) => g.stats.timeline ?? []));
  if (timeline) stats.timeline = timeline;
  if (gathered.size === 0)
    stats.columns = request.columns?.length ? request.columns : table.columns.map((c) => c.name);
  stats.ms = msSince(started);
  return stats;
}
