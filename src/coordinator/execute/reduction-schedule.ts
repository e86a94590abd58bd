/**
 * When a reduced scan goes out, and with which keys. A table the analysis reduces by several
 * other tables' keys (analyze/reductions.ts) gets the keys of every source in hand, intersected
 * (Trino collects a dynamic filter from every join a scan is probed by): each reduction is valid
 * alone, so any subset of them is.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { conjunction } from '../../duckdb/sql.js';
import {
  DEFAULT_ACK_TIMEOUT_MS,
  MAX_ACK_TIMEOUT_MS,
  MAX_SCAN_KEY_BYTES,
  type ScanFilter,
  type ScanKeys,
  type ScanRequest,
  type SchemaFrame,
} from '../../protocol/frames.js';
import type { CatalogTable } from '../catalog/catalog.js';
import {
  type QueryAnalysis,
  type SemiJoinReduction,
  scanName,
  type TableScanPlan,
} from '../plan/analyze/index.js';
import { type DynamicFilter, dynamicFilter, keysFilter } from './dynamic-filter.js';
import type { GatherStats } from './gather.js';
import type { KeyCollector } from './key-collector.js';
import { type LocalReductions, locallyReduced, type SourceProgress } from './local-reduction.js';
import type { Serial } from './serial.js';

/**
 * A scan that has a predicate of its own waits for a reduction's source only while the source
 * has gathered at most this many rows: past it, the source's distinct keys would often not fit
 * a key filter (MAX_SCAN_KEY_BYTES: 49,152 BIGINTs, or a few hundred thousand dense integer
 * keys delta-encoded), and the filter would be only their range, so the scan does not wait
 * for it. (A scan without a predicate waits for its sources anyway: unreduced, it would read
 * its whole table.)
 */
export const MAX_AWAITED_SOURCE_ROWS = 200_000;

/**
 * A side whose own predicate keeps at most this many rows (as its container estimates) sends
 * them at once instead of waiting for keys: sending them costs less than holding them until
 * the keys come and filtering them again (the 1%-selective join's label_urls: 50,000 rows,
 * ~15 ms less CPU in all), and the two scans no longer end one after the other.
 */
const SEND_AT_ONCE_ROWS = 100_000;

/** The sources narrowed before any reduction: tables with a predicate, pushed subqueries' results. */
function narrowedSources(analysis: QueryAnalysis): Set<string> {
  return new Set([
    ...analysis.tables.filter((t) => t.where).map(scanName),
    ...(analysis.subquerySources ?? []),
  ]);
}

/**
 * A side without a predicate of its own that has at most this many rows (as the catalog
 * knows them) is sent whole at once: a wait for keys costs a round trip of the chain (the
 * source's scan, then this one), more than a thousand rows take to send; ten thousand wide
 * rows (TPC-H's supplier) cost more than the wait. The keys read from it are narrowed here
 * instead (local-reduction.ts).
 */
const SEND_WHOLE_ROWS = 1_000;

/** Why a reduced table goes without keys, where it is small enough to go whole at once. */
export function sentWhole(table: Pick<CatalogTable, 'name' | 'rowCount'>, plan: TableScanPlan) {
  return plan.where === undefined && table.rowCount <= SEND_WHOLE_ROWS
    ? `none: ${table.name} has ${table.rowCount} rows (at most ${SEND_WHOLE_ROWS}), sent whole at once`
    : undefined;
}

/**
 * The reductions worth applying: those whose source is narrowed by its own predicate, is a
 * pushed subquery's result, or is narrowed by an earlier reduction. Keys of a whole table
 * rarely narrow anything.
 */
export function useful(analysis: QueryAnalysis): SemiJoinReduction[] {
  const narrowed = narrowedSources(analysis);
  return analysis.reductions.filter((r) => {
    if (!narrowed.has(r.source)) return false;
    narrowed.add(r.table);
    return true;
  });
}

/** The tables in an order where every reduction's sources come before its table. */
export function inReductionOrder<T extends { plan: TableScanPlan }>(
  targets: T[],
  reductions: SemiJoinReduction[],
): T[] {
  const reduced = [...new Set(reductions.map((r) => r.table))];
  return [
    ...targets.filter((t) => !reduced.includes(scanName(t.plan))),
    ...reduced.flatMap((scan) => targets.filter((t) => scanName(t.plan) === scan)),
  ];
}

/**
 * The reductions of `analysis.otherReductions` a table may also use: from a source with a
 * predicate of its own or a pushed subquery's result (keys of a whole table rarely narrow
 * anything).
 */
export function opportunistic(analysis: QueryAnalysis): SemiJoinReduction[] {
  const narrowed = narrowedSources(analysis);
  return analysis.otherReductions.filter((r) => narrowed.has(r.source));
}

export interface ReducedScan extends LocalReductions {
  con: DuckDBConnection;
  serial: Serial;
  table: CatalogTable;
  plan: TableScanPlan;
  /** The scan's request without keys (columns and own predicate). */
  request: ScanRequest;
  /** This table's reductions, best first. */
  reductions: SemiJoinReduction[];
  /**
   * Reductions of this table whose source is gathered after it in the analysis's order: used
   * where that source turns out not to wait for keys (`independent`), so no cycle can form.
   */
  opportunistic: SemiJoinReduction[];
  progress: (source: string) => SourceProgress;
  /** `source`'s `column` read from its frames as they came (key-collector.ts), once they all came. */
  collected: (source: string, column: string) => KeyCollector | undefined;
  /** Says whether this scan goes without waiting for keys (its `independent`), once known. */
  declare: (independent: boolean) => void;
  queryTimeoutMs: number;
  /**
   * Runs the scan; `filter` makes the filter an `awaitFilter` request waits for, and
   * `onSchema` is told the schema frame.
   */
  gather: (
    request: ScanRequest,
    filter?: () => Promise<ScanFilter>,
    onSchema?: (frame: SchemaFrame) => void,
  ) => Promise<GatherStats>;
}

/** The intersection of several sources' dynamic filters. */
interface Combined {
  where?: string;
  keys?: ScanKeys[];
  description: string;
}

/**
 * The filters of the reductions whose source is in hand, within one request's key budget
 * (the first reductions, the better ones, get it first; the later ones fall back to a range).
 */
async function combinedFilter(scan: ReducedScan, inHand: SemiJoinReduction[]): Promise<Combined | undefined> {
  if (inHand.length === 0) return undefined;
  const wheres: string[] = [];
  const keys: ScanKeys[] = [];
  const described: string[] = [];
  let budget = MAX_SCAN_KEY_BYTES;
  for (const r of inHand) {
    const type = scan.table.columns.find((c) => c.name === r.column)?.type ?? 'VARCHAR';
    const f = await filterOf(scan, r, type, budget);
    if (f.where) wheres.push(f.where);
    if (f.keys) {
      keys.push(f.keys);
      budget -= f.keys.values.data.byteLength + (f.keys.values.offsets?.byteLength ?? 0);
    }
    described.push(f.description);
  }
  return {
    ...(wheres.length > 0 && { where: conjunction(wheres) }),
    ...(keys.length > 0 && { keys }),
    description: described.join(' AND '),
  };
}

/**
 * The filter of one reduction: from the keys read from its source's frames, at once, where
 * they answer; else from the source's TEMP table once it is gathered.
 */
async function filterOf(
  scan: ReducedScan,
  r: SemiJoinReduction,
  type: string,
  budget: number,
): Promise<DynamicFilter> {
  // A source sent without waiting for keys did not apply its own reductions: applied here.
  const local = (await scan.progress(r.source).independent)
    ? await locallyReduced(r.source, scan)
    : undefined;
  const keys = local?.applied.length ? undefined : scan.collected(r.source, r.sourceColumn)?.keysAs(type);
  const fromFrames = keys && keysFilter(r, keys, budget);
  if (fromFrames) return fromFrames;
  await scan.progress(r.source).in;
  return dynamicFilter(scan.con, scan.serial, r, type, budget, local);
}

/**
 * The reductions whose source came in (its end frame, where its keys are read from its
 * frames); with `giveUp`, not waiting for sources proved large. The opportunistic ones count
 * only where their source does not wait for keys.
 */
async function sourcesInHand(scan: ReducedScan, giveUp: boolean): Promise<SemiJoinReduction[]> {
  const ready = (r: SemiJoinReduction) => {
    const { ended, large } = scan.progress(r.source);
    const inHand = ended.then(
      () => true,
      () => false,
    );
    return giveUp ? Promise.race([inHand, large.then(() => false)]) : inHand;
  };
  const all = [...scan.reductions, ...scan.opportunistic];
  const inHand = await Promise.all([
    ...scan.reductions.map(ready),
    ...scan.opportunistic.map((r) =>
      scan.progress(r.source).independent.then((independent) => independent && ready(r)),
    ),
  ]);
  return all.filter((_, i) => inHand[i]);
}

function noFilter(scan: ReducedScan): string {
  const sources = [...new Set(scan.reductions.map((r) => r.source))].join(', ');
  return `none: ${sources} passed ${MAX_AWAITED_SOURCE_ROWS} rows, too many keys to wait for`;
}

/**
 * How long a container waits for its awaited filter: as long as the query may take, since the
 * filter's sources may take that long to gather.
 */
function awaitedAckTimeout(queryTimeoutMs: number): number {
  return Math.min(Math.max(queryTimeoutMs, DEFAULT_ACK_TIMEOUT_MS), MAX_ACK_TIMEOUT_MS);
}

/** The sources to take keys from: without a predicate of its own, a large one's range is better than nothing. */
async function filterSources(scan: ReducedScan): Promise<SemiJoinReduction[]> {
  const inHand = await sourcesInHand(scan, true);
  return inHand.length === 0 && !scan.plan.where ? sourcesInHand(scan, false) : inHand;
}

/**
 * Gathers a reduced table. A small one without a predicate goes whole at once. Over NATS it
 * is asked at once, and the keys follow once its sources are in (the request's round trip and
 * the TEMP table's creation are then off the chain): the container keeps its own predicate's
 * rows meanwhile, or sends them at once where they are few. Otherwise it goes once its sources
 * are in. One with a predicate does not wait for a source proved large.
 */
export async function gatherReduced(scan: ReducedScan): Promise<GatherStats> {
  const { request, plan } = scan;
  const whole = sentWhole(scan.table, plan);
  if (whole) {
    scan.declare(true);
    return { ...(await scan.gather(request)), dynamic_filter: whole };
  }
  if (scan.table.transport === 'nats') {
    let filter: Promise<Combined | undefined> | undefined;
    const message = (): Promise<ScanFilter> => {
      filter = filterSources(scan).then((inHand) => combinedFilter(scan, inHand));
      return filter.then(
        (f): ScanFilter => ({
          type: 'filter',
          ...(f?.where && { where: f.where }),
          ...(f?.keys && { keys: f.keys }),
        }),
        (): ScanFilter => ({ type: 'filter' }),
      );
    };
    const awaited = {
      ...request,
      awaitFilter: true,
      ...(plan.where && { awaitFilterAbove: SEND_AT_ONCE_ROWS }),
      filterKeyColumns: [...new Set([...scan.reductions, ...scan.opportunistic].map((r) => r.column))],
      ackTimeoutMs: awaitedAckTimeout(scan.queryTimeoutMs),
    };
    const stats = await scan.gather(awaited, message, (schema) =>
      scan.declare(schema.awaitsFilter === false),
    );
    if (!filter) {
      const sentAtOnce = `none: ${plan.table}'s own predicate keeps at most ${SEND_AT_ONCE_ROWS} rows, sent at once`;
      return { ...stats, dynamic_filter: sentAtOnce };
    }
    const applied = await filter.then(
      (f) => f?.description ?? noFilter(scan),
      (err: unknown) => `none: ${err instanceof Error ? err.message : String(err)}`,
    );
    return { ...stats, dynamic_filter: applied };
  }
  scan.declare(false);
  const filter = await combinedFilter(scan, await filterSources(scan));
  if (!filter) return { ...(await scan.gather(request)), dynamic_filter: noFilter(scan) };
  const wheres = [request.where, filter.where].filter((w) => w !== undefined);
  const where = wheres.length > 0 ? conjunction(wheres) : undefined;
  const reduced = { ...request, ...(where && { where }), ...(filter.keys && { keys: filter.keys }) };
  const stats = await scan.gather(reduced);
  return { ...stats, where: request.where, dynamic_filter: filter.description };
}
