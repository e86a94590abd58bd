/**
 * One table of a query into TEMP table `target` of the query's connection: from its container
 * (gather.ts), or, for a table split into parts, from every part (`target` then being a view
 * over their TEMP tables, shards/scatter.ts). Column names are the ones in the schema frame
 * (the container's spelling).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ScanRequest } from '../../protocol/frames.js';
import type { CatalogTable } from '../catalog/catalog.js';
import { type GatherOptions, type GatherStats, gatherFrames, TempTableTarget } from './gather.js';
import { scatterInto } from './shards/scatter.js';

export function gatherInto(
  con: DuckDBConnection,
  table: CatalogTable,
  request: ScanRequest,
  target: string,
  opts: GatherOptions,
): Promise<GatherStats> {
  if (table.parts) return scatterInto(con, table, table.parts, request, target, opts);
  return gatherFrames(table, request, opts, new TempTableTarget(con, target, opts));
}
