/**
 * Analyses of recent queries, so that a repeated query (dashboards, retries) skips parsing.
 * An analysis depends only on the SQL text and the tables' columns and types, so the key
 * holds both: a table that changes shape can never reuse a stale plan.
 */
import type { QueryAnalysis, TableCatalogEntry } from './analyze/index.js';

const MAX_ENTRIES = 512;

export class AnalysisCache {
  private readonly entries = new Map<string, QueryAnalysis>();

  static key(sql: string, catalog: TableCatalogEntry[]): string {
    const shape = catalog.map(
      (t) => `${t.name}(${t.columns.map((c, i) => `${c} ${t.types?.[i]}`).join(',')})`,
    );
    return `${shape.join(';')}\u0000${sql}`;
  }

  get(key: string): QueryAnalysis | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      // Most recently used last: the first entry is the one to evict.
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, analysis: QueryAnalysis): void {
    this.entries.set(key, analysis);
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
  }
}
