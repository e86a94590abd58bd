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
 * 4. A scan all of whose references are read only for which distinct rows they hold (under
 *    EXISTS, IN…) is marked `distinct` (existential.ts).
 * 5. Semi-join reductions (reductions.ts): a table whose every use is joined to a use of another
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
import { QueryError } from '../../../errors.js';
import { branchCodes } from './branch-codes.js';
import { pushIntoBodies } from './derived.js';
import { duckDbStatement, lowerDuckDb } from './duckdb-tree.js';
import { exactFilters } from './exact-filters.js';
import type { Lowered } from './ir.js';
import {
  type QueryAnalysis,
  type ReferencePlan,
  type ScalarFilter,
  type SemiJoinReduction,
  scanName,
  type TableCatalogEntry,
  type TableScanPlan,
} from './plan.js';
import { type DuckDbSql, printTrees } from './print.js';
import { chooseReductions, reductionCandidates, subqueryCandidates } from './reductions.js';
import { referenceScans, renamedNodes, rewrittenSql } from './reference-scans.js';
import { type Resolution, Resolver, type Use } from './scope.js';
import { type Tree, treeKey } from './trees.js';
import { valueMatches } from './value-matches.js';

export { exactOrAsWritten } from './exact-filters.js';
export type {
  BranchCode,
  QueryAnalysis,
  ReferencePlan,
  ScalarFilter,
  SemiJoinReduction,
  SubqueryReduction,
  TableCatalogEntry,
  TableScanPlan,
  ValueMatch,
  ValueSide,
} from './plan.js';
export { scanName, shownComputed } from './plan.js';
export type { DuckDbSql, ParseWithDuckDb } from './print.js';

export interface AnalyzeOptions {
  /** Skip filter analysis when the whole query can run in one container (it will). */
  wholeQueriesRunWhole?: boolean;
  /**
   * TEMP tables the SQL reads as `temp.main.<name>`: pushed subqueries' results, in hand
   * before any scan (subquery-pushdown.ts). Never scanned; they reduce tables as any table.
   */
  results?: ResultTable[];
  /** Give a table's references that want different rows scans of their own (reference-scans.ts). */
  scanPerReference?: boolean;
  /**
   * Rows a table's pushed predicate keeps, as its container estimates them (execute/
   * kept-rows.ts); undefined where unknown. With every filtered scan's, the reductions start
   * from the most selective scans (`chooseReductions`); else they are ordered by table sizes.
   */
  keptRows?: (table: string, where: string) => Promise<number | undefined>;
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
    ...(analysis.valueMatches && {
      valueMatches: analysis.valueMatches.filter(
        (m) =>
          scanned(m) && m.sides.every((s) => !names.has(s.source) && !names.has(s.via?.scan ?? s.source)),
      ),
    }),
    ...(analysis.branchCodes && {
      branchCodes: analysis.branchCodes.filter((c) => scanned(c) && !names.has(c.source)),
    }),
    subquerySources: [...new Set(sources)],
  };
}

/**
 * The rows each filtered scan's predicate keeps, estimated at once for all of them, where a
 * reduction may read or narrow one (a query without any needs no order).
 */
async function keptRowsOf(
  tables: TableScanPlan[],
  candidates: SemiJoinReduction[],
  estimate: AnalyzeOptions['keptRows'],
): Promise<Map<string, number>> {
  if (!estimate || candidates.length === 0) return new Map();
  const filtered = tables.filter((t) => t.where !== undefined);
  const estimates = await Promise.all(filtered.map((t) => estimate(t.table, t.where as string)));
  return new Map(
    filtered.flatMap((t, i) => (estimates[i] === undefined ? [] : [[scanName(t), estimates[i]]])),
  );
}

async function analyzeWith(
  sql: string,
  catalog: TableCatalogEntry[],
  duckDb: DuckDbSql,
  options: AnalyzeOptions,
  results: ResultTable[],
): Promise<QueryAnalysis> {
  const parsed = await duckDb.parse(sql);
  const node = duckDbStatement(parsed, sql);
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
  const columnsOf = (name: string): string[] => {
    const need = resolved.needs.get(name)!;
    return byName.get(name)!.columns.filter((c) => need.all || need.cols.has(c.toLowerCase()));
  };
  const pushWhole = resolved.tables.length === 1 && !resolved.mixedSources;
  const projectionOnly = (notes: string[]): QueryAnalysis => ({
    tables: resolved.tables.map((name) => ({ table: name, columns: columnsOf(name) })),
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
  const { termsOf, printed } = await printFilters(resolved.uses, duckDb);
  const filterOf = (u: Use) => {
    const terms = termsOf.get(u);
    return terms && andText(terms);
  };
  let scans = options.scanPerReference
    ? referenceScans(resolved.uses, filterOf, (n) => resolved.notes.push(n))
    : new Map<Use, string>();
  // A pushed subquery's result is in hand, not scanned: read once, under its own name.
  for (const u of scans.keys()) if (results.some((r) => r.name === u.table.name)) scans.delete(u);
  const renames = renamedNodes(scans);
  const renamed = scans.size > 0 ? await rewrittenSql(parsed, renames, duckDb) : undefined;
  if (renamed === undefined && scans.size > 0) {
    resolved.notes.push(
      'one scan per table: the SQL with references renamed to their scans did not print back',
    );
    scans = new Map();
  }
  const scanOf = (u: Use) => scans.get(u) ?? u.table.name;

  const tables: TableScanPlan[] = [];
  for (const name of resolved.tables) {
    const uses = resolved.uses.filter((u) => u.table.name === name);
    const names = [...new Set(uses.map(scanOf))];
    for (const scan of names) {
      const mine = uses.filter((u) => scanOf(u) === scan);
      const where = tableFilter(mine.map((u) => termsOf.get(u)));
      const scalars = scalarFilters(mine);
      tables.push({
        table: name,
        ...(scan !== name && { scan }),
        ...(names.length > 1 && { references: mine.map((u) => u.binding) }),
        columns: columnsOf(name),
        ...(where !== undefined && { where }),
        ...(mine.every((u) => u.existential) && { distinct: true as const }),
        ...(scalars.length > 0 && { scalars }),
      });
    }
  }
  const exact = await exactFilters(
    {
      parsed,
      sql,
      resolved,
      printed,
      termsOf,
      scanOf,
      tables,
      renamed: renamed === undefined ? new Map() : renames,
      catalog,
      results,
    },
    duckDb,
  );
  for (const t of tables) {
    const e = exact?.scans.get(scanName(t));
    if (e) t.exact = e;
  }
  const references: ReferencePlan[] = resolved.uses.map((u) => {
    const filter = filterOf(u);
    return {
      table: u.table.name,
      binding: u.binding,
      ...(filter !== undefined && { filter }),
      ...(scans.has(u) && { scan: scanOf(u) }),
    };
  });
  const filtered = new Set(tables.filter((t) => t.where !== undefined).map(scanName));
  const candidates = reductionCandidates(resolved, scanOf, (scan) => filtered.has(scan));
  const kept = await keptRowsOf(tables, candidates, options.keptRows);
  for (const t of tables)
    if (kept.has(scanName(t))) t.estimatedRows = Math.round(kept.get(scanName(t)) as number);
  const reductions = chooseReductions(
    tables,
    candidates,
    (t) => byName.get(t)?.rows,
    new Set(results.filter((r) => r.keys).map((r) => r.name)),
    kept,
  );
  const otherReductions = candidates.filter((r) => !reductions.includes(r));
  const subqueryReductions = subqueryCandidates(resolved, scanOf);
  const matches = valueMatches(resolved, scanOf, reductions);
  const codes = await branchCodes(resolved, scanOf, reductions, duckDb);
  return {
    tables,
    pushWhole,
    ...(renamed !== undefined && { sql: renamed }),
    ...(exact && { exactSql: exact.sql }),
    reductions,
    otherReductions,
    subqueryReductions,
    ...(matches.length > 0 && { valueMatches: matches }),
    ...(codes.length > 0 && { branchCodes: codes }),
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
const andText = (t: string[]) => (t.length === 1 ? t[0] : t.map(group).join(' AND '));

/**
 * Each use's filters, printed and checked one by one (print.ts): one that fails the check is
 * dropped, a weaker AND. Uses without any are left out.
 */
async function printFilters(
  uses: Use[],
  duckDb: DuckDbSql,
): Promise<{ termsOf: Map<Use, string[]>; printed: Map<string, string> }> {
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
  return { termsOf, printed };
}

/** The comparisons with scalar subqueries' values every one of `uses` has, in catalog spelling. */
function scalarFilters(uses: Use[]): ScalarFilter[] {
  const keyOf = (s: ScalarFilter) => JSON.stringify(s);
  const [first, ...rest] = uses;
  const shared = (first?.scalars ?? []).filter((s) =>
    rest.every((u) => u.scalars.some((o) => keyOf(o) === keyOf(s))),
  );
  const out = new Map<string, ScalarFilter>();
  for (const s of shared) {
    const column = first.table.byLower.get(s.column);
    if (column !== undefined) out.set(keyOf(s), { ...s, column });
  }
  return [...out.values()];
}

/** The filter of a scan: the OR over its uses of each one's AND; none when a use has none. */
function tableFilter(terms: (string[] | undefined)[]): string | undefined {
  if (terms.length === 0 || terms.some((t) => t === undefined)) return undefined;
  // (A) OR (A AND B) is A: drop a term that holds all the conjuncts of another.
  const all = terms as string[][];
  const kept = all.filter(
    (t, i) => !all.some((o, j) => j !== i && o.every((x) => t.includes(x)) && (o.length < t.length || j < i)),
  );
  return kept.length === 1 ? andText(kept[0]) : kept.map((t) => group(andText(t))).join(' OR ');
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
