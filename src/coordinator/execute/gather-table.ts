/**
 * One table of a query into TEMP table `target` of the query's connection: from its container
 * (gather.ts), or, for a table split into parts, from every part (`target` then being a view
 * over their TEMP tables, shards/scatter.ts). Column names are the ones in the schema frame
 * (the container's spelling). `wrap`, where given, sees a whole table's frames on their way
 * (key-collector.ts); a split table's parts go without it.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ScanRequest } from '../../protocol/frames.js';
import type { CatalogTable } from '../catalog/catalog.js';
import {
  type FrameTarget,
  type GatherOptions,
  type GatherStats,
  gatherFrames,
  TempTableTarget,
} from './gather.js';
import { scatterInto } from './shards/scatter.js';

export function gatherInto(
  con: DuckDBConnection,
  table: CatalogTable,
  request: ScanRequest,
  target: string,
  opts: GatherOptions,
  wrap?: (target: FrameTarget) => FrameTarget,
): Promise<GatherStats> {
  if (table.parts) return scatterInto(con, table, table.parts, request, target, opts);
  const temp = new TempTableTarget(con, target, opts);
  return gatherFrames(table, request, opts, wrap ? wrap(temp) : temp);
}
