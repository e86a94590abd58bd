/** The analysis's result: the typed plan the executor and EXPLAIN read. */

import type { ComputedColumn } from '../../../protocol/frames.js';

export interface TableCatalogEntry {
  name: string;
  columns: string[];
  /** DuckDB type names, parallel to `columns`; without them, no semi-join reduction */
  types?: string[];
  /** its row count, where known: the smaller tables' keys are gathered first */
  rows?: number;
}

/**
 * What one scan of a table is offered (every part of a split table gets the same). A table has
 * one scan for all its references, or one per group of references that want different rows
 * (reference-scans.ts).
 */
export interface TableScanPlan {
  /** the catalog table name */
  table: string;
  /**
   * The TEMP table the scan fills, when not the table's name: a later scan of a table with
   * several (its references read it under this name in `QueryAnalysis.sql`).
   */
  scan?: string;
  /** the references it is for, when the table has several scans */
  references?: string[];
  /** catalog column names needed, in catalog order; every column when the query needs them all */
  columns: string[];
  /**
   * A DuckDB boolean expression over the table's columns (unqualified), safe to push: DuckDB's
   * print of a checked tree (print.ts); absent when none.
   */
  where?: string;
  /**
   * Every reference it serves is read only for which distinct rows it holds (under EXISTS, IN…;
   * existential.ts): the container may send each distinct row of `columns` once.
   */
  distinct?: true;
  /**
   * Where the coordinator runs `QueryAnalysis.exactSql`: the columns then needed, and the
   * AND-terms of `where` left out of that SQL, which the scan must apply (exact-filters.ts).
   */
  exact?: ExactScan;
  /** Set from `exact` where the coordinator runs the exact SQL: what the scan computes. */
  computed?: ComputedColumn[];
  /**
   * Comparisons with pushed scalar subqueries' values every reference of the scan has in its
   * WHERE: once `result` is in, `column op value` may be added to `where` (0 rows or NULL:
   * `false`).
   */
  scalars?: ScalarFilter[];
  /** Rows `where` keeps, as the table's container estimated them at planning (kept-rows.ts). */
  estimatedRows?: number;
}

/** What a scan fetches, computes and must apply where the coordinator runs the exact SQL. */
export interface ExactScan {
  columns: string[];
  applied: string[];
  /** expressions it computes, sent after `columns` (computed-columns.ts) */
  computed?: ComputedColumn[];
}

/** `column op (the one value of result's one column)`. */
export interface ScalarFilter {
  /** in a scan's plan, the catalog's spelling; in a use (scope.ts), lower-case */
  column: string;
  /** `=`, `<>`, `<`, `<=`, `>`, `>=`, the column on the left */
  op: string;
  /** the pushed subquery's TEMP table, and its column */
  result: string;
  resultColumn: string;
}

/** One reference of a table in the query (EXPLAIN shows them). */
export interface ReferencePlan {
  table: string;
  /** its alias, else the table name (lower-case) */
  binding: string;
  /** the AND of the filters this reference allows, printed; absent when none */
  filter?: string;
  /** the scan it reads (its TEMP table), when its table has several */
  scan?: string;
}

/** Scans are named by their TEMP table: the catalog table's name, or `TableScanPlan.scan`. */
export interface SemiJoinReduction {
  /** the scan that may be reduced */
  table: string;
  /** its column (catalog spelling) */
  column: string;
  /** another scan, gathered first */
  source: string;
  /** its column (catalog spelling) */
  sourceColumn: string;
}

/**
 * A reduction by the result of an uncorrelated `column IN (SELECT sourceColumn FROM source …)`
 * (reductions.ts): valid with the subquery's result as the source, where the subquery runs
 * alone (subquery-pushdown.ts keeps such a subquery pushed, and its TEMP table is a source).
 */
export interface SubqueryReduction {
  table: string;
  column: string;
  /** the subquery's SELECT node, as treeKey prints it */
  subquery: string;
  /** the scan and column its one output column is a bare column of */
  source: string;
  sourceColumn: string;
}

/**
 * Two reductions of one scan whose sources' rows are tied by an equality of values
 * (value-matches.ts): a row of `table` is kept only where the value its first side's key
 * leads to equals the one its second side's key leads to (Q5's lineitem: its order's
 * customer's nation must be its supplier's nation).
 */
export interface ValueMatch {
  /** the scan narrowed */
  table: string;
  sides: [ValueSide, ValueSide];
}

/** One side of a value match: a reduction of the scan, and the value its source's key leads to. */
export interface ValueSide extends SemiJoinReduction {
  /**
   * Where the value is a column of another scan: `source.column = scan.key` leads there
   * (Q5's orders.o_custkey = customer.c_custkey); absent: the value is `source`'s own.
   */
  via?: { column: string; scan: string; key: string };
  /** the value's column, of `via.scan` or else of `source` (catalog spelling) */
  value: string;
}

/**
 * A reduction whose source's keys go with the branches of an OR their rows satisfy
 * (branch-codes.ts): a row of `table` is kept only where its key's code names a branch whose
 * filter in `branches` it satisfies (Q19's lineitem: the line and its part in the same branch).
 */
export interface BranchCode extends SemiJoinReduction {
  /** per branch, the filter over the source's columns, printed (`true` where none) */
  sourceBranches: string[];
  /** per branch, the filter over the table's columns (`true` where none) */
  branches: string[];
}

export interface QueryAnalysis {
  /**
   * The scans: one per catalog table the query reads (not CTE names), in order of first
   * reference, or several for a table whose references want different rows, in a row.
   */
  tables: TableScanPlan[];
  /** every table reference is the same single table: the whole SQL may run in that table's container */
  pushWhole: boolean;
  /**
   * The SQL to run over the gathered TEMP tables, where some references read a scan of their
   * own (renamed to it); absent: the user's SQL.
   */
  sql?: string;
  /**
   * `sql` (or the user's) without the conjuncts the scans apply exactly, to run when every
   * scan applies its `where` (its `exact` says what it then must apply and fetch).
   */
  exactSql?: string;
  /**
   * Semi-join reductions, to apply in this order (each source listed before it is reduced):
   * gather `source` first, then fetch `table` with its `where` AND `column IN (the distinct
   * sourceColumn values gathered)`, or any weaker filter (`column BETWEEN min AND max`); a
   * table's several reductions are listed together and intersected. Each is valid whatever
   * was applied before it, so skipping some keeps the rest valid. The rules are in
   * reductions.ts.
   */
  reductions: SemiJoinReduction[];
  /**
   * The other valid reductions, whose source comes after their table in `reductions`' order
   * (the reverse of a reduction there, most often). Each is valid alone too; the executor
   * applies one where its source turns out not to wait for its table (the source's own
   * predicate keeps few rows, and its container sends them at once).
   */
  otherReductions: SemiJoinReduction[];
  /** Scans whose two reductions' sources must lead to equal values (value-matches.ts). */
  valueMatches?: ValueMatch[];
  /** Reductions whose source's keys are coded by the branches of an OR (branch-codes.ts), one per scan at most. */
  branchCodes?: BranchCode[];
  /** Reductions by IN subqueries' results, valid where the subquery runs alone; types equal. */
  subqueryReductions: SubqueryReduction[];
  /**
   * Sources of `reductions` that are not tables but TEMP tables of pushed IN subqueries'
   * results (`AnalyzeOptions.results`): they wait for no keys and count as narrowed.
   */
  subquerySources?: string[];
  /** every table reference, with the filter it allows */
  references: ReferencePlan[];
  /** why filters stayed in the coordinator, where the analysis knows */
  notes: string[];
}

/** The name of a scan's TEMP table, which reductions name it by. */
export function scanName(plan: { table: string; scan?: string }): string {
  return plan.scan ?? plan.table;
}

/** A scan's computed column as EXPLAIN and stats show it: `<expression> AS <column>`. */
export function shownComputed(c: ComputedColumn): string {
  return `${c.sql} AS ${c.name}`;
}
