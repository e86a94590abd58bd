/**
 * Semi-join reductions (Trino's dynamic filtering): a table T whose every use joins a use of
 * another table S by `T.c = S.sc` may be fetched with `c IN (the sc values of the S rows
 * gathered)`, S gathered first.
 *
 * Why the result cannot change. The query's SELECTs each compute their rows from their own
 * FROM/WHERE, whatever the other SELECTs do; so it suffices that, in every SELECT holding a
 * use U of T, removing U's rows whose c matches no row of the S table leaves that SELECT's
 * FROM + WHERE rows as they were. A use U qualifies (scope.ts records it as a `Reducer`) when
 * the SELECT's FROM also holds a use V of S on no null-supplying side of an outer join of the
 * FROM (V's rows are then real rows of the S table: V.sc is a value of S), and `U.c = V.sc`
 * (either order) is an AND-conjunct:
 * - of the WHERE, U on no null-supplying side either: removing rows of a use that no outer
 *   join NULL-extends only removes the FROM rows holding them, and those fail the WHERE;
 * - of the ON of an INNER/CROSS join with both uses below it, U not NULL-extended below it:
 *   the rows removed only remove that join's input rows holding them, which fail the ON;
 * - of the ON of a LEFT join, U on its right side, not NULL-extended below the join, V on its
 *   left side (RIGHT: mirrored): the right-side rows removed never matched, and a LEFT join
 *   drops unmatched right rows (the left rows keep their matches, or their lack of one).
 * USING and NATURAL joins count as their ON equalities; IN, EXISTS and correlated subqueries
 * give reducers too (pushdown.ts says why), and derived tables and CTEs pass a reference's
 * reducers into their body (derived.ts). Not derived: `IS NOT DISTINCT FROM` (it matches
 * NULLs), anything but two bare columns, FULL/ASOF/POSITIONAL/SEMI/ANTI joins, renamed uses,
 * a use and a source read from the same scan (it cannot be gathered before itself).
 * A use of T without such an equality (in a set-operation branch, a body with a LIMIT or an
 * aggregate, a subquery without S) means no reduction of T. A reduction also needs the same catalog type
 * on both columns: IN with implicit casts may compare differently than the join does.
 *
 * A subquery's result as the source. `U.c IN (SELECT k FROM S … )`, an AND-conjunct of the
 * WHERE of U's SELECT with U on no null-supplying side, keeps only FROM rows whose U.c equals a
 * non-NULL value of the subquery's result R (a NULL U.c, or one matching no value, makes the
 * IN NULL or false, and the WHERE drops the row); so U's rows whose c is in no row of R make
 * only rows the WHERE drops, as above: a reduction of T by R's column, narrower than by S.k.
 * R must be the very rows the subquery gives in the query: only an uncorrelated subquery
 * run alone (subquery-pushdown.ts checks that it binds alone and parses back to itself).
 * NULL values in R reduce nothing (the keys skip NULLs; `c IN (keys)` is never true for a
 * NULL c, nor is the user's IN); an empty R leaves no row (`false`), as the IN is false then.
 * Not from NOT IN, `<> ALL` or NOT EXISTS: they keep rows whose key is absent from R. Through
 * derived tables and CTEs as any reducer. Like a table's, it must hold for every use of T.
 *
 * Between scans. "The S table" above is the TEMP table V reads in the SQL the coordinator
 * runs; nothing in the argument needs it to be all of S's gathered rows. So where a table's
 * uses read scans of their own (reference-scans.ts: each use its scan's TEMP table, renamed
 * in the SQL), a use U of a scan may be reduced by the keys of the scan V reads, V a use of
 * any table, the same one included: Q21's `EXISTS (… l2.l_orderkey = l1.l_orderkey …)` keeps
 * only l2 rows whose key is among those of l1's scan, since no other l2 row matches an l1 row
 * the query sees. A scan's reduction needs every use that reads it to allow it, from the same
 * source scan.
 *
 * Each reduction is valid whatever was gathered before: the argument above only uses the S
 * table's current rows. So reductions chain (S itself reduced earlier), and any subset of the
 * list, applied in order, is valid too (the coordinator may skip one whose source is large).
 */
import { type SemiJoinReduction, type SubqueryReduction, scanName, type TableScanPlan } from './plan.js';
import type { Reducer, Resolution, Use } from './scope.js';

/** A use's reducers with the same known type on both columns (IN may cast where the join does not). */
export function typedReducers(u: Use): Reducer[] {
  const norm = (t: string | undefined) => t?.replace(/\s+/g, '').toUpperCase();
  return u.reducers.filter((r) => {
    const t = norm(u.table.types.get(r.column));
    return !!t && t === norm(r.source.table.types.get(r.sourceColumn));
  });
}

/**
 * For a scan (`scanOf` names the scan each use reads), the reductions every one of its uses
 * allows from another scan (`r.subquery` set: by a subquery's result, or not: by a scan), in
 * the order of its first use's equalities.
 */
function allowedByEveryUse<R extends SemiJoinReduction | SubqueryReduction>(
  res: Resolution,
  bySubquery: boolean,
  scanOf: (u: Use) => string,
): R[] {
  const byScan = new Map<string, Map<string, R>[]>();
  for (const u of res.uses) {
    const own = new Map<string, R>();
    const scan = scanOf(u);
    for (const r of typedReducers(u)) {
      const source = scanOf(r.source);
      if (source === scan || (r.subquery !== undefined) !== bySubquery) continue;
      const column = u.table.byLower.get(r.column);
      const sourceColumn = r.source.table.byLower.get(r.sourceColumn);
      if (column === undefined || sourceColumn === undefined) continue;
      const red = { table: scan, column, source, sourceColumn };
      const full = (r.subquery === undefined ? red : { ...red, subquery: r.subquery }) as R;
      own.set(JSON.stringify(full), full);
    }
    byScan.set(scan, [...(byScan.get(scan) ?? []), own]);
  }
  const out = new Map<string, R>();
  for (const [, perUse] of byScan) {
    for (const [k, r] of perUse[0]) if (perUse.every((m) => m.has(k))) out.set(k, r);
  }
  return [...out.values()];
}

const byTable = (u: Use) => u.table.name;

/**
 * The reductions by scans one reading of the query allows, with those chaining gives from a
 * scan that `narrows` (one with a predicate of its own: its keys may be fewer than those of
 * the scan between; an unfiltered one's would only add a wait).
 */
export function reductionCandidates(
  res: Resolution,
  scanOf: (u: Use) => string = byTable,
  narrows: (scan: string) => boolean = () => false,
): SemiJoinReduction[] {
  return chained(allowedByEveryUse<SemiJoinReduction>(res, false, scanOf), narrows);
}

/**
 * `reductions` with those chaining gives: T.c by S.d and S.d by U.e (the same column of the
 * same scan) give T.c by U.e, U one that `narrows`. Why it holds: S's rows whose d is not a
 * key of U may go, whatever T holds (the second reduction); in the S left, every d is a key
 * of U, so a T row whose c is not one matches no S row left, and may go (the first, over
 * that S); and with those T rows gone, S's rows may come back (the second again, whatever T
 * holds). TPC-H Q21's l2 (`EXISTS … l2.l_orderkey = l1.l_orderkey`) gets the keys of orders
 * with `o_orderstatus = 'F'` through `l1.l_orderkey = o_orderkey`.
 */
function chained(reductions: SemiJoinReduction[], narrows: (scan: string) => boolean): SemiJoinReduction[] {
  const key = (r: SemiJoinReduction) => JSON.stringify([r.table, r.column, r.source, r.sourceColumn]);
  const all = new Map(reductions.map((r) => [key(r), r]));
  for (let grew = true; grew; ) {
    grew = false;
    for (const first of [...all.values()]) {
      for (const second of [...all.values()]) {
        if (second.table !== first.source || second.column !== first.sourceColumn) continue;
        if (second.source === first.table || !narrows(second.source)) continue;
        const r = {
          table: first.table,
          column: first.column,
          source: second.source,
          sourceColumn: second.sourceColumn,
        };
        if (all.has(key(r))) continue;
        all.set(key(r), r);
        grew = true;
      }
    }
  }
  return [...all.values()];
}

/** The reductions by IN subqueries' results one reading of the query allows. */
export function subqueryCandidates(
  res: Resolution,
  scanOf: (u: Use) => string = byTable,
): SubqueryReduction[] {
  return allowedByEveryUse<SubqueryReduction>(res, true, scanOf);
}

/**
 * The reductions to apply, where the rows of every table and the rows every scan's own
 * predicate keeps (`kept`, by scan: estimated by its container on a sample) are known;
 * undefined where one is not. Scans are placed one at a time, each time the one expected to
 * keep the fewest rows: a scan's own rows (its predicate's, or the table's), times the share
 * each placed scan it takes keys of leaves. Keys of a source S keeping a share f of its table
 * narrow a table T to about f of its rows where T.c refers to S's key (Q8's lineitem by part's
 * keys: part's 0.7%), and to at most S's rows where S refers to T's (orders by lineitem's
 * keys: one order per kept line at most); not knowing which, the larger of the two. So the
 * most selective chain starts first, whatever its tables' sizes: Q8's part (1,339 of 200k
 * parts) narrows lineitem before orders takes customers' keys, where Q5's customers of one
 * region (a fifth) narrow orders first, whose own date range keeps 15%.
 *
 * A scan takes the keys of its most narrowing source, then those of each other placed source
 * that costs no longer wait (one no deeper in its chain of waits) or brings a predicate the
 * ones taken do not (Q8's orders waits for customer's keys, narrowed by region, beside
 * lineitem's, narrowed by part); not those of a source deeper in a chain whose narrowing
 * comes from the same predicates (Q20's lineitem takes part's keys, not also those of
 * partsupp, itself narrowed by part: a wait for little). The executor intersects them.
 */
/** A scan placed by byEstimates: rows expected, waits before it, the predicates that narrow it. */
interface Placed {
  rows: number;
  depth: number;
  narrowedBy: Set<string>;
}

function byEstimates(
  tables: TableScanPlan[],
  candidates: SemiJoinReduction[],
  rows: (table: string) => number | undefined,
  kept: ReadonlyMap<string, number>,
): SemiJoinReduction[] | undefined {
  const scans = tables.map(scanName);
  const size = new Map(tables.map((t) => [scanName(t), rows(t.table)]));
  const own = new Map<string, number>();
  for (const t of tables) {
    const all = size.get(scanName(t));
    const keeps = t.where === undefined ? all : kept.get(scanName(t));
    if (all === undefined || keeps === undefined) return undefined;
    own.set(scanName(t), Math.min(keeps, all));
  }
  const placed = new Map<string, Placed>();
  const order: string[] = [];
  /** The share of `target`'s rows the keys of `source` (placed) leave. */
  const share = (source: string, target: string) => {
    const keeps = placed.get(source)?.rows as number;
    const shares = [
      keeps / Math.max(size.get(source) as number, 1),
      keeps / Math.max(size.get(target) as number, 1),
    ];
    return Math.min(1, Math.max(...shares));
  };
  const reductionsOf = (scan: string) => {
    const options = candidates
      .filter((r) => r.table === scan && placed.has(r.source))
      .map((r) => ({ r, share: share(r.source, scan) }))
      .filter((x) => x.share < 1)
      .sort((a, b) => a.share - b.share || order.indexOf(a.r.source) - order.indexOf(b.r.source));
    const taken: typeof options = [];
    const narrowedBy = new Set<string>();
    let depth = -1;
    for (const x of options) {
      const source = placed.get(x.r.source) as Placed;
      const brings = [...source.narrowedBy].some((p) => !narrowedBy.has(p));
      if (taken.length > 0 && source.depth > depth && !brings) continue;
      taken.push(x);
      depth = Math.max(depth, source.depth);
      for (const p of source.narrowedBy) narrowedBy.add(p);
    }
    if (own.get(scan) !== size.get(scan)) narrowedBy.add(scan);
    const expected = taken.reduce((n, x) => n * x.share, own.get(scan) as number);
    return { taken, rows: expected, depth: depth + 1, narrowedBy };
  };
  const out: SemiJoinReduction[] = [];
  while (order.length < scans.length) {
    let best: ({ scan: string } & ReturnType<typeof reductionsOf>) | undefined;
    for (const scan of scans) {
      if (placed.has(scan)) continue;
      const next = reductionsOf(scan);
      if (!best || next.rows < best.rows) best = { scan, ...next };
    }
    const { scan, taken, ...chosen } = best as NonNullable<typeof best>;
    placed.set(scan, chosen);
    order.push(scan);
    out.push(...taken.map((x) => x.r));
  }
  return out;
}

function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

/**
 * The reductions to apply, sources before targets, no cycle. Where `kept` holds every
 * filtered scan's estimate and no subquery result is a source, they follow the estimates
 * (byEstimates). Else tables are placed one at a time:
 * among the unplaced tables a placed one can reduce, the one with the best source (a source
 * with a pushed predicate, then one itself reduced, then any; ties to the earlier table,
 * tables with a pushed predicate first), with that reduction first and then every other one
 * from a placed source (several reductions of a table are intersected); when none, the next
 * unplaced table, unreduced (tables with a pushed predicate first, then those no candidate
 * could reduce anyway; among equals, the smallest table by `rows`, where known: its keys
 * narrow the larger ones). `results` are sources that are no table but an IN subquery's
 * result (listed in `tables` too): they count as filtered, and come first (they wait for
 * nothing).
 */
export function chooseReductions(
  tables: TableScanPlan[],
  candidates: SemiJoinReduction[],
  rows: (table: string) => number | undefined = () => undefined,
  results: Set<string> = new Set(),
  kept: ReadonlyMap<string, number> = new Map(),
): SemiJoinReduction[] {
  const estimated = results.size === 0 ? byEstimates(tables, candidates, rows, kept) : undefined;
  if (estimated) return estimated;
  const filtered = new Set(
    tables.filter((t) => t.where !== undefined || results.has(scanName(t))).map(scanName),
  );
  const targets = new Set(candidates.map((r) => r.table));
  const rootRank = (t: TableScanPlan) => {
    const scan = scanName(t);
    return results.has(scan) ? -1 : filtered.has(scan) ? 0 : targets.has(scan) ? 2 : 1;
  };
  const order = tables
    .map((t, i) => ({ t, i }))
    .sort(
      (a, b) =>
        rootRank(a.t) - rootRank(b.t) ||
        (rows(a.t.table) ?? Number.POSITIVE_INFINITY) - (rows(b.t.table) ?? Number.POSITIVE_INFINITY) ||
        a.i - b.i,
    )
    .map((x) => scanName(x.t));
  const placed: string[] = [];
  const reduced = new Set<string>();
  const out: SemiJoinReduction[] = [];
  const rank = (source: string) => (filtered.has(source) ? 0 : reduced.has(source) ? 1 : 2);
  while (placed.length < order.length) {
    let best: { r: SemiJoinReduction; score: number[] } | undefined;
    order.forEach((t, ti) => {
      if (placed.includes(t)) return;
      for (const r of candidates) {
        if (r.table !== t || !placed.includes(r.source)) continue;
        const score = [rank(r.source), ti, placed.indexOf(r.source)];
        if (!best || lexLess(score, best.score)) best = { r, score };
      }
    });
    if (best) {
      // Its best reduction first, then every other one whose source is placed already: the
      // executor intersects them (Trino's dynamic filters from every join a scan is probed by).
      const { table } = best.r;
      const others = candidates.filter(
        (r) => r !== best?.r && r.table === table && placed.includes(r.source),
      );
      out.push(best.r, ...others);
      reduced.add(table);
      placed.push(table);
    } else {
      placed.push(order.find((t) => !placed.includes(t))!);
    }
  }
  return out;
}
