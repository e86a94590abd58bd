/**
 * The coordinator's query analyzer: which tables a query reads, which of their columns it
 * needs, and which rows (a filter per table) can be filtered at the data container without
 * changing the result. Pure logic: the only outside calls are DuckDB's parser, both ways.
 *
 * 1. DuckDB's parse tree is the source of truth: syntax errors, non-SELECT statements, the
 *    tables read, the columns needed, and the filters, which are nodes of that very tree.
 * 2. Each SELECT gives the targets of its FROM (table uses, derived-table and CTE references)
 *    the conjuncts of its WHERE and ON that may filter them (predicates.ts), those implied by
 *    ORs, USING, equalities (pushdown.ts); references pass theirs on into the bodies
 *    (derived.ts).
 * 3. A table's filter is the OR, over every use of the table anywhere in the query, of the
 *    AND of that use's filters; a use with none means no filter for the table. Each filter is
 *    printed by DuckDB and pushed only if it parses back to the same tree (print.ts).
 * 4. Semi-join reductions (reductions.ts): a table whose every use is joined to a use of another
 *    table by an equality that drops its unmatched rows (a join, IN, EXISTS, a correlated
 *    subquery's equality) may be fetched after that table, filtered by the join key values.
 *
 * Deliberately not pushed (the rules are beside the code that applies them):
 * - WHERE conjuncts on the null-supplying side of an outer join, even null-rejecting ones;
 *   ON conjuncts on the preserved side of an outer join; anything of FULL, ASOF, POSITIONAL,
 *   SEMI, ANTI joins;
 * - filters through a derived table or CTE with LIMIT, DISTINCT ON, QUALIFY, SAMPLE, GROUP BY,
 *   aggregates, windows, set operations but UNION ALL, or recursion (they stay outside);
 * - unqualified columns that more than one FROM item may hold, or when a FROM item's columns
 *   are unknown (table functions, PIVOT, `SELECT *` of them);
 * - subqueries, aggregates, windows, parameters, volatile functions inside a filter;
 * - tables used with renamed columns (`labels AS t(a, b)`);
 * - any filter at all when the SQL has constructs the lowering does not model (`exotic`).
 */
import { QueryError } from '../../errors.js';
import { pushIntoBodies } from './derived.js';
import { duckDbStatement, lowerDuckDb } from './duckdb-tree.js';
import type { Lowered } from './ir.js';
import type { QueryAnalysis, ReferencePlan, TableCatalogEntry, TableScanPlan } from './plan.js';
import { type DuckDbSql, printTrees } from './print.js';
import { chooseReductions, reductionCandidates, subqueryCandidates, typedCandidates } from './reductions.js';
import { type Resolution, Resolver, type Use } from './scope.js';
import { type Tree, treeKey } from './trees.js';

export type {
  QueryAnalysis,
  ReferencePlan,
  SemiJoinReduction,
  SubqueryReduction,
  TableCatalogEntry,
  TableScanPlan,
} from './plan.js';
export type { DuckDbSql, ParseWithDuckDb } from './print.js';

export interface AnalyzeOptions {
  /** Skip filter analysis when the whole query can run in one container (it will). */
  wholeQueriesRunWhole?: boolean;
  /**
   * TEMP tables the SQL reads as `temp.main.<name>`: pushed subqueries' results, in hand
   * before any scan (subquery-pushdown.ts). Never scanned; they reduce tables as any table.
   */
  results?: ResultTable[];
}

export interface ResultTable extends TableCatalogEntry {
  /** an IN's keys, few most often: a source worth waiting for, placed first (`subquerySources`) */
  keys: boolean;
}

export async function analyzeQuery(
  sql: string,
  catalog: TableCatalogEntry[],
  duckDb: DuckDbSql,
  options: AnalyzeOptions = {},
): Promise<QueryAnalysis> {
  const results = options.results ?? [];
  const analysis = await analyzeWith(sql, catalog, duckDb, options, results);
  return results.length > 0 ? withoutResults(analysis, results) : analysis;
}

/** The analysis without the result tables as scans; those of keys that reduce a table are sources. */
function withoutResults(analysis: QueryAnalysis, results: ResultTable[]): QueryAnalysis {
  const names = new Set(results.map((r) => r.name));
  const keys = new Set(results.filter((r) => r.keys).map((r) => r.name));
  const scanned = (r: { table: string }) => !names.has(r.table);
  const reductions = analysis.reductions.filter(scanned);
  const otherReductions = analysis.otherReductions.filter(scanned);
  const sources = [...reductions, ...otherReductions].map((r) => r.source).filter((s) => keys.has(s));
  return {
    ...analysis,
    tables: analysis.tables.filter(scanned),
    references: analysis.references.filter(scanned),
    reductions,
    otherReductions,
    subqueryReductions: analysis.subqueryReductions.filter(scanned),
    subquerySources: [...new Set(sources)],
  };
}

async function analyzeWith(
  sql: string,
  catalog: TableCatalogEntry[],
  duckDb: DuckDbSql,
  options: AnalyzeOptions,
  results: ResultTable[],
): Promise<QueryAnalysis> {
  const node = duckDbStatement(await duckDb.parse(sql), sql);
  let lowered: Lowered;
  let resolved: Resolution;
  try {
    lowered = lowerDuckDb(node);
    resolved = new Resolver(catalog, true, results).resolve(lowered.query);
  } catch (err) {
    if (err instanceof QueryError) throw err;
    return wholeTables(node, catalog);
  }

  const byName = new Map([...catalog, ...results].map((t) => [t.name, t]));
  const tables: TableScanPlan[] = resolved.tables.map((name) => {
    const entry = byName.get(name)!;
    const need = resolved.needs.get(name)!;
    return {
      table: name,
      columns: entry.columns.filter((c) => need.all || need.cols.has(c.toLowerCase())),
    };
  });
  const pushWhole = resolved.tables.length === 1 && !resolved.mixedSources;
  const projectionOnly = (notes: string[]): QueryAnalysis => ({
    tables,
    pushWhole,
    reductions: [],
    otherReductions: [],
    subqueryReductions: [],
    references: resolved.uses.map((u) => ({ table: u.table.name, binding: u.binding })),
    notes,
  });
  if (pushWhole && options.wholeQueriesRunWhole) return projectionOnly([]);
  if (lowered.exotic.length > 0)
    return projectionOnly([`no filter pushed: the query uses ${lowered.exotic.join(', ')}`]);

  pushIntoBodies(resolved.derived, (n) => resolved.notes.push(n));
  const { perTable, perUse } = await printFilters(resolved.uses, duckDb);
  for (const t of tables) {
    const w = perTable.get(t.table);
    if (w !== undefined) t.where = w;
  }
  const references: ReferencePlan[] = resolved.uses.map((u) => {
    const filter = perUse.get(u);
    return { table: u.table.name, binding: u.binding, ...(filter !== undefined && { filter }) };
  });
  const typeOf = (table: string, column: string): string | undefined => {
    const entry = byName.get(table);
    const i = entry?.columns.indexOf(column) ?? -1;
    return entry?.types && entry.types.length === entry.columns.length && i >= 0 ? entry.types[i] : undefined;
  };
  const candidates = typedCandidates(reductionCandidates(resolved), typeOf);
  const reductions = chooseReductions(
    tables,
    candidates,
    (t) => byName.get(t)?.rows,
    new Set(results.filter((r) => r.keys).map((r) => r.name)),
  );
  const otherReductions = candidates.filter((r) => !reductions.includes(r));
  const subqueryReductions = typedCandidates(subqueryCandidates(resolved), typeOf);
  return {
    tables,
    pushWhole,
    reductions,
    otherReductions,
    subqueryReductions,
    references,
    notes: resolved.notes,
  };
}

/** Whether the whole text is one parenthesized group (string literals and quoted names skipped). */
function isParenthesized(text: string): boolean {
  if (!text.startsWith('(')) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'" || ch === '"') {
      for (i++; i < text.length && !(text[i] === ch && text[i + 1] !== ch); i++) if (text[i] === ch) i++;
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

const group = (text: string): string => (isParenthesized(text) ? text : `(${text})`);

/**
 * Each use's filters ANDed, and per table the OR over its uses. Each filter is printed and
 * checked on its own (print.ts): one that fails the check is dropped, a weaker AND.
 */
async function printFilters(
  uses: Use[],
  duckDb: DuckDbSql,
): Promise<{ perTable: Map<string, string>; perUse: Map<Use, string> }> {
  const unique = new Map<string, Tree>();
  for (const u of uses) for (const f of u.filters) unique.set(treeKey(f), f);
  const keys = [...unique.keys()];
  const texts = await printTrees([...unique.values()], duckDb);
  const printed = new Map<string, string>();
  keys.forEach((k, i) => {
    if (texts[i] !== undefined) printed.set(k, texts[i]);
  });

  const termsOf = new Map<Use, string[]>();
  for (const u of uses) {
    const terms = [...new Set(u.filters.map((f) => printed.get(treeKey(f))).filter((t) => t !== undefined))];
    if (terms.length > 0) termsOf.set(u, terms);
  }
  const andText = (t: string[]) => (t.length === 1 ? t[0] : t.map(group).join(' AND '));
  const perUse = new Map([...termsOf].map(([u, t]) => [u, andText(t)]));
  const byTable = new Map<string, Use[]>();
  for (const u of uses) byTable.set(u.table.name, [...(byTable.get(u.table.name) ?? []), u]);
  const perTable = new Map<string, string>();
  for (const [table, tableUses] of byTable) {
    const terms = tableUses.map((u) => termsOf.get(u));
    if (terms.some((t) => t === undefined)) continue;
    // (A) OR (A AND B) is A: drop a term that holds all the conjuncts of another.
    const all = terms as string[][];
    const kept = all.filter(
      (t, i) =>
        !all.some((o, j) => j !== i && o.every((x) => t.includes(x)) && (o.length < t.length || j < i)),
    );
    perTable.set(
      table,
      kept.length === 1 ? andText(kept[0]) : kept.map((t) => group(andText(t))).join(' OR '),
    );
  }
  return { perTable, perUse };
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
  return {
    tables,
    pushWhole: false,
    reductions: [],
    otherReductions: [],
    subqueryReductions: [],
    references: [],
    notes: ['no filter pushed: the analysis could not follow this query shape'],
  };
}
