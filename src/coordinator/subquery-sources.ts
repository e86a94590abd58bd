/**
 * A pushed subquery's result as a source of dynamic-filter keys: where the analysis found
 * `x.c IN (SELECT k FROM s …)` and that subquery runs alone in s's container
 * (subquery-pushdown.ts), its TEMP table holds the very values the IN compares with, so x's
 * scan may be reduced by them (the argument is in analyze/reductions.ts). TPC-H Q18's
 * `o_orderkey IN (SELECT l_orderkey … HAVING sum(l_quantity) > 300)` keeps 57 of 1.5M orders;
 * from there the usual chain reduces lineitem and customer.
 */
import type { QueryAnalysis, SemiJoinReduction, TableScanPlan } from './analyze/index.js';
import { chooseReductions } from './analyze/reductions.js';
import type { PushedSubquery } from './subquery-pushdown.js';

/**
 * `analysis` with the pushed subqueries whose result reduces a table it gathers as sources
 * (by TEMP table name), its reductions chosen again with them first; unchanged when none.
 */
export function withSubquerySources(
  analysis: QueryAnalysis,
  pushed: PushedSubquery[],
  rows: (table: string) => number | undefined,
): QueryAnalysis {
  const gathered = new Set(analysis.tables.map((t) => t.table));
  const byResult: SemiJoinReduction[] = analysis.subqueryReductions.flatMap((r) => {
    const s = pushed.find((p) => p.key === r.subquery);
    if (s?.columns.length !== 1 || !gathered.has(r.table)) return [];
    return [{ table: r.table, column: r.column, source: s.temp, sourceColumn: s.columns[0] }];
  });
  if (byResult.length === 0) return analysis;
  const sources = [...new Set(byResult.map((r) => r.source))];
  const results: TableScanPlan[] = sources.map((temp) => ({
    table: temp,
    columns: pushed.filter((p) => p.temp === temp).flatMap((p) => p.columns),
  }));
  const candidates = [...analysis.reductions, ...analysis.otherReductions, ...byResult];
  const reductions = chooseReductions([...results, ...analysis.tables], candidates, rows, new Set(sources));
  return {
    ...analysis,
    reductions,
    otherReductions: candidates.filter((r) => !reductions.includes(r)),
    subquerySources: sources,
  };
}
