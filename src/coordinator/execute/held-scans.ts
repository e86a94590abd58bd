/**
 * Two-way semi-joins (Yannakakis' full reducer, forward and back). The reduction schedule
 * narrows each scan by the keys of scans gathered before it, one way only: Q3's orders take
 * customer's keys and send every order of those customers, though lineitem's predicate keeps
 * lines of a tenth of them. A scan that feeds keys forward may instead hold its rows in its
 * container and send those keys first (`keysFirst`); the later scans it narrows go on at
 * once, and once they are in, their keys come back as the filter of the held rows, so that
 * only rows that still join leave. A held scan's own keys can go back in turn, to a scan held
 * before it (customer ← orders ← lineitem).
 *
 * Sound as every reduction is (analyze/reductions.ts): each is valid whatever the source's
 * rows are, so the keys of a later scan may narrow an earlier one as well as the other way,
 * the analysis having allowed both directions. No wait can form a cycle: a scan waits for the
 * keys of earlier scans (sent before they hold anything) and for the rows of later ones, and
 * the last scan waits for no later one.
 */
import { integerLayoutNamed } from '../../duckdb/delta-keys.js';
import type { CatalogTable } from '../catalog/catalog.js';
import {
  type BranchCode,
  type QueryAnalysis,
  type SemiJoinReduction,
  scanName,
  type TableScanPlan,
  type ValueMatch,
} from '../plan/analyze/index.js';
import { carryBranches, scheduledCodes } from './branch-code-filter.js';
import { type HeldPlan, HOLD_ABOVE_ROWS, narrowedSources, sentWhole } from './reduction-schedule.js';
import { carryPairs, scheduledMatches } from './value-match-filter.js';

export interface HoldingOptions {
  /** The scans in the order they are gathered (sources before the scans they reduce). */
  order: string[];
  /** The reductions scheduled, each from a scan gathered before its target. */
  reductions: SemiJoinReduction[];
  /** Every reduction the analysis allows (scheduled or not). */
  candidates: SemiJoinReduction[];
  /** Scans with a predicate of their own, or a pushed subquery's result. */
  narrowed: Set<string>;
  /** Whether a scan may hold its rows (over NATS, from its container). */
  mayHold: (scan: string) => boolean;
  /** Whether a scan's column is an integer one: held rows are narrowed by integer keys only. */
  integer: (scan: string, column: string) => boolean;
  /** Whether a scan's rows come from its container (not a copy held here). */
  scanned: (scan: string) => boolean;
  /** Rows past which a scan holds them. */
  above: number;
}

/**
 * Whether `later`'s keys may narrow `held`'s rows beyond what `held`'s own keys gave it: it
 * has a predicate of its own, or keys of another scan narrow it: scheduled, or those of a
 * scan with a predicate of its own where that one is sent at once (Q8's lineitem takes part's
 * keys so, and its keys then narrow orders' held rows from 91k to 2.4k).
 */
function narrowsBeyond(later: string, held: string, opts: HoldingOptions): boolean {
  return (
    opts.narrowed.has(later) ||
    opts.reductions.some((r) => r.table === later && r.source !== held) ||
    opts.candidates.some((r) => r.table === later && r.source !== held && opts.narrowed.has(r.source))
  );
}

/**
 * The scans of `analysis` that hold their rows: `ordered` as they are gathered (with their
 * catalog tables), `reductions` as scheduled, `copied` the scans served from copies here.
 */
export function heldScansOf(
  analysis: QueryAnalysis,
  ordered: { plan: TableScanPlan; table?: CatalogTable }[],
  reductions: SemiJoinReduction[],
  copied: ReadonlySet<string>,
  above = HOLD_ABOVE_ROWS,
): Map<string, HeldPlan> {
  const byScan = new Map(ordered.map((t) => [scanName(t.plan), t]));
  return heldScans({
    order: ordered.map((t) => scanName(t.plan)),
    reductions,
    candidates: [...analysis.reductions, ...analysis.otherReductions],
    narrowed: narrowedSources(analysis),
    mayHold: (scan) => {
      const { table, plan } = byScan.get(scan) ?? {};
      return !!table && !!plan && table.transport === 'nats' && !table.parts && !sentWhole(table, plan);
    },
    integer: (scan, column) => {
      const type = byScan
        .get(scan)
        ?.table?.columns.find((c) => c.name.toLowerCase() === column.toLowerCase())?.type;
      return type !== undefined && integerLayoutNamed(type) !== undefined;
    },
    scanned: (scan) => byScan.has(scan) && !copied.has(scan),
    above,
  });
}

/** The scans that hold their rows, with what narrows them. */
export function heldScans(opts: HoldingOptions): Map<string, HeldPlan> {
  const held = new Map<string, HeldPlan>();
  const position = new Map(opts.order.map((scan, i) => [scan, i]));
  for (const [i, scan] of opts.order.entries()) {
    const first = [...new Set(opts.reductions.filter((r) => r.source === scan).map((r) => r.sourceColumn))];
    if (first.length === 0) continue;
    const backward = opts.candidates.filter(
      (r) =>
        r.table === scan &&
        (position.get(r.source) ?? -1) > i &&
        opts.scanned(r.source) &&
        opts.integer(scan, r.column) &&
        narrowsBeyond(r.source, scan, opts),
    );
    // Keys frames are read by key collectors, integer columns only.
    const integers = first.every((column) => opts.integer(scan, column));
    if (backward.length === 0 || !integers || !opts.mayHold(scan)) continue;
    held.set(scan, { first, backward, above: opts.above });
  }
  return held;
}

/**
 * What the scheduled `reductions` send beside their keys, by the scan each narrows: value
 * matches' values (value-match-filter.ts) and branch codes (branch-code-filter.ts). The held
 * scans (`held`, `ordered` as gathered) they read are set to send theirs in their keys frames.
 */
export function carriedWithKeys(
  analysis: QueryAnalysis,
  reductions: SemiJoinReduction[],
  held: Map<string, HeldPlan>,
  ordered: readonly { plan: TableScanPlan }[],
): { matches: Map<string, ValueMatch>; codes: Map<string, BranchCode> } {
  const matches = scheduledMatches(analysis.valueMatches ?? [], reductions);
  carryPairs(held, matches, ordered);
  const codes = scheduledCodes(analysis.branchCodes ?? [], reductions);
  carryBranches(held, codes);
  return { matches, codes };
}
