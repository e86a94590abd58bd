/**
 * A small query IR that DuckDB's parse tree (`json_serialize_sql`) is lowered to, so that
 * scoping, column needs and pushdown are worked out on a few node kinds (scope.ts).
 *
 * Identifiers are lower-cased (DuckDB resolves names case-insensitively). `raw` keeps the
 * DuckDB node the IR node came from: pushed filters are that node, rewritten and printed by
 * DuckDB itself (`json_deserialize_sql`).
 */

import type { JsonObject } from '../../../json-object.js';

export type Expr =
  /** A column reference, possibly qualified: `name`, `t.name`, `main.t.name`, `t.struct_col.field`. */
  | { k: 'col'; parts: string[]; raw?: unknown }
  /**
   * `*`, `t.*`, `COLUMNS(...)`, `* EXCLUDE/REPLACE`, `#1`…: every column of the relation (or
   * of every table of the FROM). `orderAll`: DuckDB's `ORDER BY ALL`, which only names
   * columns of the select list.
   */
  | { k: 'star'; relation?: string; orderAll?: boolean; raw?: unknown }
  /**
   * A subquery expression; `args` are the operands outside it (`x IN (...)`). `kind`: DuckDB's
   * subquery_type (SCALAR, EXISTS, NOT_EXISTS, ANY…); `compare`: ANY's comparison (`IN` is
   * ANY with COMPARE_EQUAL).
   */
  | { k: 'sub'; query: Query; exists: boolean; args: Expr[]; kind?: string; compare?: string; raw?: unknown }
  /** A function call; `agg`: aggregate (by name, DISTINCT, FILTER, ORDER BY); `window`: OVER. */
  | { k: 'fn'; name: string; args: Expr[]; agg: boolean; window: boolean; raw?: unknown }
  | { k: 'lambda'; args: Expr[]; raw?: unknown }
  | { k: 'param'; raw?: unknown }
  | { k: 'and'; args: Expr[]; raw?: unknown }
  /**
   * Any other construct both parsers agree on: comparisons, operators, casts, CASE, constants.
   * `eq`: a plain `a = b` comparison (not `IS NOT DISTINCT FROM`, not `==`), `args` its operands;
   * `or`: an OR, `args` its branches.
   */
  | { k: 'op'; args: Expr[]; eq?: boolean; or?: boolean; raw?: unknown }
  /** A construct the lowering does not know: its columns count, it is never pushed. */
  | { k: 'opaque'; args: Expr[]; raw?: unknown };

export type JoinType = 'inner' | 'cross' | 'left' | 'right' | 'full' | 'other';

export type From =
  | {
      k: 'table';
      name: string;
      schema?: string;
      catalog?: string;
      alias?: string;
      columnAliases?: string[];
      /** its BASE_TABLE node in the parse tree: a reference given a scan of its own is renamed there */
      node?: JsonObject;
    }
  | {
      k: 'join';
      type: JoinType;
      left: From;
      right: From;
      on?: Expr;
      using?: string[];
      natural?: boolean;
    }
  | { k: 'subquery'; query: Query; alias?: string; columnAliases?: string[] }
  | { k: 'values'; rows: Expr[][]; alias?: string; columnAliases?: string[] }
  | { k: 'func'; name: string; args: Expr[]; alias?: string; columnAliases?: string[] }
  /**
   * PIVOT/UNPIVOT and anything unknown: its columns are not known; the tables inside are
   * lowered to `SELECT *` subqueries among `exprs`, so they need all their columns.
   */
  | { k: 'opaque'; exprs: Expr[]; alias?: string }
  | { k: 'empty' };

export interface SelectItem {
  expr: Expr;
  alias?: string;
}

export interface Cte {
  name: string;
  query: Query;
  columnAliases?: string[];
}

export type Query =
  | {
      k: 'select';
      ctes: Cte[];
      from: From;
      where?: Expr;
      select: SelectItem[];
      /** GROUP BY, HAVING, QUALIFY, ORDER BY, LIMIT, DISTINCT ON…: only their columns matter. */
      other: Expr[];
      /** GROUP BY / HAVING present (a `*` under EXISTS then still matters). */
      grouped: boolean;
      /** GROUP BY (or GROUP BY ALL) present: an aggregate then makes a row per group, not one. */
      groupBy?: boolean;
      /** SELECT DISTINCT (or DISTINCT ON) */
      distinct?: boolean;
      /** ORDER BY present */
      ordered?: boolean;
      /** GROUP BY's expressions as written (also among `other`) */
      groupKeys?: Expr[];
      /** GROUP BY ALL */
      groupAll?: boolean;
      /**
       * Why a filter on this SELECT's output cannot be applied to its FROM instead (LIMIT,
       * DISTINCT ON, QUALIFY, SAMPLE, aggregates, windows); empty when it can.
       */
      barriers?: string[];
      /** Its only LIMIT / OFFSET is a LIMIT of a positive constant: it keeps a row when its input has one. */
      positiveLimit?: boolean;
    }
  | {
      k: 'setop';
      ctes: Cte[];
      left: Query;
      right: Query;
      byName: boolean;
      other: Expr[];
      /** A recursive CTE's body: `recursiveName` is visible in the right branch only. */
      recursiveName?: string;
      /** Why a filter on the output cannot go into the branches (all but UNION ALL, LIMIT…). */
      barriers?: string[];
      /** As a SELECT's. */
      positiveLimit?: boolean;
      /**
       * EXCEPT ALL: whether a row is in its output depends on how many copies of it each side
       * holds, not only on which rows they hold.
       */
      countsCopies?: boolean;
    };

/** `SELECT * FROM <from>`, as both lowerings build for shapes that only read their source. */
export function selectStar(from: From, ctes: Cte[] = []): Query {
  return { k: 'select', ctes, from, select: [{ expr: { k: 'star' } }], other: [], grouped: false };
}

/** The lowering's result: the query, plus the constructs it does not model. */
export interface Lowered {
  query: Query;
  /** Constructs not modelled (ASOF, PIVOT, lambdas…); non-empty means: no filter pushdown. */
  exotic: string[];
}
