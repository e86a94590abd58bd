/**
 * Reductions whose keys carry the branches of an OR: where a WHERE's OR says, in its branches,
 * something of a use U and of another use S of the same FROM, and U is reduced by S's keys,
 * each S key goes with the branches its rows satisfy (a bit each), and U's container keeps a
 * row only where its key's code names a branch whose U filters the row satisfies. TPC-H Q19:
 * lineitem keeps a line only where the line and its part satisfy the same one of the three
 * brand/container/size/quantity branches, not any branch each (102 lines of 286 at SF 1).
 *
 * Why the result cannot change. Take U with a reducer `U.a = S.x` (reductions.ts) where S is
 * another use of U's own FROM, neither on a null-supplying side of an outer join, and an OR
 * among the AND-conjuncts of that FROM's WHERE (or of an INNER join's ON with both uses below
 * it) whose branch i holds the filters M_i of U and T_i of S (pushdown.ts: conjuncts of the
 * branch over one use's columns; none is TRUE). A row the WHERE keeps holds real rows of U and
 * S, so it satisfies the equality and the OR, so some branch i is TRUE, and each of its
 * AND-terms is: the real rows u of U and s of S in it have u.a = s.x, T_i(s) and M_i(u). The
 * row s is among S's scan's rows (scans only narrow), so key s.x has bit i in the code that
 * ORs the bits of T_i over the scan's rows with that key, and u is kept. Rows dropped are only
 * rows the WHERE drops. A branch whose filters did not print counts as TRUE (weaker, still
 * sound). U's scan must serve U alone, as with value matches.
 */
import { integerLayoutNamed } from '../../../duckdb/delta-keys.js';
import type { BranchCode, SemiJoinReduction } from './plan.js';
import { type DuckDbSql, printTrees } from './print.js';
import { typedReducers } from './reductions.js';
import type { Branching, Resolution, Use } from './scope.js';
import { and, type Tree } from './trees.js';

const catalog = (u: Use, column: string) => u.table.byLower.get(column) ?? column;

/** The scheduled reduction of `u`'s scan by `b.source`'s a branching may code, if any. */
function codedReduction(
  u: Use,
  b: Branching,
  scanOf: (u: Use) => string,
  reductions: SemiJoinReduction[],
): SemiJoinReduction | undefined {
  const s = b.source;
  if (s.scope !== u.scope || s.nullable || s.renamed || scanOf(s) === scanOf(u)) return undefined;
  for (const r of typedReducers(u)) {
    if (r.source !== s || r.subquery !== undefined) continue;
    if (!integerLayoutNamed(u.table.types.get(r.column) ?? '')) continue;
    const found = reductions.find(
      (x) =>
        x.table === scanOf(u) &&
        x.column === catalog(u, r.column) &&
        x.source === scanOf(s) &&
        x.sourceColumn === catalog(s, r.sourceColumn),
    );
    if (found) return found;
  }
  return undefined;
}

/** At most one branch code per scan, for a reduction scheduled in `reductions`. */
export async function branchCodes(
  res: Resolution,
  scanOf: (u: Use) => string,
  reductions: SemiJoinReduction[],
  duckDb: DuckDbSql,
): Promise<BranchCode[]> {
  const found: { reduction: SemiJoinReduction; b: Branching }[] = [];
  for (const u of res.uses) {
    const scan = scanOf(u);
    if (u.nullable || u.renamed || found.some((f) => f.reduction.table === scan)) continue;
    if (res.uses.some((other) => other !== u && scanOf(other) === scan)) continue;
    for (const b of u.branchings) {
      const reduction = codedReduction(u, b, scanOf, reductions);
      if (reduction) {
        found.push({ reduction, b });
        break;
      }
    }
  }
  if (found.length === 0) return [];
  // Every branch's filters printed at once (an empty AND is no tree); none, or unprinted: TRUE.
  const trees: Tree[] = found.flatMap(({ b }) =>
    [...b.mine, ...b.theirs].filter((p) => p.length > 0).map(and),
  );
  const texts = await printTrees(trees, duckDb);
  const out: BranchCode[] = [];
  let at = 0;
  for (const { reduction, b } of found) {
    const text = (parts: Tree[][]) => parts.map((p) => (p.length > 0 ? (texts[at++] ?? 'true') : 'true'));
    const branches = text(b.mine);
    const sourceBranches = text(b.theirs);
    // All TRUE on one side: the codes would keep what the plain keys keep.
    if (branches.every((t) => t === 'true') || sourceBranches.every((t) => t === 'true')) continue;
    out.push({ ...reduction, branches, sourceBranches });
  }
  return out;
}
