/**
 * Name resolution over the IR: which catalog tables are read (CTE names and aliases shadow
 * them in their scope), the columns each needs, and for every table reference the filters
 * (pushdown.ts decides which) and semi-join reducers that may go to its scan.
 *
 * A FROM item is a target when filters may be pushed to it: a base-table use, or a reference
 * of a derived table or CTE (whose filters are pushed on into its body at the end, derived.ts).
 */
import { QueryError } from '../../../errors.js';
import type { JsonObject } from '../../../json-object.js';
import { type Computable, computableIn } from './computed-columns.js';
import { type Body, type Derived, type DerivedRef, sourceType } from './derived.js';
import { inputRowUse, type RowUse, subqueryRowUse } from './existential.js';
import { PURE_TABLE_FUNCTIONS } from './functions.js';
import type { Expr, From, Query } from './ir.js';
import type { ScalarFilter } from './plan.js';
import { place } from './predicates.js';
import { SelectPushdown } from './pushdown.js';
import type { Tree } from './trees.js';

export interface CatalogTable {
  name: string;
  columns: string[];
  /** lower-case column name → the table's spelling */
  byLower: Map<string, string>;
  /** lower-case column name → its DuckDB type, where known */
  types: Map<string, string>;
}

export interface Use {
  kind: 'use';
  id: number;
  table: CatalogTable;
  /** the name it is referred to by: its alias, else the table name (lower-case) */
  binding: string;
  scope: Scope;
  /** `labels AS l(a, b, c)`: columns renamed; all fetched, nothing pushed */
  renamed: boolean;
  /** on the null-supplying side of an outer join of its FROM */
  nullable: boolean;
  /** its node in the parse tree, where a scan of its own renames it (reference-scans.ts) */
  node?: JsonObject;
  /** named `main.t.column` somewhere: it must keep the table's name */
  schemaQualified: boolean;
  /** read only for which distinct rows it holds, under EXISTS / IN (existential.ts) */
  existential: boolean;
  /** filters over the table's columns (catalog spelling) that may be pushed to this use's scan */
  filters: Tree[];
  /**
   * Equalities `this.column = source.sourceColumn` that keep, of this use's rows, only those
   * matching a row of the source use (reductions.ts has the rules).
   */
  reducers: Reducer[];
  /**
   * `column op (SELECT * FROM result)` conjuncts of its WHERE, result a pushed subquery's (one
   * column): once that value is in hand, `column op value` filters the use's rows. Columns
   * lower-case.
   */
  scalars: ScalarFilter[];
  /**
   * ORs of this use's WHERE whose branches say something of this use and of `source`, another
   * use of the same FROM, never NULL-extended (branch-codes.ts): per branch, the filters over
   * each one's columns it holds (none: nothing of that one).
   */
  branchings: Branching[];
}

export interface Branching {
  source: Use;
  mine: Tree[][];
  theirs: Tree[][];
}

export type Target = Use | DerivedRef;

/** A conjunct of a WHERE or ON as written, pushed whole to one base-table use (its tree). */
export interface WholeConjunct {
  use: Use;
  tree: Tree;
}

/** A column of a target: a catalog column of a use (lower-case), or an output of a derived table. */
export interface Source {
  target: Target;
  column: string;
}

export interface Reducer {
  /** lower-case column of the reduced target */
  column: string;
  source: Use;
  /** lower-case column of the source use */
  sourceColumn: string;
  /**
   * Set where the keys are those of an uncorrelated `column IN (SELECT sourceColumn …)`: the
   * subquery's SELECT node (its treeKey). Its result is then a narrower source than the whole
   * table, once the subquery runs alone (subquery-pushdown.ts).
   */
  subquery?: string;
}

interface Binding {
  name: string;
  target?: Target;
  /** lower-case output column names; null when not known */
  outputs: string[] | null;
}

export class Scope {
  readonly bindings: Binding[] = [];
  readonly uses: Use[] = [];
  /** `USING (k)` columns of this FROM: the column an unqualified `k` denotes, or null when none */
  readonly using = new Map<string, Source | null>();
  uncertain = false;
  /** its FROM's rows matter only by which distinct ones there are (existential.ts) */
  existential = false;

  constructor(readonly parent: Scope | null) {}
}

/** What a query gives its reader: its output columns and where each comes from. */
export interface QueryInfo {
  outputs: string[] | null;
  /** parallel to outputs: a bare column of a target of the query's own FROM, else undefined */
  sources: (Source | undefined)[];
  /** why a filter on the output may not go into the FROM (empty: it may) */
  barriers: string[];
  /** the targets of its FROM a WHERE filter may go to */
  open: Set<Target>;
  /** an aggregate without GROUP BY: one row even when no row passes the WHERE */
  scalarAggregate: boolean;
  /** WHERE equalities between a column of its own FROM and one of an enclosing query */
  correlations: { inner: Source; outer: Source }[];
  /** a UNION ALL: the infos of its SELECTs, in order */
  branches?: QueryInfo[];
}

interface CteEnv {
  name: string;
  /** The CTE's info; its body is walked on first reference (DuckDB binds no other). */
  derived: () => Derived | null;
  parent: CteEnv | null;
}

interface Env {
  ctes: CteEnv | null;
  scope: Scope | null;
}

export interface Need {
  all: boolean;
  cols: Set<string>;
}

export interface Resolution {
  uses: Use[];
  /** per catalog table name */
  needs: Map<string, Need>;
  /** catalog table names in order of first reference */
  tables: string[];
  /** a table function or other non-table source: the query cannot run in one container */
  mixedSources: boolean;
  /** derived tables and CTEs, in the order their bodies were walked */
  derived: Derived[];
  /** why some filters stayed in the coordinator */
  notes: string[];
  /**
   * Each AND-conjunct node of a WHERE or ON walked, with where it went each time its clause
   * was walked: pushed whole to one use, or not (null).
   */
  conjuncts: Map<JsonObject, (WholeConjunct | null)[]>;
  /** expressions of one use each that its scan could compute (computed-columns.ts) */
  computable: Computable[];
}

function looksLikeFile(name: string): boolean {
  return /[./\\:*?]/.test(name);
}

function applyAliases(outputs: string[] | null, aliases: string[] | undefined): string[] | null {
  if (!aliases || aliases.length === 0) return outputs;
  if (outputs === null) return null;
  return [...aliases, ...outputs.slice(aliases.length)];
}

function containsStar(e: Expr): boolean {
  if (e.k === 'star') return true;
  if (e.k === 'sub') return e.args.some(containsStar);
  if ('args' in e) return e.args.some(containsStar);
  return false;
}

export class Resolver {
  private readonly catalog = new Map<string, CatalogTable>();
  /** TEMP tables the SQL reads as `temp.main.<name>`: pushed subqueries' results */
  private readonly results = new Map<string, CatalogTable>();
  private readonly uses: Use[] = [];
  private readonly needs = new Map<string, Need>();
  private readonly tables: string[] = [];
  private readonly names = new Set<string>();
  private readonly derived: Derived[] = [];
  readonly notes: string[] = [];
  private mixedSources = false;
  /** the info of each subquery expression walked */
  readonly subqueries = new Map<Query, QueryInfo>();
  private readonly conjuncts = new Map<JsonObject, (WholeConjunct | null)[]>();
  private readonly computable: Computable[] = [];

  /**
   * `strict`: throw the user's errors (unknown table/column, forbidden source). `results`:
   * TEMP tables the SQL may read as `temp.main.<name>` (pushed subqueries' results).
   */
  constructor(
    catalog: { name: string; columns: string[]; types?: string[] }[],
    private readonly strict: boolean,
    results: { name: string; columns: string[]; types?: string[] }[] = [],
  ) {
    for (const [into, tables] of [
      [this.catalog, catalog],
      [this.results, results],
    ] as const)
      for (const t of tables) into.set(t.name.toLowerCase(), Resolver.catalogTable(t));
  }

  private static catalogTable(t: { name: string; columns: string[]; types?: string[] }): CatalogTable {
    const byLower = new Map<string, string>();
    const types = new Map<string, string>();
    t.columns.forEach((c, i) => {
      byLower.set(c.toLowerCase(), c);
      const type = t.types?.[i];
      if (type !== undefined && t.types?.length === t.columns.length) types.set(c.toLowerCase(), type);
    });
    return { name: t.name, columns: t.columns, byLower, types };
  }

  resolve(q: Query): Resolution {
    this.query(q, { ctes: null, scope: null }, 'bag');
    for (const u of this.uses) {
      const need = this.need(u.table);
      if (this.names.has(u.binding)) need.all = true;
      for (const n of this.names) if (u.table.byLower.has(n)) need.cols.add(n);
    }
    return {
      uses: this.uses,
      needs: this.needs,
      tables: this.tables,
      mixedSources: this.mixedSources,
      derived: this.derived,
      notes: this.notes,
      conjuncts: this.conjuncts,
      computable: this.computable,
    };
  }

  /** Whether `t` is a pushed subquery's result (a TEMP table the SQL reads), not a catalog table. */
  isResult(t: CatalogTable): boolean {
    return this.results.get(t.name.toLowerCase()) === t;
  }

  placedConjunct(node: JsonObject, whole: WholeConjunct | null): void {
    this.conjuncts.set(node, [...(this.conjuncts.get(node) ?? []), whole]);
  }

  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  private need(t: CatalogTable): Need {
    let n = this.needs.get(t.name);
    if (!n) {
      n = { all: false, cols: new Set() };
      this.needs.set(t.name, n);
      this.tables.push(t.name);
    }
    return n;
  }

  private newDerived(name: string, info: QueryInfo, aliases: string[] | undefined): Derived {
    const outputs = applyAliases(info.outputs, aliases);
    const bodies = (info.branches ?? [info]).map((b): Body => {
      const columns = new Map<string, Source>();
      if (outputs !== null && b.outputs?.length === outputs.length) {
        outputs.forEach((o, i) => {
          const s = b.sources[i];
          // A name given twice is ambiguous outside: never mapped.
          if (s && outputs.indexOf(o) === outputs.lastIndexOf(o)) columns.set(o, s);
        });
      }
      return { columns, barriers: b.barriers, open: b.open };
    });
    // A UNION ALL's output has the type its branches' columns are cast to: a filter goes into
    // the branches only where they all have that one type already.
    if (bodies.length > 1) {
      for (const o of outputs ?? []) {
        const types = bodies.map((b) => {
          const s = b.columns.get(o);
          return s && sourceType(s);
        });
        if (types.some((t) => t === undefined || t !== types[0])) for (const b of bodies) b.columns.delete(o);
      }
    }
    const d: Derived = { name, outputs, bodies, refs: [] };
    this.derived.push(d);
    return d;
  }

  /** `use`: how the query's reader takes its rows (existential.ts). */
  query(q: Query, outer: Env, use: RowUse, correlated = false): QueryInfo {
    let env = outer;
    for (const cte of q.ctes) {
      const defined = env;
      let derived: Derived | null | undefined;
      const lazy = () => {
        if (derived === undefined) {
          derived = null; // a reference from inside its own body (not recursive) binds nothing
          // Walked once for all its references, whatever each reads of it.
          const info = this.query(cte.query, defined, 'bag');
          derived = this.newDerived(cte.name, info, cte.columnAliases);
        }
        return derived;
      };
      env = { ctes: { name: cte.name, derived: lazy, parent: env.ctes }, scope: env.scope };
    }
    if (q.k === 'setop') {
      const branches = inputRowUse(q, use);
      const left = this.query(q.left, env, branches);
      const recursive: Derived = {
        name: q.recursiveName ?? '',
        outputs: left.outputs,
        bodies: [{ columns: new Map(), barriers: ['recursion'], open: new Set() }],
        refs: [],
      };
      const rightEnv: Env = q.recursiveName
        ? { ctes: { name: q.recursiveName, derived: () => recursive, parent: env.ctes }, scope: env.scope }
        : env;
      const right = this.query(q.right, rightEnv, branches);
      const scope = new Scope(env.scope);
      for (const e of q.other) this.expr(e, scope, env);
      let outputs = left.outputs;
      if (q.byName)
        outputs = left.outputs && right.outputs && [...new Set([...left.outputs, ...right.outputs])];
      const barriers = q.recursiveName ? ['recursion'] : (q.barriers ?? ['set operation']);
      return {
        outputs,
        sources: [],
        barriers: ['set operation'],
        open: new Set(),
        scalarAggregate: false,
        correlations: [],
        ...(barriers.length === 0 && {
          branches: [...(left.branches ?? [left]), ...(right.branches ?? [right])],
        }),
      };
    }

    const scope = new Scope(env.scope);
    scope.existential = inputRowUse(q, use) === 'set';
    const targetOf = new Map<From, Target>();
    const joins: Extract<From, { k: 'join' }>[] = [];
    this.from(q.from, scope, env, targetOf, joins);
    const placement = place(q.from, (f) => targetOf.get(f));
    for (const t of placement.nullable) t.nullable = true;

    const pushdown = new SelectPushdown(this, scope, placement, correlated);
    for (const j of joins) {
      pushdown.usingJoin(j, targetOf);
      pushdown.on(j);
      if (j.on) this.expr(j.on, scope, env);
    }
    // Subqueries are walked before the WHERE's filters are placed: IN / EXISTS use their info.
    if (q.where) this.expr(q.where, scope, env);
    pushdown.where(q.where);
    pushdown.finish();

    for (const item of q.select) {
      // `EXISTS (SELECT * FROM t WHERE …)`: the select list does not matter, only the rows.
      if (use === 'exists' && !q.grouped && item.expr.k === 'star' && !item.expr.orderAll) continue;
      this.expr(item.expr, scope, env);
    }
    for (const e of q.other) this.expr(e, scope, env);
    this.computable.push(
      ...computableIn(
        q,
        (parts) => this.localSource(parts, scope),
        (t) => this.isResult(t),
      ),
    );

    const outputs: string[] = [];
    const sources: (Source | undefined)[] = [];
    const info = (o: string[] | null): QueryInfo => ({
      outputs: o,
      sources,
      barriers: q.barriers ?? [],
      open: placement.where,
      scalarAggregate: !q.groupBy && (q.barriers ?? []).some((b) => b === 'aggregate' || b === 'GROUP BY'),
      correlations: pushdown.correlations,
    });
    for (const item of q.select) {
      if (item.expr.k === 'col') {
        outputs.push(item.alias ?? item.expr.parts[item.expr.parts.length - 1]);
        sources.push(this.localSource(item.expr.parts, scope));
      } else if (item.alias) {
        outputs.push(item.alias);
        sources.push(undefined);
      } else if (item.expr.k === 'star') {
        const rel = item.expr.relation;
        const bindings = rel ? scope.bindings.filter((b) => b.name === rel) : scope.bindings;
        for (const b of bindings) {
          if (b.outputs === null) return info(null);
          for (const o of b.outputs) {
            outputs.push(o);
            sources.push(b.target && this.sourceOf(b.target, o));
          }
        }
        // `*` of a USING join shows the USING column once: the positions no longer line up.
        if (!rel && scope.using.size > 0) sources.fill(undefined);
      } else if (containsStar(item.expr)) return info(null);
      else if (item.expr.k === 'fn' && item.expr.args.length === 0) {
        outputs.push(item.expr.name);
        sources.push(undefined);
      }
      // Other expressions are named after their SQL text (`lower(x)`, `count_star()`): never a
      // plain identifier, so they cannot capture an unqualified column name. A keyword function
      // (`current_date`) is named after itself.
    }
    return info(outputs);
  }

  private sourceOf(target: Target, column: string): Source | undefined {
    if (target.kind === 'use') return target.renamed ? undefined : { target, column };
    return target.derived.outputs?.includes(column) ? { target, column } : undefined;
  }

  private from(
    f: From,
    scope: Scope,
    env: Env,
    targetOf: Map<From, Target>,
    joins: Extract<From, { k: 'join' }>[],
  ): void {
    switch (f.k) {
      case 'table':
        this.table(f, scope, env, targetOf);
        return;
      case 'join': {
        this.from(f.left, scope, env, targetOf, joins);
        this.from(f.right, scope, env, targetOf, joins);
        joins.push(f);
        for (const u of f.using ?? []) this.names.add(u);
        if (f.natural) {
          const mark = (x: From): void => {
            if (x.k === 'join') {
              mark(x.left);
              mark(x.right);
            } else {
              const t = targetOf.get(x);
              if (t?.kind === 'use') this.need(t.table).all = true;
            }
          };
          mark(f);
        }
        return;
      }
      case 'subquery': {
        const info = this.query(f.query, { ctes: env.ctes, scope }, scope.existential ? 'set' : 'bag');
        const d = this.newDerived(f.alias ?? '(subquery)', info, f.columnAliases);
        this.bindDerived(scope, f.alias ?? '', d, targetOf, f);
        return;
      }
      case 'values': {
        for (const row of f.rows) for (const e of row) this.expr(e, scope, env);
        const width = f.rows[0]?.length ?? 0;
        const outputs = Array.from({ length: width }, (_, i) => `col${i}`);
        this.bind(scope, { name: f.alias ?? '', outputs: applyAliases(outputs, f.columnAliases) });
        return;
      }
      case 'func': {
        if (!PURE_TABLE_FUNCTIONS.has(f.name) && this.strict) {
          throw new QueryError(
            'forbidden',
            `Table function ${f.name}() is not allowed: queries may read only the served tables ` +
              `(${this.tableList()})`,
          );
        }
        this.mixedSources = true;
        for (const e of f.args) this.expr(e, scope, env);
        this.bind(scope, { name: f.alias ?? f.name, outputs: null });
        return;
      }
      case 'opaque':
        for (const e of f.exprs) this.expr(e, scope, env);
        this.bind(scope, { name: f.alias ?? '', outputs: null });
        return;
      case 'empty':
        return;
    }
  }

  private bindDerived(scope: Scope, name: string, d: Derived, targetOf: Map<From, Target>, f: From): void {
    const ref: DerivedRef = { kind: 'ref', derived: d, filters: [], reducers: [], nullable: false };
    d.refs.push(ref);
    targetOf.set(f, ref);
    this.bind(scope, { name, target: ref, outputs: d.outputs });
  }

  private bind(scope: Scope, b: Binding): void {
    scope.bindings.push(b);
    if (b.outputs === null) scope.uncertain = true;
  }

  private tableList(): string {
    return [...this.catalog.values()].map((t) => t.name).join(', ') || 'none';
  }

  private table(f: Extract<From, { k: 'table' }>, scope: Scope, env: Env, targetOf: Map<From, Target>): void {
    if (f.schema === undefined && f.catalog === undefined) {
      for (let c = env.ctes; c; c = c.parent) {
        if (c.name === f.name) {
          const d = c.derived();
          const name = f.alias ?? f.name;
          // Columns renamed at the reference: its filters are not mapped into the body.
          if (d === null || (f.columnAliases?.length ?? 0) > 0)
            this.bind(scope, { name, outputs: applyAliases(d?.outputs ?? null, f.columnAliases) });
          else this.bindDerived(scope, name, d, targetOf, f);
          return;
        }
      }
    }
    const result = f.catalog === 'temp' && f.schema === 'main' ? this.results.get(f.name) : undefined;
    const t = result ?? this.catalog.get(f.name);
    if (!t || (!result && (f.catalog !== undefined || (f.schema !== undefined && f.schema !== 'main')))) {
      const shown = [f.catalog, f.schema, f.name].filter(Boolean).join('.');
      if (!t && looksLikeFile(f.name)) {
        throw new QueryError(
          'forbidden',
          `Reading files is not allowed ('${f.name}'): queries may read only the served tables (${this.tableList()})`,
        );
      }
      throw new QueryError('unknown_table', `Table "${shown}" does not exist. Tables: ${this.tableList()}`);
    }
    const use: Use = {
      kind: 'use',
      id: this.uses.length,
      table: t,
      binding: f.alias ?? f.name,
      scope,
      renamed: !!f.columnAliases && f.columnAliases.length > 0,
      nullable: false,
      ...(f.node && { node: f.node }),
      schemaQualified: false,
      existential: scope.existential,
      filters: [],
      reducers: [],
      scalars: [],
      branchings: [],
    };
    this.uses.push(use);
    targetOf.set(f, use);
    scope.uses.push(use);
    const need = this.need(t);
    const outputs = t.columns.map((c) => c.toLowerCase());
    if (use.renamed) need.all = true;
    this.bind(scope, { name: use.binding, target: use, outputs: applyAliases(outputs, f.columnAliases) });
  }

  private lookup(name: string, scope: Scope | null): Binding | undefined {
    for (let s = scope; s; s = s.parent) {
      const b = s.bindings.find((x) => x.name === name);
      if (b) return b;
    }
    return undefined;
  }

  private expr(e: Expr, scope: Scope, env: Env): void {
    switch (e.k) {
      case 'col':
        this.column(e.parts, scope);
        return;
      case 'star':
        if (!e.orderAll) this.star(e.relation, scope);
        return;
      case 'sub': {
        for (const a of e.args) this.expr(a, scope, env);
        const info = this.query(e.query, { ctes: env.ctes, scope }, subqueryRowUse(e), true);
        this.subqueries.set(e.query, info);
        return;
      }
      case 'param':
        return;
      default:
        for (const a of e.args) this.expr(a, scope, env);
    }
  }

  private column(parts: string[], scope: Scope): void {
    if (parts.length === 0) return;
    if (parts.length === 1) {
      this.names.add(parts[0]);
      return;
    }
    const b = this.lookup(parts[0], scope);
    if (b) {
      if (b.target?.kind === 'use') this.useColumn(b.target, parts[1], parts[0]);
      return;
    }
    if (parts.length >= 3 && parts[0] === 'main') {
      const b2 = this.lookup(parts[1], scope);
      if (b2?.target?.kind === 'use' && b2.target.table.name.toLowerCase() === parts[1]) {
        b2.target.schemaQualified = true;
        this.useColumn(b2.target, parts[2], parts[1]);
        return;
      }
    }
    // `struct_column.field`, or a reference DuckDB will reject: count it as a column name.
    this.names.add(parts[0]);
  }

  private useColumn(use: Use, col: string, qualifier: string): void {
    const need = this.need(use.table);
    if (use.renamed) return;
    if (use.table.byLower.has(col)) {
      need.cols.add(col);
      return;
    }
    const isColumnSomewhere = [...this.catalog.values()].some((t) => t.byLower.has(qualifier));
    if (isColumnSomewhere) {
      this.names.add(qualifier);
      return;
    }
    if (this.strict) {
      throw new QueryError(
        'unknown_column',
        `Column "${col}" not found in table "${use.table.name}"` +
          (use.binding !== use.table.name.toLowerCase() ? ` (as "${use.binding}")` : '') +
          `. Its columns: ${use.table.columns.join(', ')}`,
      );
    }
  }

  private star(relation: string | undefined, scope: Scope): void {
    if (relation) {
      const b = this.lookup(relation, scope);
      if (b?.target?.kind === 'use') this.need(b.target.table).all = true;
      else if (!b) this.names.add(relation);
      return;
    }
    for (const u of scope.uses) this.need(u.table).all = true;
  }

  /** The column of a target of this SELECT's FROM that a column reference certainly denotes. */
  localSource(parts: string[], scope: Scope): Source | undefined {
    if (parts.length === 1) {
      const n = parts[0];
      if (scope.using.has(n)) return scope.using.get(n) ?? undefined;
      if (scope.uncertain) return undefined;
      if (scope.bindings.some((b) => b.name === n)) return undefined;
      const having = scope.bindings.filter((b) => b.outputs?.includes(n));
      if (having.length !== 1 || !having[0].target) return undefined;
      return this.sourceOf(having[0].target, n);
    }
    let binding: string;
    let col: string;
    if (parts.length === 2) {
      [binding, col] = parts;
    } else if (parts.length === 3 && parts[0] === 'main') {
      [, binding, col] = parts;
    } else {
      return undefined;
    }
    const found = scope.bindings.filter((b) => b.name === binding);
    if (found.length !== 1 || !found[0].target || !found[0].outputs?.includes(col)) return undefined;
    const target = found[0].target;
    if (parts.length === 3 && (target.kind !== 'use' || target.table.name.toLowerCase() !== binding))
      return undefined;
    return this.sourceOf(target, col);
  }

  /** The column of an enclosing query's FROM that a qualified reference denotes (correlation). */
  outerSource(parts: string[], scope: Scope): Source | undefined {
    if (parts.length === 1) {
      // Unqualified: DuckDB binds it in the nearest query whose FROM has it.
      const n = parts[0];
      if (scope.uncertain || scope.using.has(n) || scope.bindings.some((b) => b.outputs?.includes(n)))
        return undefined;
      for (let s = scope.parent; s; s = s.parent) {
        if (s.uncertain || s.using.has(n)) return undefined;
        const having = s.bindings.filter((b) => b.outputs?.includes(n));
        if (having.length === 0) continue;
        return having.length === 1 && having[0].target ? this.sourceOf(having[0].target, n) : undefined;
      }
      return undefined;
    }
    if (parts.length !== 2 || scope.bindings.some((b) => b.name === parts[0])) return undefined;
    for (let s = scope.parent; s; s = s.parent) {
      const found = s.bindings.filter((b) => b.name === parts[0]);
      if (found.length === 0) continue;
      if (found.length !== 1 || !found[0].target || !found[0].outputs?.includes(parts[1])) return undefined;
      return this.sourceOf(found[0].target, parts[1]);
    }
    return undefined;
  }
}
