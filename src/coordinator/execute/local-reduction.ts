/**
 * A source of keys that was sent without waiting for keys of its own (few rows, sent whole at
 * once) holds rows its own reductions would have removed at its container. Its keys are read
 * here with those reductions applied over the TEMP tables already gathered, so that they
 * narrow the next scan as much as if the source had waited: nation sent whole, then
 * `nation.n_nationkey IN (region's keys)` here, gives supplier's scan one region's nations.
 *
 * Sound as any reduction is (analyze/reductions.ts): each is valid alone, over whatever its
 * source's rows are, so applying some of them to a source's rows here, in any order, keeps
 * every row of it the query needs. Only sources that never wait for keys are read (their
 * TEMP table comes whatever this scan does, so no wait here can form a cycle), and each
 * table at most once on a path.
 */
import { quoteIdent } from '../../duckdb/sql.js';

/** How a source of keys is doing: in (gathered whole), or proved too large to wait for. */
export interface SourceProgress {
  /** Resolves once the source is gathered; rejects when it fails (reported there). */
  in: Promise<unknown>;
  /**
   * Resolves once the source's end frame came, where its keys are read from its frames
   * (key-collector.ts: they are in hand before its TEMP table is), else as `in`.
   */
  ended: Promise<unknown>;
  /** Resolves once the source has gathered more than MAX_AWAITED_SOURCE_ROWS rows. */
  large: Promise<void>;
  /** Rows gathered so far. */
  rows(): number;
  /** Resolves once the source's end frame came (all its rows), else as `in`. */
  rowsIn: Promise<unknown>;
  /**
   * Resolves true once the source holds its rows until keys of later scans come (a two-way
   * semi-join, held-scans.ts): its keys sent first are then all there is to read of it.
   */
  holds: Promise<boolean>;
  /**
   * Resolves true once the source is known to be sent without waiting for any keys (it has
   * no reduction, or its container sends its own predicate's rows at once), false once it is
   * known to wait (or it failed).
   */
  independent: Promise<boolean>;
}

import type { SemiJoinReduction } from '../plan/analyze/index.js';

export interface LocalReductions {
  /** The reductions the query allows of `table` (its own and the opportunistic ones). */
  reductionsOf(table: string): SemiJoinReduction[];
  progress(source: string): SourceProgress;
}

/** The rows of `table`'s TEMP table, as SQL, and the sources that narrowed them here. */
export interface LocalRelation {
  sql: string;
  /** `source.column` of each reduction applied here (nested ones too). */
  applied: string[];
}

/** Whether `source` is gathered whole and sent without waiting for keys (not proved large first). */
export async function independentAndIn(progress: SourceProgress): Promise<boolean> {
  if (!(await progress.independent)) return false;
  return Promise.race([
    progress.in.then(
      () => true,
      () => false,
    ),
    progress.large.then(() => false),
  ]);
}

/** `table`'s TEMP table narrowed by its reductions whose independent sources are in hand. */
export async function locallyReduced(
  table: string,
  env: LocalReductions,
  seen: ReadonlySet<string> = new Set([table]),
): Promise<LocalRelation> {
  const conditions: string[] = [];
  const applied: string[] = [];
  for (const r of env.reductionsOf(table)) {
    if (seen.has(r.source) || !(await independentAndIn(env.progress(r.source)))) continue;
    const inner = await locallyReduced(r.source, env, new Set([...seen, r.source]));
    conditions.push(`${quoteIdent(r.column)} IN (SELECT ${quoteIdent(r.sourceColumn)} FROM ${inner.sql})`);
    applied.push(`${r.source}.${r.sourceColumn}`, ...inner.applied);
  }
  const temp = `temp.main.${quoteIdent(table)}`;
  if (conditions.length === 0) return { sql: temp, applied };
  return { sql: `(SELECT * FROM ${temp} WHERE ${conditions.join(' AND ')})`, applied };
}
