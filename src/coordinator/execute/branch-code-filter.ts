/**
 * Branch codes at execution (analyze/branch-codes.ts): the source's keys go with the branches
 * of the OR their rows satisfy, one bit each, and the reduced scan's container keeps a row only
 * where its key's code names a branch whose filter the row satisfies (ScanKeys.branches). The
 * codes are computed where the source's rows are: in its container where it holds them
 * (`keysFirstBranches`, read from its keys frames), or here over its rows where it sent them
 * at once. Where neither is in hand, or the keys do not go delta-encoded, the plain keys go.
 */
import { integerType } from '../../duckdb/integer-values.js';
import { branchCode } from '../../duckdb/sql.js';
import { BRANCHES_COLUMN, type ScanKeys } from '../../protocol/frames.js';
import type { BranchCode, SemiJoinReduction } from '../plan/analyze/index.js';
import { keysFilter } from './dynamic-filter.js';
import type { Pairs } from './pair-collector.js';
import { type MatchSources, pairsOf, sameReduction } from './value-match-filter.js';

/** The branch codes whose reduction is scheduled, by the scan they narrow. */
export function scheduledCodes(
  codes: readonly BranchCode[],
  scheduled: readonly SemiJoinReduction[],
): Map<string, BranchCode> {
  const out = new Map<string, BranchCode>();
  for (const c of codes)
    if (scheduled.some((r) => r.table === c.table && sameReduction(r, c))) out.set(c.table, c);
  return out;
}

/**
 * Sets `branches` on the held scans that are the sources of codes (one code each): their
 * container codes the rows it holds and sends the codes in its keys frames. Such a scan holds
 * whatever its rows (`above` 0): the codes narrow the scan after it to the rows that join in
 * the same branch, whose keys then narrow these rows as much (Q19's part: 95 of 472).
 */
export function carryBranches<H extends { above: number; branches?: string[] }>(
  held: Map<string, H>,
  codes: ReadonlyMap<string, BranchCode>,
): void {
  for (const code of codes.values()) {
    const holding = held.get(code.source);
    if (holding && !holding.branches)
      held.set(code.source, { ...holding, branches: code.sourceBranches, above: 0 });
  }
}

/** The pair columns (key, codes) of `scan`'s keys frames the codes are read from. */
export function branchPairs(codes: ReadonlyMap<string, BranchCode>, scan: string): [string, string][] {
  return [...codes.values()].filter((c) => c.source === scan).map((c) => [c.sourceColumn, BRANCHES_COLUMN]);
}

/** The source's keys with their codes (OR-ed over its rows): from its keys frames, or from its rows here. */
async function codedPairs(env: MatchSources, code: BranchCode): Promise<Pairs | undefined> {
  try {
    const codeSql = branchCode(code.sourceBranches);
    return await pairsOf(env, code.source, code.sourceColumn, BRANCHES_COLUMN, codeSql, { orValues: true });
  } catch {
    // A branch naming a column this scan did not fetch: the plain keys.
    return undefined;
  }
}

/**
 * The key set of `code`'s reduction with its codes, within `budget` bytes; `type` is the
 * reduced column's DuckDB type. Undefined where the plain keys must go instead.
 */
export async function codedKeys(
  env: MatchSources,
  code: BranchCode,
  type: string,
  budget: number,
): Promise<{ keys?: ScanKeys; where?: 'false'; bytes: number; description: string } | undefined> {
  const layout = integerType(type);
  const pairs = layout && (await codedPairs(env, code));
  if (!layout || !pairs) return undefined;
  // A key none of whose rows satisfies a branch joins no row: left out.
  const numbers = new Float64Array(pairs.keys.length);
  const codes = new Uint8Array(pairs.keys.length);
  let n = 0;
  for (let i = 0; i < pairs.keys.length; i++) {
    const k = pairs.keys[i];
    if (pairs.values[i] === 0 || k < layout.min || k > layout.max) continue;
    numbers[n] = k;
    codes[n++] = pairs.values[i];
  }
  const what = `${code.source}.${code.sourceColumn} coded by ${code.branches.length} branches of an OR`;
  if (n === 0) return { where: 'false', bytes: 0, description: `no keys in ${what}` };
  const whereBytes = code.branches.reduce((sum, b) => sum + b.length, 0);
  const f = keysFilter(code, { rows: n, numbers: numbers.subarray(0, n), layout }, budget - n - whereBytes);
  if (f?.keys?.encoding !== 'delta') return undefined;
  return {
    keys: { ...f.keys, branches: { codes: codes.subarray(0, n), where: code.branches } },
    bytes: f.keys.values.data.byteLength + n + whereBytes,
    description: `IN ${n} keys of ${what}`,
  };
}
