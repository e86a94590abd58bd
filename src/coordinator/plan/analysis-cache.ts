/**
 * Analyses of recent queries, so that a repeated query (dashboards, retries) skips parsing.
 * An analysis depends only on the SQL text and the tables' columns and types, so the key
 * holds both: a table that changes shape can never reuse a stale plan. (Row counts only order
 * the semi-join reductions, and any order is valid: they stay out of the key.)
 */
import { Lru } from '../../lru.js';
import type { QueryAnalysis, TableCatalogEntry } from './analyze/index.js';

const MAX_ENTRIES = 512;

export class AnalysisCache extends Lru<string, QueryAnalysis> {
  constructor() {
    super(MAX_ENTRIES);
  }

  static key(sql: string, catalog: TableCatalogEntry[]): string {
    const shape = catalog.map(
      (t) => `${t.name}(${t.columns.map((c, i) => `${c} ${t.types?.[i]}`).join(',')})`,
    );
    return `${shape.join(';')}\u0000${sql}`;
  }
}
