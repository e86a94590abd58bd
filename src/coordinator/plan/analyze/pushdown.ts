/**
 * The filters and reducers one SELECT gives the targets of its FROM (predicates.ts says where
 * a conjunct of a WHERE or ON may go). Beyond the conjuncts as written:
 *
 * - OR: a conjunct every branch of an OR holds is a conjunct of the OR (if it is false or NULL,
 *   every branch is, so the OR is not true); and a target T gets the OR over the branches of
 *   each branch's conjuncts about T, when every branch has one (a row of T failing all of them
 *   makes every branch false or NULL).
 * - USING (k): on an INNER (LEFT) join, the unqualified `k` is the left side's column, and the
 *   join holds `left.k = right.k`, used as an ON equality.
 * - Equalities: `a.x = b.y` of the WHERE (or of an INNER join ON, both sides never
 *   NULL-extended) and a one-column filter P(a.x) of the same kind give P(b.y) to b: every row
 *   of the FROM that survives has a.x = b.y and P(a.x), so P(b.y); a row of b failing P(b.y)
 *   is in no surviving row. Only between columns of one type that is not floating point
 *   (where `=` means the same value).
 * - IN / EXISTS: `t.c IN (SELECT s.k …)` (a WHERE conjunct) keeps only t rows whose c is a k
 *   value of s's rows: a reducer of t by s. More narrowly, only t rows whose c is a value of
 *   the subquery's result: a second reducer naming the subquery, whose result is the source
 *   where the subquery runs alone (reductions.ts). `EXISTS (SELECT … WHERE s.k = t.c …)` likewise,
 *   unless the subquery is an aggregate without GROUP BY (one row even over no rows).
 * - Correlation: in a subquery whose WHERE holds `s.k = o.c` (o of an enclosing query), an s
 *   row whose k matches no row of o's table passes that WHERE for no outer row, so it changes
 *   no evaluation of the subquery: a reducer of s by o, whatever kind of subquery it is.
 */
import { isJsonObject } from '../../../json-object.js';
import { MAX_BRANCHES } from '../../../protocol/frames.js';
import { baseColumn, columnSpelling, sourceType } from './derived.js';
import type { Expr, From } from './ir.js';
import { conjunctUse, type Placement, splitAnd } from './predicates.js';
import type { QueryInfo, Resolver, Scope, Source, Target, Use } from './scope.js';
import { and, columnNames, or, renameColumns, type Tree, treeKey } from './trees.js';

type Join = Extract<From, { k: 'join' }>;

/** DuckDB's comparison types, and the operator with the column on the left, either side. */
const COMPARISONS: Record<string, [string, string]> = {
  COMPARE_EQUAL: ['=', '='],
  COMPARE_NOTEQUAL: ['<>', '<>'],
  COMPARE_LESSTHAN: ['<', '>'],
  COMPARE_GREATERTHAN: ['>', '<'],
  COMPARE_LESSTHANOREQUALTO: ['<=', '>='],
  COMPARE_GREATERTHANOREQUALTO: ['>=', '<='],
};

/** A one-column filter the equality inference may copy. */
interface Fact {
  source: Source;
  tree: Tree;
}

function sourceKey(s: Source, ids: Map<Target, number>): string {
  if (!ids.has(s.target)) ids.set(s.target, ids.size);
  return `${ids.get(s.target)}:${s.column}`;
}

const FLOATING = /^(FLOAT|REAL|DOUBLE|FLOAT4|FLOAT8)$/i;

export class SelectPushdown {
  /** equalities between two columns of targets never NULL-extended, for the inference */
  private readonly equalities: [Source, Source][] = [];
  /** one-column filters of targets never NULL-extended */
  private readonly facts: Fact[] = [];
  readonly correlations: QueryInfo['correlations'] = [];

  constructor(
    private readonly resolver: Resolver,
    private readonly scope: Scope,
    private readonly placement: Placement<Target>,
    /** a subquery expression: equalities with enclosing queries' columns are correlations */
    private readonly correlated: boolean,
  ) {}

  private source(e: Expr): Source | undefined {
    return e.k === 'col' ? this.resolver.localSource(e.parts, this.scope) : undefined;
  }

  /** The target a conjunct is about and the conjunct over its columns; undefined: not pushable. */
  private filter(e: Expr): { target: Target | null; tree: Tree } | undefined {
    const target = conjunctUse(e, (parts) => this.resolver.localSource(parts, this.scope)?.target);
    if (target === undefined || e.raw === undefined) return undefined;
    const tree = renameColumns(e.raw as Tree, (ref) => {
      const parts = Array.isArray(ref.column_names)
        ? ref.column_names.map((n) => String(n).toLowerCase())
        : [];
      const s = this.resolver.localSource(parts, this.scope);
      return s && columnSpelling(s);
    });
    return tree && { target, tree };
  }

  /** The conjuncts, with those every branch of an OR shares added (recursively). */
  private expand(conjuncts: Expr[]): Expr[] {
    const out: Expr[] = [];
    for (const c of conjuncts) {
      out.push(c);
      if (c.k === 'op' && c.or) out.push(...this.expand(this.shared(c.args)));
    }
    return out;
  }

  /** The conjuncts every branch of an OR holds. */
  private shared(branches: Expr[]): Expr[] {
    if (branches.length < 2) return [];
    const [first, ...rest] = branches.map((b) => splitAnd(b));
    const others = rest.map((b) => new Set(b.map((x) => treeKey(x.raw))));
    return first.filter((x) => x.raw !== undefined && others.every((k) => k.has(treeKey(x.raw))));
  }

  /**
   * Filters for `targets` from the conjuncts (an OR gives each target its own OR); `branching`:
   * a WHERE's or an INNER join's ON, whose ORs' branches are recorded for each two targets
   * never NULL-extended (`branchings`).
   */
  private place(conjuncts: Expr[], targets: Set<Target>, branching = false): void {
    const add = (t: Target, tree: Tree) => {
      if (targets.has(t) && !(t.kind === 'use' && t.renamed)) t.filters.push(tree);
    };
    for (const c of conjuncts) {
      const f = this.filter(c);
      if (f) {
        for (const t of f.target === null ? targets : [f.target]) add(t, f.tree);
        continue;
      }
      if (c.k !== 'op' || !c.or) continue;
      // What every branch shares is a conjunct of its own (expand): each branch's rest here.
      const shared = new Set(this.shared(c.args).map((x) => treeKey(x.raw)));
      const branches = c.args.map((b) =>
        splitAnd(b)
          .filter((x) => !shared.has(treeKey(x.raw)))
          .map((x) => this.filter(x)),
      );
      const partsOf = (t: Target) =>
        branches.map((b) => b.filter((x) => x?.target === t).map((x) => x!.tree));
      for (const t of targets) {
        const parts = partsOf(t);
        if (parts.every((p) => p.length > 0)) add(t, or(parts.map(and)));
      }
      if (branching) this.branchings([...targets], partsOf);
    }
  }

  /**
   * For each two uses of `targets` (never NULL-extended) that an OR's branches both say
   * something of, the branches' filters of each (branch-codes.ts codes keys by them).
   */
  private branchings(targets: Target[], partsOf: (t: Target) => Tree[][]): void {
    const uses = targets.filter((t): t is Use => t.kind === 'use' && !t.renamed && !t.nullable);
    for (const t of uses) {
      const mine = partsOf(t);
      if (mine.length < 2 || mine.length > MAX_BRANCHES || mine.every((p) => p.length === 0)) continue;
      for (const source of uses) {
        const theirs = partsOf(source);
        if (source === t || theirs.every((p) => p.length === 0)) continue;
        t.branchings.push({ source, mine, theirs });
      }
    }
  }

  /** `a.x = b.y` between two columns of this FROM. */
  private equality(c: Expr): [Source, Source] | undefined {
    if (c.k !== 'op' || !c.eq || c.args.length !== 2) return undefined;
    const [a, b] = c.args.map((x) => this.source(x));
    return a && b && a.target !== b.target ? [a, b] : undefined;
  }

  /** Reducers from equalities: `targets` may be reduced by `sources` (never NULL-extended). */
  private reducers(pairs: [Source, Source][], targets: Set<Target>, sources: Set<Target>): void {
    for (const [a, b] of pairs) {
      for (const [t, s] of [
        [a, b],
        [b, a],
      ]) {
        const base = baseColumn(s);
        if (!base || !targets.has(t.target) || !sources.has(s.target) || s.target.nullable) continue;
        t.target.reducers.push({ column: t.column, source: base.use, sourceColumn: base.column });
      }
    }
  }

  /** The column each side of a USING join has under `name`, when exactly one. */
  private usingSide(f: From, name: string, targetOf: Map<From, Target>): Source | undefined {
    const found: Source[] = [];
    const walk = (x: From): void => {
      if (x.k === 'join') {
        walk(x.left);
        walk(x.right);
        return;
      }
      const t = targetOf.get(x);
      const has =
        t?.kind === 'use' ? !t.renamed && t.table.byLower.has(name) : t?.derived.outputs?.includes(name);
      if (t && has) found.push({ target: t, column: name });
    };
    walk(f);
    return found.length === 1 ? found[0] : undefined;
  }

  /** The columns both sides of a NATURAL join have. */
  private naturalColumns(j: Join, targetOf: Map<From, Target>): string[] {
    const names = (f: From): string[] => {
      if (f.k === 'join') return [...names(f.left), ...names(f.right)];
      const t = targetOf.get(f);
      if (!t) return [];
      return t.kind === 'use' ? [...t.table.byLower.keys()] : (t.derived.outputs ?? []);
    };
    const right = new Set(names(j.right));
    return [...new Set(names(j.left))].filter((n) => right.has(n));
  }

  usingJoin(j: Join, targetOf: Map<From, Target>): void {
    for (const name of j.natural ? this.naturalColumns(j, targetOf) : (j.using ?? [])) {
      const merged = this.scope.using.get(name);
      const left = merged === undefined ? this.usingSide(j.left, name, targetOf) : (merged ?? undefined);
      const right = this.usingSide(j.right, name, targetOf);
      const kept = j.type === 'inner' || j.type === 'left' ? left : undefined;
      this.scope.using.set(name, kept ?? null);
      if (!left || !right) continue;
      this.joinEqualities(j, [[left, right]]);
    }
  }

  private joinEqualities(j: Join, pairs: [Source, Source][]): void {
    const targets = this.placement.on.get(j) ?? new Set();
    this.reducers(pairs, targets, this.placement.onSource.get(j) ?? new Set());
    if (j.type !== 'inner' && j.type !== 'cross') return;
    const open = this.placement.where;
    for (const p of pairs) if (open.has(p[0].target) && open.has(p[1].target)) this.equalities.push(p);
  }

  /**
   * Tells the resolver, for each AND-conjunct as written, the base-table use it went to whole,
   * or none (exact-filters.ts may then leave it out of the coordinator's SQL).
   */
  private recordWhole(conjuncts: Expr[], targets: Set<Target>): void {
    for (const c of conjuncts) {
      if (!isJsonObject(c.raw)) continue;
      const f = this.filter(c);
      const t = f?.target;
      const whole = f && t?.kind === 'use' && targets.has(t) && !t.renamed ? { use: t, tree: f.tree } : null;
      this.resolver.placedConjunct(c.raw, whole);
    }
  }

  on(j: Join): void {
    const written = splitAnd(j.on);
    const conjuncts = this.expand(written);
    const open = this.placement.on.get(j) ?? new Set();
    // An INNER join's ON holds for every row of the FROM whose uses below it are real rows.
    this.place(conjuncts, open, j.type === 'inner');
    this.recordWhole(written, open);
    this.joinEqualities(
      j,
      conjuncts.map((c) => this.equality(c)).filter((p) => p !== undefined),
    );
    if (j.type === 'inner' || j.type === 'cross') this.factsOf(conjuncts);
  }

  /** One-column filters of targets never NULL-extended, for the equality inference. */
  private factsOf(conjuncts: Expr[]): void {
    for (const c of conjuncts) {
      const f = this.filter(c);
      if (!f?.target || !this.placement.where.has(f.target)) continue;
      const cols = columnNames(f.tree);
      if (cols.size === 1)
        this.facts.push({ source: { target: f.target, column: [...cols][0] }, tree: f.tree });
    }
  }

  where(e: Expr | undefined): void {
    const written = splitAnd(e);
    const conjuncts = this.expand(written);
    const open = this.placement.where;
    this.place(conjuncts, open, true);
    this.recordWhole(written, open);
    for (const c of conjuncts) {
      const t = this.filter(c)?.target;
      if (t && !open.has(t)) {
        const name = t.kind === 'use' ? t.binding : t.derived.name;
        this.resolver.note(`a WHERE filter on ${name} stays above the outer join that NULL-extends it`);
      }
    }
    this.factsOf(conjuncts);
    const pairs = conjuncts.map((c) => this.equality(c)).filter((p) => p !== undefined);
    this.reducers(pairs, open, open);
    this.equalities.push(...pairs.filter(([a, b]) => open.has(a.target) && open.has(b.target)));
    for (const c of conjuncts) this.subquery(c);
    if (this.correlated) this.correlate(conjuncts);
  }

  /**
   * `t.c op (SELECT * FROM result)`, result a pushed scalar subquery's (one column, read
   * whole): a WHERE conjunct, t on no null-supplying side. The subquery's value v is its one
   * row's (NULL without one), so a row of t passes only where `c op v` is TRUE: filtering t's
   * rows by it drops only rows the WHERE drops. (More than one row is DuckDB's error, which
   * the executor leaves to the coordinator's SQL.)
   */
  private scalarComparison(c: Expr): void {
    const raw = c.raw;
    if (c.k !== 'op' || c.or || c.args.length !== 2 || !isJsonObject(raw) || raw.class !== 'COMPARISON')
      return;
    const ops = COMPARISONS[String(raw.type)];
    const [left, right] = c.args;
    const flipped = left.k === 'sub';
    const [col, sub] = flipped ? [right, left] : [left, right];
    if (!ops || col.k !== 'col' || sub.k !== 'sub' || sub.kind !== 'SCALAR') return;
    const q = sub.query;
    const plain =
      q.k === 'select' && q.from.k === 'table' && !q.where && q.other.length === 0 && q.ctes.length === 0;
    const info = this.resolver.subqueries.get(q);
    const value =
      plain && info?.outputs?.length === 1 && info.sources[0] ? baseColumn(info.sources[0]) : undefined;
    const t = this.source(col);
    if (!value || !this.resolver.isResult(value.use.table) || !t || t.target.kind !== 'use') return;
    if (t.target.renamed || !this.placement.where.has(t.target)) return;
    t.target.scalars.push({
      column: t.column,
      op: ops[flipped ? 1 : 0],
      result: value.use.table.name,
      resultColumn: value.column,
    });
  }

  /** Reducers from `t.c IN (SELECT s.k …)` and `EXISTS (SELECT … WHERE s.k = t.c)`. */
  private subquery(c: Expr): void {
    this.scalarComparison(c);
    if (c.k !== 'sub') return;
    const info = this.resolver.subqueries.get(c.query);
    if (!info) return;
    const open = this.placement.where;
    if (c.kind === 'ANY' && c.compare === 'COMPARE_EQUAL' && c.args.length === 1) {
      const t = this.source(c.args[0]);
      const base = info.outputs?.length === 1 && info.sources[0] ? baseColumn(info.sources[0]) : undefined;
      if (t && base && open.has(t.target)) {
        const reducer = { column: t.column, source: base.use, sourceColumn: base.column };
        t.target.reducers.push(reducer);
        const node = isJsonObject(c.raw) && isJsonObject(c.raw.subquery) ? c.raw.subquery.node : undefined;
        if (node !== undefined) t.target.reducers.push({ ...reducer, subquery: treeKey(node) });
      }
    }
    if (c.kind === 'EXISTS' && !info.scalarAggregate) {
      for (const { inner, outer } of info.correlations) {
        const base = baseColumn(inner);
        if (base && open.has(outer.target))
          outer.target.reducers.push({ column: outer.column, source: base.use, sourceColumn: base.column });
      }
    }
  }

  /** Equalities of this subquery's WHERE with enclosing queries' columns: reducers of its targets. */
  private correlate(conjuncts: Expr[]): void {
    const open = this.placement.where;
    for (const c of conjuncts) {
      if (c.k !== 'op' || !c.eq || c.args.length !== 2) continue;
      const [a, b] = c.args;
      if (a.k !== 'col' || b.k !== 'col') continue;
      for (const [x, y] of [
        [a, b],
        [b, a],
      ]) {
        const inner = this.resolver.localSource(x.parts, this.scope);
        const outer = this.resolver.outerSource(y.parts, this.scope);
        if (!inner || !outer || !open.has(inner.target)) continue;
        this.correlations.push({ inner, outer });
        const base = baseColumn(outer);
        if (base)
          inner.target.reducers.push({ column: inner.column, source: base.use, sourceColumn: base.column });
      }
    }
  }

  /** The equality inference: copy one-column filters along equalities of one type. */
  finish(): void {
    if (this.equalities.length === 0 || this.facts.length === 0) return;
    const ids = new Map<Target, number>();
    const parent = new Map<string, string>();
    const find = (k: string): string => {
      const p = parent.get(k);
      if (p === undefined || p === k) return k;
      const r = find(p);
      parent.set(k, r);
      return r;
    };
    const members = new Map<string, Source>();
    for (const [a, b] of this.equalities) {
      const ta = sourceType(a);
      if (!ta || FLOATING.test(ta) || ta !== sourceType(b)) continue;
      const ka = sourceKey(a, ids);
      const kb = sourceKey(b, ids);
      members.set(ka, a);
      members.set(kb, b);
      parent.set(find(ka), find(kb));
    }
    const have = new Set<string>();
    for (const t of new Set([...members.values()].map((m) => m.target)))
      for (const f of t.filters) have.add(`${sourceKey({ target: t, column: '' }, ids)}|${treeKey(f)}`);
    for (const fact of this.facts) {
      const key = sourceKey(fact.source, ids);
      if (!members.has(key)) continue;
      for (const [k, m] of members) {
        if (k === key || find(k) !== find(key)) continue;
        const tree = renameColumns(fact.tree, () => columnSpelling(m));
        if (!tree) continue;
        const seen = `${sourceKey({ target: m.target, column: '' }, ids)}|${treeKey(tree)}`;
        if (have.has(seen)) continue;
        have.add(seen);
        m.target.filters.push(tree);
      }
    }
  }
}
