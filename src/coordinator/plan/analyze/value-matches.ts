/**
 * Reductions that carry values: where a cycle of equalities closes through a scan's two
 * reductions, the keys of each side go with the value they lead to, and the scan keeps a row
 * only where both of its keys lead to the same value. TPC-H Q5: lineitem takes orders' keys
 * (whose customers are of the region) and supplier's keys (suppliers of the region), but
 * `c_nationkey = s_nationkey` keeps only lines whose order's customer and supplier share a
 * nation, a fifth of them: each order key goes with its customer's nation
 * (`o_custkey = c_custkey`), each supplier key with its nation, and the container joins both
 * key sets on their values.
 *
 * Why the result cannot change. Take a use U of T with two reducers (reductions.ts) by uses V1
 * and V2 of other scans, `U.a = V1.x` and `U.b = V2.y`, and uses W1, W2 whose values are
 * equal by `W1.v = W2.w`, each Wi being Vi itself or a use Xi with `Vi.z = Xi.k`. Every one of
 * these uses is in U's own FROM, on no null-supplying side of an outer join, and every
 * equality is a reducer's: an AND-conjunct of the WHERE, or of an inner join's ON with both
 * uses below it. Every row of that FROM the WHERE keeps then holds a real row of each use, and
 * those rows satisfy the four equalities; so a row t of U in such a row has rows s1, x1 (or
 * s1 alone), s2, x2 among the scans' rows with `t.a = s1.x`, `s1.z = x1.k`, `t.b = s2.y`,
 * `s2.z' = x2.k'` and `x1.v = x2.w`. Keeping only U's rows for which such rows exist among the
 * rows gathered (a superset of those the query's rows hold: scans only narrow) removes only
 * rows the WHERE drops, as any reduction does. T must have this one use (a scan serving
 * several would need the match for each). The executor sends the keys with their values only
 * where each key leads to one value (a map); where one leads to several, the plain keys go.
 *
 * Integer columns only: keys and values are read from frames as integers (key-collector.ts).
 */
import { integerLayoutNamed } from '../../../duckdb/delta-keys.js';
import type { SemiJoinReduction, ValueMatch, ValueSide } from './plan.js';
import { typedReducers } from './reductions.js';
import type { Resolution, Use } from './scope.js';

/** A use a value may be read from, for one side: the source itself, or one joined to it. */
interface ValueUse {
  use: Use;
  via?: { column: string; key: string };
}

const integerColumn = (u: Use, column: string) => !!integerLayoutNamed(u.table.types.get(column) ?? '');
const catalog = (u: Use, column: string) => u.table.byLower.get(column) ?? column;

/**
 * The value matches `reductions` (the scheduled ones) allow, at most one per scan: both sides
 * are reductions of the scan there.
 */
export function valueMatches(
  res: Resolution,
  scanOf: (u: Use) => string,
  reductions: SemiJoinReduction[],
): ValueMatch[] {
  const matches: ValueMatch[] = [];
  for (const u of res.uses) {
    const scan = scanOf(u);
    if (u.nullable || u.renamed || matches.some((m) => m.table === scan)) continue;
    if (res.uses.some((other) => other !== u && scanOf(other) === scan)) continue;
    const local = (v: Use) =>
      v !== u && v.scope === u.scope && !v.nullable && !v.renamed && scanOf(v) !== scan;
    const sides = typedReducers(u).flatMap((r) => {
      if (r.subquery !== undefined || !local(r.source)) return [];
      const reduction = reductions.find(
        (x) =>
          x.table === scan &&
          x.column === catalog(u, r.column) &&
          x.source === scanOf(r.source) &&
          x.sourceColumn === catalog(r.source, r.sourceColumn),
      );
      return reduction && integerColumn(r.source, r.sourceColumn) ? [{ reduction, source: r.source }] : [];
    });
    const found = firstMatch(sides, local, { scanOf, reductions });
    if (found) matches.push({ table: scan, sides: found });
  }
  return matches;
}

/**
 * The uses a side's value may come from: its source, and those whose keys reduce the source in
 * `reductions` (gathered before it, so their values are in hand when its keys are).
 */
function valueUses(source: Use, local: (v: Use) => boolean, ctx: Context): ValueUse[] {
  const hops = typedReducers(source).flatMap((r): ValueUse[] =>
    r.subquery === undefined &&
    local(r.source) &&
    integerColumn(source, r.column) &&
    ctx.reductions.some(
      (x) =>
        x.table === ctx.scanOf(source) &&
        x.column === catalog(source, r.column) &&
        x.source === ctx.scanOf(r.source) &&
        x.sourceColumn === catalog(r.source, r.sourceColumn),
    )
      ? [{ use: r.source, via: { column: r.column, key: r.sourceColumn } }]
      : [],
  );
  return [{ use: source }, ...hops];
}

interface Context {
  scanOf: (u: Use) => string;
  reductions: SemiJoinReduction[];
}

function firstMatch(
  sides: { reduction: SemiJoinReduction; source: Use }[],
  local: (v: Use) => boolean,
  ctx: Context,
): [ValueSide, ValueSide] | undefined {
  const { scanOf } = ctx;
  for (const [i, one] of sides.entries()) {
    for (const other of sides.slice(i + 1)) {
      if (scanOf(one.source) === scanOf(other.source)) continue;
      const theirs = valueUses(other.source, local, ctx);
      for (const mine of valueUses(one.source, local, ctx)) {
        for (const r of typedReducers(mine.use)) {
          const match = theirs.find((t) => t.use === r.source);
          if (!match || r.subquery !== undefined || match.use === mine.use) continue;
          if (!integerColumn(mine.use, r.column)) continue;
          return [side(one, mine, r.column, scanOf), side(other, match, r.sourceColumn, scanOf)];
        }
      }
    }
  }
  return undefined;
}

function side(
  s: { reduction: SemiJoinReduction; source: Use },
  from: ValueUse,
  value: string,
  scanOf: (u: Use) => string,
): ValueSide {
  return {
    ...s.reduction,
    ...(from.via && {
      via: {
        column: catalog(s.source, from.via.column),
        scan: scanOf(from.use),
        key: catalog(from.use, from.via.key),
      },
    }),
    value: catalog(from.use, value),
  };
}
