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
  type BranchCode,
  type QueryAnalysis,
  type SemiJoinReduction,
  scanName,
  type TableScanPlan,
  type ValueMatch,
} from '../plan/analyze/index.js';
import { codedKeys } from './branch-code-filter.js';
import { type DynamicFilter, dynamicFilter, keysFilter, keysRange } from './dynamic-filter.js';
import type { GatherStats } from './gather.js';
import type { KeyCollector } from './key-collector.js';
import { locallyReduced, type SourceProgress } from './local-reduction.js';
import type { Serial } from './serial.js';
import { type MatchSources, matchedKeys, sameReduction } from './value-match-filter.js';

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
export const SEND_AT_ONCE_ROWS = 100_000;

/**
 * A scan that holds its rows for the keys of later scans (held-scans.ts) holds them only past
 * this many: each row kept from the coordinator saves about a quarter of a microsecond of its
 * CPU (the TEMP table's append, the final join), while holding costs the container its keys
 * frames and a pass over the held rows, and the rows wait for the later scans' end; fewer
 * rows go at once (docs/performance.md).
 */
export const HOLD_ABOVE_ROWS = 10_000;

/** The sources narrowed before any reduction: tables with a predicate, pushed subqueries' results. */
export function narrowedSources(analysis: QueryAnalysis): Set<string> {
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

/** A scan that holds its rows and sends its keys first (held-scans.ts). */
export interface HeldPlan {
  /** The columns whose keys go first: those the forward reductions read. */
  first: string[];
  /** The reductions of its held rows, by scans gathered after it. */
  backward: SemiJoinReduction[];
  /** Rows past which it holds them (fewer go at once). */
  above: number;
  /** Columns whose values go in keys frames beside `first`'s: value matches read them (value-match-filter.ts). */
  carried?: string[];
  /** The branches of an OR its rows are coded by, in keys frames too (branch-code-filter.ts). */
  branches?: string[];
}

export interface ReducedScan extends MatchSources {
  con: DuckDBConnection;
  serial: Serial;
  /** Two of its reductions whose sources' keys go with the values they lead to (value-match-filter.ts). */
  match?: ValueMatch;
  /** A reduction whose source's keys are coded by the branches of an OR (branch-code-filter.ts). */
  branchCode?: BranchCode;
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
  /** Rows its own predicate keeps at most to go without waiting for keys (SEND_AT_ONCE_ROWS by default). */
  sendAtOnceRows: number;
  /** Where it holds its rows and sends its keys first: which keys, and what narrows its rows. */
  held?: HeldPlan;
  /**
   * Runs the scan; `filter` makes the filter an `awaitFilter` request waits for, `onSchema`
   * is told the schema frame, and `heldFilter` makes the filter of the rows a `keysFirst`
   * request holds.
   */
  gather: (
    request: ScanRequest,
    filter?: () => Promise<ScanFilter>,
    onSchema?: (frame: SchemaFrame) => void,
    heldFilter?: () => Promise<ScanFilter>,
  ) => Promise<GatherStats>;
}

/** The DuckDB type of a column of the scan's table. */
function columnType(scan: ReducedScan, column: string): string | undefined {
  return scan.table.columns.find((c) => c.name === column)?.type;
}

/** The DuckDB type of the column a reduction narrows, as its keys are cast to. */
function reducedType(scan: ReducedScan, r: SemiJoinReduction): string {
  return columnType(scan, r.column) ?? 'VARCHAR';
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
  // A value match's two sides first, where both are in hand: their keys go with their values.
  const { match } = scan;
  const matched = match?.sides.every((side) => inHand.some((r) => sameReduction(r, side)))
    ? await matchedKeys(scan, match, (column) => columnType(scan, column), budget)
    : undefined;
  if (match && matched) {
    keys.push(...matched.keys);
    if (matched.where) wheres.push(matched.where);
    budget -= matched.bytes;
    described.push(matched.description);
  }
  const rest =
    matched && match ? inHand.filter((r) => !match.sides.some((side) => sameReduction(r, side))) : inHand;
  for (const r of rest) {
    const type = reducedType(scan, r);
    const code = scan.branchCode && sameReduction(r, scan.branchCode) ? scan.branchCode : undefined;
    const coded = code && (await codedKeys(scan, code, type, budget));
    if (coded) {
      if (coded.keys) keys.push(coded.keys);
      if (coded.where) wheres.push(coded.where);
      budget -= coded.bytes;
      described.push(coded.description);
      continue;
    }
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
  // A source holding its rows has no TEMP table yet: it waits for this scan's keys, maybe.
  if (await scan.progress(r.source).holds)
    return keys ? keysRange(r, keys) : { description: `none: ${r.source}.${r.sourceColumn} sent no keys` };
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

/**
 * The filter of a scan's held rows: the keys of the later scans that reduce it, once all their
 * rows are in (read from their frames), and, where it did not wait for the keys of its own
 * sources (`own`: it sent at once what its predicate keeps), theirs. Keys only (a held filter
 * carries no predicate): a source proved large, or whose keys do not fit what is left of the
 * budget or are not read from frames (a copy's), is left out.
 */
async function heldFilter(scan: ReducedScan, held: HeldPlan, own: boolean): Promise<Combined> {
  const reductions = [...held.backward, ...(own ? scan.reductions : [])];
  // Not waiting for a source proved large: its keys would not fit a filter.
  const states = await Promise.all(
    reductions.map((r) => {
      const { rowsIn, ended, large } = scan.progress(r.source);
      // A later scan's keys are those of all its rows; an earlier one's may come first.
      const keysIn = held.backward.includes(r) ? rowsIn : ended;
      return Promise.race([
        keysIn.then(
          () => 'in',
          () => 'it failed',
        ),
        large.then(() => `more than ${MAX_AWAITED_SOURCE_ROWS} rows`),
      ]);
    }),
  );
  const keys: ScanKeys[] = [];
  const described: string[] = [];
  let budget = MAX_SCAN_KEY_BYTES;
  for (const [i, r] of reductions.entries()) {
    const from = `${r.source}.${r.sourceColumn}`;
    if (states[i] !== 'in' || scan.progress(r.source).rows() > MAX_AWAITED_SOURCE_ROWS) {
      described.push(
        `not by ${from}: ${states[i] === 'in' ? `more than ${MAX_AWAITED_SOURCE_ROWS} rows` : states[i]}`,
      );
      continue;
    }
    const type = reducedType(scan, r);
    const set = scan.collected(r.source, r.sourceColumn)?.keysAs(type);
    const f = set && keysFilter(r, set, budget);
    // No keys at all: an empty key set, which keeps no row.
    const sent =
      f?.keys ??
      (f?.where === 'false' ? { column: r.column, rows: 0, values: { data: new Uint8Array(0) } } : undefined);
    if (!f || !sent) {
      described.push(`not by ${from}: its keys are not in hand or do not fit a filter`);
      continue;
    }
    keys.push(sent);
    budget -= sent.values.data.byteLength;
    described.push(f.description);
  }
  return { ...(keys.length > 0 && { keys }), description: described.join(' AND ') };
}

const asScanFilter = (f: Combined | undefined): ScanFilter => ({
  type: 'filter',
  ...(f?.where && { where: f.where }),
  ...(f?.keys && { keys: f.keys }),
});

/** The sources to take keys from: without a predicate of its own, a large one's range is better than nothing. */
async function filterSources(scan: ReducedScan): Promise<SemiJoinReduction[]> {
  const inHand = await sourcesInHand(scan, true);
  return inHand.length === 0 && !scan.plan.where ? sourcesInHand(scan, false) : inHand;
}

const described = (f: Promise<Combined | undefined>, otherwise: string) =>
  f.then(
    (c) => c?.description ?? otherwise,
    (err: unknown) => `none: ${err instanceof Error ? err.message : String(err)}`,
  );

/**
 * A reduced table over NATS: asked at once, its keys sent once its sources are in. A scan
 * that holds its rows (`held`) sends its keys first, and its rows wait for the keys of the
 * later scans that reduce it.
 */
async function gatherOverNats(scan: ReducedScan): Promise<GatherStats> {
  const { request, plan, held } = scan;
  const awaits = scan.reductions.length > 0;
  let filter: Promise<Combined | undefined> | undefined;
  const message = (): Promise<ScanFilter> => {
    filter = filterSources(scan).then((inHand) => combinedFilter(scan, inHand));
    return filter.then(asScanFilter, (): ScanFilter => ({ type: 'filter' }));
  };
  let narrowed: Promise<Combined> | undefined;
  let sentAtOnce = false;
  const narrowHeld =
    held &&
    ((): Promise<ScanFilter> => {
      narrowed = heldFilter(scan, held, awaits && sentAtOnce);
      return narrowed.then(asScanFilter, (): ScanFilter => ({ type: 'filter' }));
    });
  const awaited: ScanRequest = {
    ...request,
    ...(awaits && {
      awaitFilter: true,
      ...(plan.where && { awaitFilterAbove: scan.sendAtOnceRows }),
      filterKeyColumns: [...new Set([...scan.reductions, ...scan.opportunistic].map((r) => r.column))],
    }),
    ...(held && { keysFirst: [...new Set([...held.first, ...(held.carried ?? [])])], holdAbove: held.above }),
    ...(held?.branches && { keysFirstBranches: held.branches }),
    ...((awaits || held) && { ackTimeoutMs: awaitedAckTimeout(scan.queryTimeoutMs) }),
  };
  const onSchema = (schema: SchemaFrame) => {
    sentAtOnce = schema.awaitsFilter === false;
    // A scan that holds its rows waits for later scans: no earlier one may wait for its rows.
    scan.declare(!held && schema.awaitsFilter === false);
  };
  const stats = await scan.gather(awaited, awaits ? message : undefined, onSchema, narrowHeld);
  const heldStats = held && {
    held: narrowed
      ? await described(narrowed, 'none')
      : `none: sent at once (at most ${held.above} rows, or too many to hold)`,
  };
  if (!awaits) return { ...stats, ...heldStats };
  if (!filter) {
    const sentAtOnce = `none: ${plan.table}'s own predicate keeps at most ${scan.sendAtOnceRows} rows, sent at once`;
    return { ...stats, dynamic_filter: sentAtOnce, ...heldStats };
  }
  return { ...stats, dynamic_filter: await described(filter, noFilter(scan)), ...heldStats };
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
  if (scan.table.transport === 'nats') return gatherOverNats(scan);
  scan.declare(false);
  const filter = await combinedFilter(scan, await filterSources(scan));
  if (!filter) return { ...(await scan.gather(request)), dynamic_filter: noFilter(scan) };
  const wheres = [request.where, filter.where].filter((w) => w !== undefined);
  const where = wheres.length > 0 ? conjunction(wheres) : undefined;
  const reduced = { ...request, ...(where && { where }), ...(filter.keys && { keys: filter.keys }) };
  const stats = await scan.gather(reduced);
  return { ...stats, where: request.where, dynamic_filter: filter.description };
}
