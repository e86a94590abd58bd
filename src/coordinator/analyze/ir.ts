/**
 * A small query IR that both parse trees (DuckDB's `json_serialize_sql` and pgsql-ast-parser's
 * AST) are lowered to, so that scoping, column needs and pushdown are worked out by one piece
 * of code (scope.ts) whichever parser read the SQL.
 *
 * Identifiers are lower-cased (DuckDB resolves names case-insensitively). `raw` keeps the
 * node of the source tree the IR node came from: DuckDB JSON or a pgsql-ast-parser Expr,
 * used to print and cross-check pushed predicates.
 */

export type Expr =
  /** A column reference, possibly qualified: `name`, `t.name`, `main.t.name`, `t.struct_col.field`. */
  | { k: 'col'; parts: string[]; raw?: unknown }
  /**
   * `*`, `t.*`, `COLUMNS(...)`, `* EXCLUDE/REPLACE`, `#1`…: every column of the relation (or
   * of every table of the FROM). `orderAll`: DuckDB's `ORDER BY ALL`, which only names
   * columns of the select list.
   */
  | { k: 'star'; relation?: string; orderAll?: boolean; raw?: unknown }
  /** A subquery expression; `args` are the operands outside it (`x IN (...)`). */
  | { k: 'sub'; query: Query; exists: boolean; args: Expr[]; raw?: unknown }
  /** A function call; `agg`: aggregate (by name, DISTINCT, FILTER, ORDER BY); `window`: OVER. */
  | { k: 'fn'; name: string; args: Expr[]; agg: boolean; window: boolean; raw?: unknown }
  | { k: 'lambda'; args: Expr[]; raw?: unknown }
  | { k: 'param'; raw?: unknown }
  | { k: 'and'; args: Expr[]; raw?: unknown }
  /**
   * Any other construct both parsers agree on: comparisons, operators, casts, CASE, constants.
   * `eq`: a plain `a = b` comparison (not `IS NOT DISTINCT FROM`, not `==`), `args` its operands.
   */
  | { k: 'op'; args: Expr[]; eq?: boolean; raw?: unknown }
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
    };

/** `SELECT * FROM <from>`, as both lowerings build for shapes that only read their source. */
export function selectStar(from: From, ctes: Cte[] = []): Query {
  return { k: 'select', ctes, from, select: [{ expr: { k: 'star' } }], other: [], grouped: false };
}

/** The lowering's result: the query, plus why the tree may hold syntax pgsql-ast-parser misreads. */
export interface Lowered {
  query: Query;
  /** DuckDB-only constructs seen (ASOF, PIVOT, lambdas…); non-empty means: no predicate pushdown. */
  exotic: string[];
}
