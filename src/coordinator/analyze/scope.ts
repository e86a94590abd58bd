/**
 * Name resolution over the IR: which catalog tables are read (CTE names and aliases shadow
 * them in their scope), the columns each needs, and for every SELECT the WHERE/ON conjuncts
 * that are candidates for pushdown to one of its table uses.
 */
import { QueryError } from '../../errors.js';
import { PURE_TABLE_FUNCTIONS } from './functions.js';
import type { Expr, From, Query } from './ir.js';
import { conjunctUse, place, splitAnd } from './predicates.js';

export interface CatalogTable {
  name: string;
  columns: string[];
  /** lower-case column name → the table's spelling */
  byLower: Map<string, string>;
}

export interface Conjunct {
  expr: Expr;
  /** 'where' or 'on:<join type>' */
  clause: string;
  scope: Scope;
}

export interface Use {
  id: number;
  table: CatalogTable;
  /** the name it is referred to by: its alias, else the table name (lower-case) */
  binding: string;
  scope: Scope;
  /** `labels AS l(a, b, c)`: columns renamed; all fetched, nothing pushed */
  renamed: boolean;
  /** on the null-supplying side of an outer join of its FROM */
  nullable: boolean;
  /** conjuncts that may be pushed to this use's scan */
  conjuncts: Conjunct[];
  /**
   * Equalities `this.column = source.sourceColumn` of this use's SELECT that keep, of this
   * use's rows, only those matching a row of the source use (reductions.ts has the rules).
   */
  reducers: Reducer[];
}

export interface Reducer {
  /** lower-case column of the reduced use */
  column: string;
  source: Use;
  /** lower-case column of the source use */
  sourceColumn: string;
}

interface Binding {
  name: string;
  use?: Use;
  /** lower-case output column names; null when not known */
  outputs: string[] | null;
}

export class Scope {
  readonly bindings: Binding[] = [];
  readonly uses: Use[] = [];
  uncertain = false;
  private cachedKey?: string;

  constructor(readonly parent: Scope | null) {}

  /** The tables and bindings of this SELECT's FROM, to tell scopes apart across two parses. */
  key(): string {
    this.cachedKey ??= this.uses
      .map((u) => `${u.table.name.toLowerCase()}:${u.binding}`)
      .sort()
      .join(',');
    return this.cachedKey;
  }
}

interface CteEnv {
  name: string;
  /** The CTE's output columns; its body is walked on first reference (DuckDB binds no other). */
  outputs: () => string[] | null;
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
  conjuncts: Conjunct[];
  /** per catalog table name */
  needs: Map<string, Need>;
  /** catalog table names in order of first reference */
  tables: string[];
  /** a table function or other non-table source: the query cannot run in one container */
  mixedSources: boolean;
}

function looksLikeFile(name: string): boolean {
  return /[./\\:*?]/.test(name);
}

function applyAliases(outputs: string[] | null, aliases: string[] | undefined): string[] | null {
  if (!aliases || aliases.length === 0) return outputs;
  if (outputs === null) return null;
  return [...aliases, ...outputs.slice(aliases.length)];
}

/** The two column references of a plain `a = b` between bare columns, else undefined. */
function columnEquality(e: Expr): [string[], string[]] | undefined {
  if (e.k !== 'op' || !e.eq || e.args.length !== 2) return undefined;
  const [a, b] = e.args;
  return a.k === 'col' && b.k === 'col' ? [a.parts, b.parts] : undefined;
}

function containsStar(e: Expr): boolean {
  if (e.k === 'star') return true;
  if (e.k === 'sub') return e.args.some(containsStar);
  if ('args' in e) return e.args.some(containsStar);
  return false;
}

export class Resolver {
  private readonly catalog = new Map<string, CatalogTable>();
  private readonly uses: Use[] = [];
  private readonly conjuncts: Conjunct[] = [];
  private readonly needs = new Map<string, Need>();
  private readonly tables: string[] = [];
  private readonly names = new Set<string>();
  private mixedSources = false;

  /** `strict`: throw the user's errors (unknown table/column, forbidden source). */
  constructor(
    catalog: { name: string; columns: string[] }[],
    private readonly strict: boolean,
  ) {
    for (const t of catalog) {
      const byLower = new Map<string, string>();
      for (const c of t.columns) byLower.set(c.toLowerCase(), c);
      this.catalog.set(t.name.toLowerCase(), { name: t.name, columns: t.columns, byLower });
    }
  }

  resolve(q: Query): Resolution {
    this.query(q, { ctes: null, scope: null }, false);
    for (const u of this.uses) {
      const need = this.need(u.table);
      if (this.names.has(u.binding)) need.all = true;
      for (const n of this.names) if (u.table.byLower.has(n)) need.cols.add(n);
    }
    return {
      uses: this.uses,
      conjuncts: this.conjuncts,
      needs: this.needs,
      tables: this.tables,
      mixedSources: this.mixedSources,
    };
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

  private query(q: Query, outer: Env, exists: boolean): string[] | null {
    let env = outer;
    for (const cte of q.ctes) {
      const defined = env;
      let outputs: string[] | null | undefined;
      const lazy = () => {
        if (outputs === undefined) {
          outputs = null; // a reference from inside its own body (not recursive) binds nothing
          outputs = applyAliases(this.query(cte.query, defined, false), cte.columnAliases);
        }
        return outputs;
      };
      env = { ctes: { name: cte.name, outputs: lazy, parent: env.ctes }, scope: env.scope };
    }
    if (q.k === 'setop') {
      const left = this.query(q.left, env, false);
      const rightEnv: Env = q.recursiveName
        ? { ctes: { name: q.recursiveName, outputs: () => left, parent: env.ctes }, scope: env.scope }
        : env;
      const right = this.query(q.right, rightEnv, false);
      const scope = new Scope(env.scope);
      for (const e of q.other) this.expr(e, scope, env);
      if (!q.byName) return left;
      return left === null || right === null ? null : [...new Set([...left, ...right])];
    }

    const scope = new Scope(env.scope);
    const useOf = new Map<From, Use>();
    const joins: Extract<From, { k: 'join' }>[] = [];
    this.from(q.from, scope, env, useOf, joins);
    const placement = place(q.from, (f) => useOf.get(f));
    for (const u of placement.nullable) u.nullable = true;

    const candidates = (expr: Expr | undefined, clause: string, targets: Set<Use>) => {
      for (const c of splitAnd(expr)) {
        const conj: Conjunct = { expr: c, clause, scope };
        this.conjuncts.push(conj);
        if (targets.size === 0) continue;
        const use = conjunctUse(c, (parts) => this.localUse(parts, scope));
        if (use === undefined) continue;
        for (const t of use === null ? targets : [use])
          if (targets.has(t) && !t.renamed) t.conjuncts.push(conj);
      }
    };
    for (const j of joins) {
      candidates(j.on, `on:${j.type}`, placement.on.get(j) ?? new Set());
      if (j.on) this.expr(j.on, scope, env);
    }
    candidates(q.where, 'where', placement.where);
    if (q.where) this.expr(q.where, scope, env);

    // Equalities that reduce one use by another: WHERE between two preserved uses; ON with
    // the reduced use where ON conjuncts may be pushed and the source on a side the ON keeps.
    const reducers = (expr: Expr | undefined, targets: Set<Use>, sources: Set<Use>) => {
      for (const c of splitAnd(expr)) {
        const pair = columnEquality(c);
        if (!pair) continue;
        const [a, b] = pair.map((parts) => ({ parts, use: this.localUse(parts, scope) }));
        if (!a.use || !b.use || a.use === b.use) continue;
        for (const [t, s] of [
          [a, b],
          [b, a],
        ]) {
          if (!t.use || !s.use || !targets.has(t.use) || !sources.has(s.use) || s.use.nullable) continue;
          t.use.reducers.push({
            column: t.parts[t.parts.length - 1],
            source: s.use,
            sourceColumn: s.parts[s.parts.length - 1],
          });
        }
      }
    };
    for (const j of joins)
      reducers(j.on, placement.on.get(j) ?? new Set(), placement.onSource.get(j) ?? new Set());
    reducers(q.where, placement.where, placement.where);

    for (const item of q.select) {
      // `EXISTS (SELECT * FROM t WHERE …)`: the select list does not matter, only the rows.
      if (exists && !q.grouped && item.expr.k === 'star' && !item.expr.orderAll) continue;
      this.expr(item.expr, scope, env);
    }
    for (const e of q.other) this.expr(e, scope, env);

    const outputs: string[] = [];
    for (const item of q.select) {
      if (item.alias) outputs.push(item.alias);
      else if (item.expr.k === 'col') outputs.push(item.expr.parts[item.expr.parts.length - 1]);
      else if (item.expr.k === 'star') {
        const rel = item.expr.relation;
        const bindings = rel ? scope.bindings.filter((b) => b.name === rel) : scope.bindings;
        for (const b of bindings) {
          if (b.outputs === null) return null;
          outputs.push(...b.outputs);
        }
      } else if (containsStar(item.expr)) return null;
      else if (item.expr.k === 'fn' && item.expr.args.length === 0) outputs.push(item.expr.name);
      // Other expressions are named after their SQL text (`lower(x)`, `count_star()`): never a
      // plain identifier, so they cannot capture an unqualified column name. A keyword function
      // (`current_date`) is named after itself.
    }
    return outputs;
  }

  private from(
    f: From,
    scope: Scope,
    env: Env,
    useOf: Map<From, Use>,
    joins: Extract<From, { k: 'join' }>[],
  ): void {
    switch (f.k) {
      case 'table':
        this.table(f, scope, env, useOf);
        return;
      case 'join': {
        this.from(f.left, scope, env, useOf, joins);
        this.from(f.right, scope, env, useOf, joins);
        joins.push(f);
        for (const u of f.using ?? []) this.names.add(u);
        if (f.natural) {
          const mark = (x: From): void => {
            if (x.k === 'join') {
              mark(x.left);
              mark(x.right);
            } else {
              const u = useOf.get(x);
              if (u) this.need(u.table).all = true;
            }
          };
          mark(f);
        }
        return;
      }
      case 'subquery': {
        const outputs = applyAliases(this.query(f.query, { ctes: env.ctes, scope }, false), f.columnAliases);
        this.bind(scope, { name: f.alias ?? '', outputs });
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

  private bind(scope: Scope, b: Binding): void {
    scope.bindings.push(b);
    if (b.outputs === null) scope.uncertain = true;
  }

  private tableList(): string {
    return [...this.catalog.values()].map((t) => t.name).join(', ') || 'none';
  }

  private table(f: Extract<From, { k: 'table' }>, scope: Scope, env: Env, useOf: Map<From, Use>): void {
    if (f.schema === undefined && f.catalog === undefined) {
      for (let c = env.ctes; c; c = c.parent) {
        if (c.name === f.name) {
          this.bind(scope, { name: f.alias ?? f.name, outputs: applyAliases(c.outputs(), f.columnAliases) });
          return;
        }
      }
    }
    const t = this.catalog.get(f.name);
    if (!t || f.catalog !== undefined || (f.schema !== undefined && f.schema !== 'main')) {
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
      id: this.uses.length,
      table: t,
      binding: f.alias ?? f.name,
      scope,
      renamed: !!f.columnAliases && f.columnAliases.length > 0,
      nullable: false,
      conjuncts: [],
      reducers: [],
    };
    this.uses.push(use);
    useOf.set(f, use);
    scope.uses.push(use);
    const need = this.need(t);
    const outputs = t.columns.map((c) => c.toLowerCase());
    if (use.renamed) need.all = true;
    this.bind(scope, { name: use.binding, use, outputs: applyAliases(outputs, f.columnAliases) });
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
      case 'sub':
        for (const a of e.args) this.expr(a, scope, env);
        this.query(e.query, { ctes: env.ctes, scope }, e.exists);
        return;
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
      if (b.use) this.useColumn(b.use, parts[1], parts[0]);
      return;
    }
    if (parts.length >= 3 && parts[0] === 'main') {
      const b2 = this.lookup(parts[1], scope);
      if (b2?.use && b2.use.table.name.toLowerCase() === parts[1]) {
        this.useColumn(b2.use, parts[2], parts[1]);
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
      if (b?.use) this.need(b.use.table).all = true;
      else if (!b) this.names.add(relation);
      return;
    }
    for (const u of scope.uses) this.need(u.table).all = true;
  }

  /** The use of this SELECT's FROM that a column reference certainly denotes, if any. */
  private localUse(parts: string[], scope: Scope): Use | undefined {
    if (parts.length === 1) {
      const n = parts[0];
      if (scope.uncertain) return undefined;
      if (scope.bindings.some((b) => b.name === n)) return undefined;
      const having = scope.bindings.filter((b) => b.outputs?.includes(n));
      if (having.length !== 1) return undefined;
      const use = having[0].use;
      return use && !use.renamed ? use : undefined;
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
    if (found.length !== 1) return undefined;
    const use = found[0].use;
    if (!use || use.renamed || !use.table.byLower.has(col)) return undefined;
    if (parts.length === 3 && use.table.name.toLowerCase() !== binding) return undefined;
    return use;
  }
}
