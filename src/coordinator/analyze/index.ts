/**
 * The coordinator's query analyzer: which tables a query reads, which of their columns it
 * needs, and which rows (a predicate per table) can be filtered at the data container without
 * changing the result. Pure logic: the only outside call is `parseWithDuckDb`.
 *
 * 1. DuckDB's parse tree decides: syntax errors, non-SELECT statements, the set of tables read
 *    and the columns needed (the projection pushed for any DuckDB SQL).
 * 2. pgsql-ast-parser gives the predicates, only when its reading of the SQL has the same table
 *    uses (table, alias, outer-join side, FROM of the same SELECT) as DuckDB's, no DuckDB-only
 *    construct is present, and each predicate it prints parses in DuckDB to the very tree of a
 *    conjunct of DuckDB's own parse (same clause, same SELECT). Anything else: projection only.
 * 3. A table's predicate is the OR, over every use of the table anywhere in the query, of the
 *    AND of that use's pushable conjuncts; a use with none means no predicate for the table.
 * 4. Semi-join reductions (reductions.ts): a table whose every use is joined to a use of another
 *    table by an equality that drops its unmatched rows may be fetched after that table,
 *    filtered by the join key values gathered; both readings of step 2 must allow it.
 *
 * Deliberately not pushed (the rules themselves are in predicates.ts):
 * - conjuncts from any other SELECT than the one whose FROM holds the table (no pushing through
 *   derived tables, CTE references, set operations, LIMIT, DISTINCT ON or windows);
 * - WHERE conjuncts on the null-supplying side of an outer join, even null-rejecting ones;
 * - ON conjuncts on the preserved side of an outer join, anything of FULL, ASOF, POSITIONAL,
 *   SEMI, ANTI joins;
 * - unqualified columns that more than one FROM item may hold (USING columns included), or
 *   when a FROM item's columns are unknown (table functions, PIVOT, `SELECT *` of them);
 * - HAVING, QUALIFY, subqueries, aggregates, windows, parameters, volatile functions;
 * - tables used with renamed columns (`labels AS t(a, b)`);
 * - any predicate at all when the SQL has DuckDB-only syntax, pgsql-ast-parser cannot parse
 *   it, or it is longer than PG_PARSE_MAX_CHARS; constants JSON cannot hold exactly (integers
 *   beyond 2^53); any conjunct whose printed form DuckDB does not parse back to the same tree.
 */
import { QueryError } from '../../errors.js';
import { canonicalExpr, duckDbStatement, lowerDuckDb, selectListOf } from './duckdb-tree.js';
import type { Lowered } from './ir.js';
import { lowerPg, printPg, printPgUnqualified } from './pg-ast.js';
import {
  agreedCandidates,
  chooseReductions,
  reductionCandidates,
  type SemiJoinReduction,
} from './reductions.js';
import { type Conjunct, type Resolution, Resolver, type Use } from './scope.js';

export type { SemiJoinReduction } from './reductions.js';

export interface TableCatalogEntry {
  name: string;
  columns: string[];
  /** DuckDB type names, parallel to `columns`; without them, no semi-join reduction */
  types?: string[];
}

export interface TableScanPlan {
  /** the catalog table name */
  table: string;
  /** catalog column names needed, in catalog order; every column when the query needs them all */
  columns: string[];
  /** a DuckDB boolean expression over the table's columns (unqualified), safe to push; absent when none */
  where?: string;
}

export interface QueryAnalysis {
  /** each distinct catalog table the query reads (not CTE names), once, in order of first reference */
  tables: TableScanPlan[];
  /** every table reference is the same single table: the whole SQL may run in that table's container */
  pushWhole: boolean;
  /** which tree gave the predicates; 'duckdb' means projection only */
  parser: 'pgsql-ast-parser' | 'duckdb';
  /**
   * Semi-join reductions, to apply in this order (each source listed before it is reduced):
   * gather `source` first, then fetch `table` with its `where` AND `column IN (the distinct
   * sourceColumn values gathered)`, or any weaker filter (`column BETWEEN min AND max`). Each
   * is valid whatever was applied before it, so skipping some keeps the rest valid. Only with
   * parser 'pgsql-ast-parser'. The rules are in reductions.ts.
   */
  reductions: SemiJoinReduction[];
}

/** Returns JSON.parse of `SELECT json_serialize_sql($1::VARCHAR)` on a DuckDB connection. */
export type ParseWithDuckDb = (sql: string) => Promise<unknown>;

export interface AnalyzeOptions {
  /** Skip predicate analysis when the whole query can run in one container (it will). */
  wholeQueriesRunWhole?: boolean;
}

export async function analyzeQuery(
  sql: string,
  catalog: TableCatalogEntry[],
  parseWithDuckDb: ParseWithDuckDb,
  options: AnalyzeOptions = {},
): Promise<QueryAnalysis> {
  const node = duckDbStatement(await parseWithDuckDb(sql), sql);
  let duck: Lowered;
  let resolved: Resolution;
  try {
    duck = lowerDuckDb(node);
    resolved = new Resolver(catalog, true).resolve(duck.query);
  } catch (err) {
    if (err instanceof QueryError) throw err;
    return wholeTables(node, catalog);
  }

  const byName = new Map(catalog.map((t) => [t.name, t]));
  const tables: TableScanPlan[] = resolved.tables.map((name) => {
    const entry = byName.get(name)!;
    const need = resolved.needs.get(name)!;
    return {
      table: name,
      columns: entry.columns.filter((c) => need.all || need.cols.has(c.toLowerCase())),
    };
  });
  const pushWhole = resolved.tables.length === 1 && !resolved.mixedSources;

  const projectionOnly: QueryAnalysis = { tables, pushWhole, parser: 'duckdb', reductions: [] };
  if (duck.exotic.length > 0 || (pushWhole && options.wholeQueriesRunWhole)) return projectionOnly;
  const pg = await predicates(sql, catalog, resolved, parseWithDuckDb);
  if (!pg) return projectionOnly;
  for (const t of tables) {
    const w = pg.wheres.get(t.table);
    if (w !== undefined) t.where = w;
  }
  // Both readings must allow a reduction: DuckDB's (the authority on the query's shape) and
  // pgsql-ast-parser's, which has the same uses, outer-join sides and scopes (signature()).
  const typeOf = (table: string, column: string): string | undefined => {
    const entry = byName.get(table);
    const i = entry?.columns.indexOf(column) ?? -1;
    return entry?.types && entry.types.length === entry.columns.length && i >= 0 ? entry.types[i] : undefined;
  };
  const agreed = agreedCandidates(reductionCandidates(resolved), reductionCandidates(pg.resolved), typeOf);
  const reductions = chooseReductions(tables, agreed);
  return { tables, pushWhole, parser: 'pgsql-ast-parser', reductions };
}

/** Whether the whole text is one parenthesized group (string literals and quoted names skipped). */
function isParenthesized(text: string): boolean {
  if (!text.startsWith('(')) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'" || ch === '"') {
      const escapes = ch === "'" && (text[i - 1] === 'E' || text[i - 1] === 'e');
      for (i++; i < text.length; i++) {
        if (escapes && text[i] === '\\') i++;
        else if (text[i] === ch) {
          if (text[i + 1] === ch) i++;
          else break;
        }
      }
      if (i >= text.length) return false;
    } else if (ch === '(') {
      depth++;
    } else if (ch === ')') {
      depth--;
      if (depth === 0) return i === text.length - 1;
    }
  }
  return false;
}

function parenthesize(text: string): string {
  const t = text.trim();
  return isParenthesized(t) ? t : `(${t})`;
}

/**
 * The safety net for a DuckDB tree the lowering cannot walk (a shape it does not expect): every
 * catalog table named anywhere in the tree, whole, nothing pushed.
 */
function wholeTables(node: unknown, catalog: TableCatalogEntry[]): QueryAnalysis {
  const byLower = new Map(catalog.map((t) => [t.name.toLowerCase(), t]));
  const found = new Set<TableCatalogEntry>();
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) {
      for (const y of x) walk(y);
    } else if (typeof x === 'object' && x !== null) {
      const o = x as Record<string, unknown>;
      if (o.type === 'BASE_TABLE' && typeof o.table_name === 'string') {
        const t = byLower.get(o.table_name.toLowerCase());
        if (t) found.add(t);
      }
      if (o.type === 'TABLE_FUNCTION') {
        throw new QueryError(
          'forbidden',
          'Table functions are not allowed: queries may read only the served tables',
        );
      }
      for (const v of Object.values(o)) walk(v);
    }
  };
  walk(node);
  const tables = [...found].map((t) => ({ table: t.name, columns: [...t.columns] }));
  return { tables, pushWhole: false, parser: 'duckdb', reductions: [] };
}

function signature(r: Resolution): string {
  return r.uses
    .map((u) => `${u.table.name}|${u.binding}|${u.nullable}|${u.renamed}|${u.scope.key()}`)
    .sort()
    .join('\n');
}

function conjunctKey(canonical: string, c: Conjunct): string {
  return `${canonical}|${c.clause}|${c.scope.key()}`;
}

/** DuckDB's parse of each expression text, undefined where it does not parse as one expression. */
async function parseExpressions(
  texts: string[],
  parseWithDuckDb: ParseWithDuckDb,
): Promise<(unknown | undefined)[]> {
  if (texts.length === 0) return [];
  const tryParse = async (sql: string): Promise<unknown[] | undefined> => {
    try {
      return selectListOf(await parseWithDuckDb(sql));
    } catch {
      return undefined;
    }
  };
  const batch = await tryParse(`SELECT ${texts.map((t) => `(${t})`).join(', ')}`);
  if (batch && batch.length === texts.length) return batch;
  const out: (unknown | undefined)[] = [];
  for (const t of texts) {
    const one = await tryParse(`SELECT (${t})`);
    out.push(one && one.length === 1 ? one[0] : undefined);
  }
  return out;
}

/**
 * Per catalog table, the predicate to push, and pgsql-ast-parser's reading; undefined when that
 * reading is not usable.
 */
async function predicates(
  sql: string,
  catalog: TableCatalogEntry[],
  duck: Resolution,
  parseWithDuckDb: ParseWithDuckDb,
): Promise<{ wheres: Map<string, string>; resolved: Resolution } | undefined> {
  const pg = lowerPg(sql);
  if (!pg) return undefined;
  let resolved: Resolution;
  try {
    resolved = new Resolver(catalog, true).resolve(pg.query);
  } catch {
    return undefined;
  }
  if (signature(resolved) !== signature(duck)) return undefined;

  // Print every candidate conjunct, qualified (as written) and unqualified (as pushed).
  const tableOf = new Map<Conjunct, Use>();
  for (const u of resolved.uses) for (const c of u.conjuncts) if (!tableOf.has(c)) tableOf.set(c, u);
  const candidates = [...tableOf.keys()];
  const qualified: string[] = [];
  const unqualified: string[] = [];
  const printable: Conjunct[] = [];
  for (const c of candidates) {
    const table = tableOf.get(c)!.table;
    try {
      const q = printPg(c.expr.raw);
      const s = printPgUnqualified(c.expr.raw, (n) => table.byLower.get(n.toLowerCase()) ?? n);
      qualified.push(q);
      unqualified.push(s);
      printable.push(c);
    } catch {
      // not printable: not pushed
    }
  }
  const trees = await parseExpressions([...qualified, ...unqualified], parseWithDuckDb);
  const duckKeys = new Set(duck.conjuncts.map((c) => conjunctKey(canonicalExpr(c.expr.raw), c)));
  const text = new Map<Conjunct, string>();
  printable.forEach((c, i) => {
    const qTree = trees[i];
    const sTree = trees[i + printable.length];
    if (qTree === undefined || sTree === undefined) return;
    if (!duckKeys.has(conjunctKey(canonicalExpr(qTree), c))) return;
    if (canonicalExpr(qTree, true) !== canonicalExpr(sTree, true)) return;
    text.set(c, unqualified[i].trim());
  });

  const out = new Map<string, string>();
  const byTable = new Map<string, Use[]>();
  for (const u of resolved.uses) byTable.set(u.table.name, [...(byTable.get(u.table.name) ?? []), u]);
  for (const [table, uses] of byTable) {
    const terms: string[][] = [];
    let complete = true;
    for (const u of uses) {
      const texts = [...new Set(u.conjuncts.filter((c) => text.has(c)).map((c) => text.get(c)!))];
      if (texts.length === 0) {
        complete = false;
        break;
      }
      terms.push(texts);
    }
    if (!complete) continue;
    // (A) OR (A AND B) is A: drop a term that holds all the conjuncts of another.
    const kept = terms.filter(
      (t, i) =>
        !terms.some((o, j) => j !== i && o.every((x) => t.includes(x)) && (o.length < t.length || j < i)),
    );
    const and = (t: string[]) => (t.length === 1 ? t[0] : t.map(parenthesize).join(' AND '));
    out.set(table, kept.length === 1 ? and(kept[0]) : kept.map((t) => parenthesize(and(t))).join(' OR '));
  }
  return { wheres: out, resolved };
}
