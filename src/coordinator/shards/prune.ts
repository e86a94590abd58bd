/**
 * Which parts of a split table a scan need not ask. Stub until range pruning lands: only
 * empty parts are skipped.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { CatalogTable } from '../catalog.js';

export async function partsToSkip(
  _con: DuckDBConnection,
  _where: string | undefined,
  table: CatalogTable,
): Promise<Map<number, string>> {
  return new Map((table.parts ?? []).filter((p) => p.rowCount === 0).map((p) => [p.index, 'empty']));
}
