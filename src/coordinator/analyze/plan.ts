/** The analysis's result: the typed plan the executor and EXPLAIN read. */

export interface TableCatalogEntry {
  name: string;
  columns: string[];
  /** DuckDB type names, parallel to `columns`; without them, no semi-join reduction */
  types?: string[];
  /** its row count, where known: the smaller tables' keys are gathered first */
  rows?: number;
}

/** What one table's scan is offered (every part of a split table gets the same). */
export interface TableScanPlan {
  /** the catalog table name */
  table: string;
  /** catalog column names needed, in catalog order; every column when the query needs them all */
  columns: string[];
  /**
   * A DuckDB boolean expression over the table's columns (unqualified), safe to push: DuckDB's
   * print of a checked tree (print.ts); absent when none.
   */
  where?: string;
}

/** One reference of a table in the query (EXPLAIN shows them). */
export interface ReferencePlan {
  table: string;
  /** its alias, else the table name (lower-case) */
  binding: string;
  /** the AND of the filters this reference allows, printed; absent when none */
  filter?: string;
}

export interface SemiJoinReduction {
  /** catalog table whose scan may be reduced */
  table: string;
  /** its column (catalog spelling) */
  column: string;
  /** another catalog table, gathered first */
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
  /** the catalog table and column its one output column is a bare column of */
  source: string;
  sourceColumn: string;
}

export interface QueryAnalysis {
  /** each distinct catalog table the query reads (not CTE names), once, in order of first reference */
  tables: TableScanPlan[];
  /** every table reference is the same single table: the whole SQL may run in that table's container */
  pushWhole: boolean;
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
