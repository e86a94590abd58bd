/**
 * Filters and reducers through derived tables and CTEs.
 *
 * A filter on a derived table's (or CTE reference's) output columns is pushed into its body
 * when the body lets a filter through: a SELECT whose rows are its FROM's rows that pass its
 * WHERE, projected (DISTINCT allowed), with no LIMIT/OFFSET, DISTINCT ON, QUALIFY, SAMPLE,
 * GROUP BY, aggregate or window (`barriers`), or each such SELECT of a UNION ALL (whose rows
 * are its branches' rows, the output columns matched by position); not through another set
 * operation or a recursive CTE. Then
 * each output row comes from one row of each FROM target not NULL-extended (`open`), and an
 * output column that is a bare column of that target has that row's value. So a filter over
 * such columns of one target T, false on a row of T, is false on every output row made from
 * it: removing those rows of T only removes output rows the reference's own filter drops (the
 * filter still runs where the user wrote it). A CTE read several times gets, per target, the
 * OR over its references of what each reference implies: a row any reference keeps stays; a
 * reference that implies nothing for T means no filter for T.
 *
 * A reducer (`col = S.k` keeping only rows matching S) of a reference goes into the body the
 * same way: the body rows removed have a `col` value no S row matches, and make exactly the
 * output rows whose `col` has that value. It must hold for every reference of a CTE.
 *
 * Bodies are walked before the queries that read them, so finishing them in reverse order
 * lets a filter travel through a chain of CTEs.
 */
import type { Reducer, Source, Target } from './scope.js';
import { and, columnNames, or, renameColumns, type Tree } from './trees.js';

/** One SELECT of a derived table's body (a UNION ALL has one per branch). */
export interface Body {
  /** output column (lower-case) → the bare column of a FROM target of the SELECT it is */
  columns: Map<string, Source>;
  /** why no filter goes through (empty: filters go through) */
  barriers: string[];
  /** the targets of the SELECT's FROM that are never NULL-extended */
  open: Set<Target>;
}

export interface Derived {
  /** the CTE name or the subquery's alias, for notes */
  name: string;
  outputs: string[] | null;
  /** the body's SELECTs: one, or each branch of a UNION ALL (a filter holds for each) */
  bodies: Body[];
  refs: DerivedRef[];
}

/** One reference of a derived table or CTE in a FROM: a target of filters over its outputs. */
export interface DerivedRef {
  kind: 'ref';
  derived: Derived;
  /** filters over output columns (lower-case names) */
  filters: Tree[];
  reducers: Reducer[];
  nullable: boolean;
}

/** The spelling of a source's column in a filter tree of its target. */
export function columnSpelling(s: Source): string {
  return s.target.kind === 'use' ? (s.target.table.byLower.get(s.column) ?? s.column) : s.column;
}

/** A reference's filters, grouped by the body target they map to (those that map to one). */
function mappedFilters(d: Body, ref: DerivedRef): Map<Target, Tree[]> {
  const out = new Map<Target, Tree[]>();
  for (const f of ref.filters) {
    const sources = [...columnNames(f)].map((n) => d.columns.get(n));
    const target = sources[0]?.target;
    if (!target || !d.open.has(target) || sources.some((s) => s?.target !== target)) continue;
    const renamed = renameColumns(f, (c) => {
      const name = Array.isArray(c.column_names) ? String(c.column_names[0]).toLowerCase() : '';
      const s = d.columns.get(name);
      return s && columnSpelling(s);
    });
    if (renamed) out.set(target, [...(out.get(target) ?? []), renamed]);
  }
  return out;
}

function reducerKey(r: Reducer): string {
  return JSON.stringify([r.column, r.source.table.name, r.sourceColumn, r.subquery]);
}

/** Push each reference's filters and reducers into the bodies; `note` says where none could go. */
export function pushIntoBodies(all: Derived[], note: (text: string) => void): void {
  for (const d of [...all].reverse()) {
    if (d.refs.length === 0) continue;
    const wanted = d.refs.some((r) => r.filters.length > 0 || r.reducers.length > 0);
    for (const body of d.bodies) {
      if (body.barriers.length > 0) {
        if (wanted) note(`filters on ${d.name} stay above its ${body.barriers[0]}`);
        continue;
      }
      const perRef = d.refs.map((r) => mappedFilters(body, r));
      for (const target of perRef[0].keys()) {
        if (!perRef.every((m) => m.has(target))) continue;
        target.filters.push(or(perRef.map((m) => and(m.get(target)!))));
      }
      const [first, ...rest] = d.refs;
      for (const r of first.reducers) {
        const inner = body.columns.get(r.column);
        if (!inner || !body.open.has(inner.target)) continue;
        if (!rest.every((o) => o.reducers.some((x) => reducerKey(x) === reducerKey(r)))) continue;
        inner.target.reducers.push({ ...r, column: inner.column });
      }
    }
  }
}

/** The base-table column a source's values are values of, through derived tables. */
export function baseColumn(s: Source): { use: Extract<Target, { kind: 'use' }>; column: string } | undefined {
  if (s.target.kind === 'use') return s.target.renamed ? undefined : { use: s.target, column: s.column };
  // Through one SELECT only: a UNION ALL's values come from several tables.
  const bodies = s.target.derived.bodies;
  const inner = bodies.length === 1 ? bodies[0].columns.get(s.column) : undefined;
  return inner && baseColumn(inner);
}

/** The catalog type of a source's base column, where known. */
export function sourceType(s: Source): string | undefined {
  const base = baseColumn(s);
  return base?.use.table.types.get(base.column);
}
