/**
 * Which table references matter only by the distinct rows they hold: those read under EXISTS,
 * NOT EXISTS, IN, NOT IN, `op ANY` or `op ALL` (subquery) through blocks that keep that so. A
 * scan that serves only such references may send each distinct row of its columns once
 * (`TableScanPlan.distinct`): TPC-H Q22's `NOT EXISTS (SELECT * FROM orders WHERE o_custkey =
 * c_custkey)` then moves each customer key once instead of once per order.
 *
 * Why that cannot change a result. EXISTS reads only whether its subquery has a row; IN,
 * NOT IN and the ANY / ALL comparisons read only which distinct values it has (NULL among
 * them included): copies of a row change neither. A block's FROM rows matter only by which
 * distinct ones there are when the block's own output does: filters (WHERE, ON), projections,
 * joins of every kind, DISTINCT, ORDER BY, UNION and INTERSECT (ALL or not) and EXCEPT make
 * an output row from input rows that pass a condition, so a copy of an input row can only
 * repeat an output row, never add or remove a distinct one. What counts copies breaks that,
 * and its FROM is then read as it is (`bag`):
 * - aggregates and GROUP BY (count, sum; GROUP BY alone is set-like, but not worth telling
 *   apart), window functions and QUALIFY, DISTINCT ON (which copy it keeps);
 * - LIMIT and OFFSET (`k IN (SELECT k … ORDER BY k LIMIT 2)` over {1, 1, 2} keeps {1}, over
 *   {1, 2} keeps both), but for a LIMIT of n ≥ 1 without OFFSET read only for existence: it
 *   has a row exactly when its input has one;
 * - EXCEPT ALL (a row stays where the left side holds more copies than the right), SAMPLE
 *   (copies are more chances to be drawn), volatile functions (`random() < 0.5` is drawn per
 *   copy), recursion;
 * - an aggregate or window function anywhere in a subquery, derived table or CTE of the
 *   block: one whose arguments are the block's columns is the block's aggregate (SQL's rule
 *   for outer references); telling those apart is not worth it here.
 * CTE bodies are read as they are: a CTE may be referenced in several places, and its body is
 * walked once. A query the analysis does not fully model (`exotic`: SAMPLE, ASOF, POSITIONAL,
 * SEMI / ANTI joins, PIVOT…) gets no distinct scan at all (index.ts).
 */
import { VOLATILE } from './functions.js';
import type { Expr, From, Query } from './ir.js';

/**
 * How a query block's reader takes its rows: only whether there is one (`exists`), only which
 * distinct rows there are (`set`), or how many copies of each too (`bag`).
 */
export type RowUse = 'exists' | 'set' | 'bag';

/** How a subquery expression reads its subquery's rows. */
export function subqueryRowUse(e: Extract<Expr, { k: 'sub' }>): RowUse {
  if (e.exists) return 'exists';
  // IN, NOT IN, `op ANY`, `op ALL`: DuckDB's ANY subquery, negated or not.
  return e.kind === 'ANY' ? 'set' : 'bag';
}

/** How the FROM items (or set branches) of `q` have their rows read, when `q`'s are read as `use`. */
export function inputRowUse(q: Query, use: RowUse): RowUse {
  if (use === 'bag') return 'bag';
  if (q.k === 'setop' && (q.recursiveName !== undefined || q.countsCopies)) return 'bag';
  const barriers = (q.barriers ?? []).filter((b) => q.k === 'select' || b !== 'set operation');
  const harmless = (b: string) => b === 'LIMIT' && use === 'exists' && q.positiveLimit === true;
  if (!barriers.every(harmless)) return 'bag';
  return countsCopies(q) ? 'bag' : 'set';
}

/** An aggregate, window or volatile function anywhere in the block, its subqueries included. */
function countsCopies(q: Query): boolean {
  let found = false;
  visitQuery(q, (e) => {
    if (e.k === 'fn' && (e.agg || e.window || VOLATILE.has(e.name))) found = true;
  });
  return found;
}

/** Calls `visit` on every expression of `q`: its CTEs', branches', FROM items' and subqueries' too. */
function visitQuery(q: Query, visit: (e: Expr) => void): void {
  const expr = (e: Expr): void => {
    visit(e);
    if (e.k === 'sub') visitQuery(e.query, visit);
    if ('args' in e) for (const a of e.args) expr(a);
  };
  const from = (f: From): void => {
    switch (f.k) {
      case 'join':
        from(f.left);
        from(f.right);
        if (f.on) expr(f.on);
        return;
      case 'subquery':
        visitQuery(f.query, visit);
        return;
      case 'values':
        for (const row of f.rows) for (const e of row) expr(e);
        return;
      case 'func':
        for (const e of f.args) expr(e);
        return;
      case 'opaque':
        for (const e of f.exprs) expr(e);
        return;
      default:
        return;
    }
  };
  for (const c of q.ctes) visitQuery(c.query, visit);
  if (q.k === 'setop') {
    visitQuery(q.left, visit);
    visitQuery(q.right, visit);
  } else {
    from(q.from);
    if (q.where) expr(q.where);
    for (const item of q.select) expr(item.expr);
  }
  for (const e of q.other) expr(e);
}
