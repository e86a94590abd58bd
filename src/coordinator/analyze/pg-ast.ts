/**
 * pgsql-ast-parser's AST lowered to the IR, and the printing of pushed predicates.
 *
 * pgsql-ast-parser only ever supplies predicates: its reading is used when it parses the SQL
 * and names the same table references as DuckDB's tree, and each predicate it prints is
 * checked against DuckDB's own parse before it is pushed (index.ts).
 */
import { type Expr as PgExpr, parse, type Statement, toSql } from 'pgsql-ast-parser';
import { isJsonObject, type JsonObject } from '../../json-object.js';
import { AGGREGATES } from './functions.js';
import {
  type Cte,
  type Expr,
  type From,
  type JoinType,
  type Lowered,
  type Query,
  type SelectItem,
  selectStar,
} from './ir.js';

function lc(s: string | undefined | null): string | undefined {
  return s === undefined || s === null || s === '' ? undefined : s.toLowerCase();
}

const SELECT_TYPES = new Set(['select', 'union', 'union all', 'values', 'with', 'with recursive']);

/** Thrown when the AST holds something this lowering does not model: the caller falls back. */
export class PgUnsupported extends Error {}

class PgLowering {
  query(st: JsonObject): Query {
    switch (st.type) {
      case 'select':
        return this.select(st);
      case 'union':
      case 'union all':
        return {
          k: 'setop',
          ctes: [],
          left: this.query(st.left as JsonObject),
          right: this.query(st.right as JsonObject),
          byName: false,
          other: [],
        };
      case 'values': {
        const rows = (st.values as JsonObject[][]).map((row) => row.map((e) => this.expr(e)));
        return selectStar({ k: 'values', rows });
      }
      case 'with': {
        const ctes: Cte[] = [];
        for (const b of st.bind as { alias: { name: string }; statement: JsonObject }[]) {
          if (!SELECT_TYPES.has(String(b.statement.type))) throw new PgUnsupported('data-modifying CTE');
          ctes.push({ name: b.alias.name.toLowerCase(), query: this.query(b.statement) });
        }
        return this.withCtes(ctes, st.in as JsonObject);
      }
      case 'with recursive': {
        const bind = st.bind as JsonObject;
        const name = (st.alias as { name: string }).name.toLowerCase();
        let body = this.query(bind);
        if (body.k === 'setop') body = { ...body, recursiveName: name };
        const columns = (st.columnNames as { name: string }[] | undefined)?.map((c) => c.name.toLowerCase());
        const cte: Cte = {
          name,
          query: body,
          columnAliases: columns && columns.length > 0 ? columns : undefined,
        };
        return this.withCtes([cte], st.in as JsonObject);
      }
      default:
        throw new PgUnsupported(`statement ${String(st.type)}`);
    }
  }

  private withCtes(ctes: Cte[], inner: JsonObject): Query {
    if (!SELECT_TYPES.has(String(inner.type))) throw new PgUnsupported('WITH over a non-query');
    const q = this.query(inner);
    if (q.ctes.length > 0) {
      // A WITH directly inside a WITH: keep the two levels apart.
      return selectStar({ k: 'subquery', query: q, alias: '__with' }, ctes);
    }
    q.ctes = ctes;
    return q;
  }

  private select(st: JsonObject): Query {
    if (st.for || st.skip) throw new PgUnsupported('FOR UPDATE');
    const from = this.fromList((st.from as JsonObject[] | undefined) ?? []);
    const select: SelectItem[] = [];
    for (const c of (st.columns as { expr: JsonObject; alias?: { name: string } }[] | undefined) ?? []) {
      select.push({ expr: this.expr(c.expr), alias: lc(c.alias?.name) });
    }
    const other: Expr[] = [];
    const groupBy = (st.groupBy as JsonObject[] | undefined) ?? [];
    for (const g of groupBy) other.push(this.expr(g));
    if (st.having) other.push(this.expr(st.having as JsonObject));
    for (const o of (st.orderBy as { by: JsonObject }[] | undefined) ?? []) other.push(this.expr(o.by));
    const limit = st.limit as { limit?: JsonObject; offset?: JsonObject } | undefined;
    if (limit?.limit) other.push(this.expr(limit.limit));
    if (limit?.offset) other.push(this.expr(limit.offset));
    if (Array.isArray(st.distinct)) for (const d of st.distinct) other.push(this.expr(d as JsonObject));
    return {
      k: 'select',
      ctes: [],
      from,
      where: st.where ? this.expr(st.where as JsonObject) : undefined,
      select,
      other,
      grouped: groupBy.length > 0 || !!st.having,
    };
  }

  /** pgsql-ast-parser gives FROM as a flat list, each item with its join: fold it left-deep. */
  private fromList(items: JsonObject[]): From {
    if (items.length === 0) return { k: 'empty' };
    let acc: From | undefined;
    for (const item of items) {
      const f = this.fromItem(item);
      const join = item.join as { type: string; on?: JsonObject; using?: { name: string }[] } | undefined;
      if (acc === undefined) {
        if (join) throw new PgUnsupported('join without a left side');
        acc = f;
        continue;
      }
      if (!join) {
        acc = { k: 'join', type: 'cross', left: acc, right: f };
        continue;
      }
      const types: Record<string, JoinType> = {
        'INNER JOIN': 'inner',
        'LEFT JOIN': 'left',
        'RIGHT JOIN': 'right',
        'FULL JOIN': 'full',
        'CROSS JOIN': 'cross',
      };
      const type = types[join.type];
      if (!type) throw new PgUnsupported(`join ${join.type}`);
      acc = {
        k: 'join',
        type,
        left: acc,
        right: f,
        on: join.on ? this.expr(join.on) : undefined,
        using: join.using?.map((u) => u.name.toLowerCase()),
      };
    }
    return acc as From;
  }

  private fromItem(item: JsonObject): From {
    switch (item.type) {
      case 'table': {
        const name = item.name as {
          name: string;
          schema?: string;
          alias?: string;
          columnNames?: { name: string }[];
        };
        return {
          k: 'table',
          name: name.name.toLowerCase(),
          schema: lc(name.schema),
          alias: lc(name.alias),
          columnAliases: name.columnNames?.map((c) => c.name.toLowerCase()),
        };
      }
      case 'statement':
        return {
          k: 'subquery',
          query: this.query(item.statement as JsonObject),
          alias: lc(item.alias as string),
          columnAliases: (item.columnNames as { name: string }[] | undefined)?.map((c) =>
            c.name.toLowerCase(),
          ),
        };
      case 'call': {
        const fn = item.function as { name: string };
        const alias = item.alias as { name: string; columns?: { name: string }[] } | undefined;
        return {
          k: 'func',
          name: fn.name.toLowerCase(),
          args: ((item.args as JsonObject[]) ?? []).map((a) => this.expr(a)),
          alias: lc(alias?.name),
          columnAliases: alias?.columns?.map((c) => c.name.toLowerCase()),
        };
      }
      default:
        throw new PgUnsupported(`FROM item ${String(item.type)}`);
    }
  }

  expr(e: JsonObject): Expr {
    const raw = e;
    if (SELECT_TYPES.has(String(e.type))) {
      return { k: 'sub', query: this.query(e), exists: false, args: [], raw };
    }
    const all = (xs: (JsonObject | null | undefined)[]): Expr[] =>
      xs.filter(isJsonObject).map((x) => this.expr(x));
    switch (e.type) {
      case 'ref': {
        const table = e.table as { name: string; schema?: string } | undefined;
        const name = String(e.name);
        if (name === '*') return { k: 'star', relation: lc(table?.name), raw };
        const parts = [table?.schema, table?.name, name]
          .filter((p): p is string => !!p)
          .map((p) => p.toLowerCase());
        return { k: 'col', parts, raw };
      }
      case 'parameter':
        return { k: 'param', raw };
      case 'list':
      case 'array':
        return { k: 'op', args: all(e.expressions as JsonObject[]), raw };
      case 'array select':
        return { k: 'sub', query: this.query(e.select as JsonObject), exists: false, args: [], raw };
      case 'null':
      case 'integer':
      case 'numeric':
      case 'string':
      case 'boolean':
      case 'constant':
      case 'default':
        return { k: 'op', args: [], raw };
      case 'keyword':
        return { k: 'fn', name: String(e.keyword), args: [], agg: false, window: false, raw };
      case 'extract':
        return { k: 'op', args: all([e.from as JsonObject]), raw };
      case 'member':
        return { k: 'op', args: all([e.operand as JsonObject]), raw };
      case 'arrayIndex':
        return { k: 'op', args: all([e.array as JsonObject, e.index as JsonObject]), raw };
      case 'case': {
        const whens = (e.whens as { when: JsonObject; value: JsonObject }[]).flatMap((w) => [
          w.when,
          w.value,
        ]);
        return { k: 'op', args: all([e.value as JsonObject, ...whens, e.else as JsonObject]), raw };
      }
      case 'binary': {
        if (e.op === 'AND') {
          return { k: 'and', args: all([e.left as JsonObject, e.right as JsonObject]), raw };
        }
        const right = e.right as JsonObject;
        if ((e.op === 'IN' || e.op === 'NOT IN') && SELECT_TYPES.has(String(right.type))) {
          return {
            k: 'sub',
            query: this.query(right),
            exists: false,
            args: all([e.left as JsonObject]),
            raw,
          };
        }
        const args = all([e.left as JsonObject, right]);
        return e.op === '=' && args.length === 2 ? { k: 'op', args, eq: true, raw } : { k: 'op', args, raw };
      }
      case 'unary':
        return { k: 'op', args: all([e.operand as JsonObject]), raw };
      case 'ternary':
        return { k: 'op', args: all([e.value as JsonObject, e.lo as JsonObject, e.hi as JsonObject]), raw };
      case 'cast':
        return { k: 'op', args: all([e.operand as JsonObject]), raw };
      case 'overlay':
        return {
          k: 'op',
          args: all([
            e.value as JsonObject,
            e.placing as JsonObject,
            e.from as JsonObject,
            e.for as JsonObject,
          ]),
          raw,
        };
      case 'substring':
        return {
          k: 'op',
          args: all([e.value as JsonObject, e.from as JsonObject, e.for as JsonObject]),
          raw,
        };
      case 'call':
        return this.call(e);
      default:
        return { k: 'opaque', args: [], raw };
    }
  }

  private call(e: JsonObject): Expr {
    const fn = e.function as { name: string; schema?: string };
    const name = fn.name.toLowerCase();
    const args = (e.args as JsonObject[]) ?? [];
    if (args.length === 1 && SELECT_TYPES.has(String(args[0].type))) {
      if (name === 'exists') return { k: 'sub', query: this.query(args[0]), exists: true, args: [], raw: e };
      if (name === 'any' || name === 'all' || name === 'some') {
        return { k: 'sub', query: this.query(args[0]), exists: false, args: [], raw: e };
      }
    }
    const isCountStar =
      name === 'count' &&
      args.length === 1 &&
      args[0].type === 'ref' &&
      args[0].name === '*' &&
      !args[0].table;
    const lowered = isCountStar ? [] : args.map((a) => this.expr(a));
    const orderBy = (e.orderBy as { by: JsonObject }[] | undefined) ?? [];
    for (const o of orderBy) lowered.push(this.expr(o.by));
    if (e.filter) lowered.push(this.expr(e.filter as JsonObject));
    const within = e.withinGroup as { by: JsonObject } | undefined;
    if (within) lowered.push(this.expr(within.by));
    const over = e.over as { partitionBy?: JsonObject[]; orderBy?: { by: JsonObject }[] } | undefined;
    if (over) {
      for (const p of over.partitionBy ?? []) lowered.push(this.expr(p));
      for (const o of over.orderBy ?? []) lowered.push(this.expr(o.by));
    }
    const agg = !!e.distinct || orderBy.length > 0 || !!e.filter || !!within || AGGREGATES.has(name);
    return { k: 'fn', name, args: lowered, agg: agg || !!over, window: !!over, raw: e };
  }
}

/**
 * pgsql-ast-parser parses synchronously, on the event loop, and slows down on long input (an
 * IN list of 5000 numbers takes over a second): longer SQL gets projections only.
 */
export const PG_PARSE_MAX_CHARS = 8000;

/** Parse with pgsql-ast-parser and lower; undefined when it cannot read the SQL as one query. */
export function lowerPg(sql: string): Lowered | undefined {
  if (sql.length > PG_PARSE_MAX_CHARS) return undefined;
  let statements: Statement[];
  try {
    statements = parse(sql);
  } catch {
    return undefined;
  }
  if (statements.length !== 1) return undefined;
  const st = statements[0] as unknown as JsonObject;
  if (!SELECT_TYPES.has(String(st.type))) return undefined;
  try {
    return { query: new PgLowering().query(st), exotic: [] };
  } catch {
    // PgUnsupported, or an AST shape this lowering does not expect: DuckDB's tree still serves.
    return undefined;
  }
}

/** The SQL of a pgsql-ast-parser expression, as pgsql-ast-parser prints it. */
export function printPg(raw: unknown): string {
  return toSql.expr(raw as PgExpr);
}

/**
 * The SQL of a pushable conjunct with its column qualifiers removed and each column spelled
 * as the table has it (`"L"."Name"` → `"Name"`). `columnName` maps a reference's last name.
 */
export function printPgUnqualified(raw: unknown, columnName: (name: string) => string): string {
  const strip = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(strip);
    if (!isJsonObject(x)) return x;
    if (x.type === 'ref' && typeof x.name === 'string' && x.name !== '*') {
      return { type: 'ref', name: columnName(x.name) };
    }
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(x)) out[k] = strip(v);
    return out;
  };
  return toSql.expr(strip(raw) as PgExpr);
}
