/** A table loaded into a data container's DuckDB: what scans, queries and metadata read. */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { FreshConnections } from '../duckdb/fresh-connections.js';
import type { ColumnRange, ShardSpec } from '../protocol/shards.js';
import type { TableColumn } from '../protocol/table-metadata.js';

export interface LoadedTable {
  /** The table's name; also the name of the persistent DuckDB table `main.<name>`. */
  name: string;
  instance: DuckDBInstance;
  columns: TableColumn[];
  rowCount: number;
  /** Bytes read from S3 (compressed). */
  sizeBytes: number;
  /** DuckDB's memory for the table once loaded (duckdb_memory()), when known. */
  memoryBytes?: number;
  loadTimeMs: number;
  /** The URLs as given on the command line. */
  urls: string[];
  /** Every object that was loaded, as s3://bucket/key. */
  objects: string[];
  loadedAt: string;
  /** Which part of the table this is (UNSPLIT when it is the whole table). */
  shard: ShardSpec;
  /** Hash of the objects loaded (data-version.ts): replicas of a part agree on it. */
  version: string;
  /** Per column, its smallest and largest value (column-ranges.ts). */
  columnRanges: Record<string, ColumnRange | null>;
}

/** Per instance: a table's instance lives as long as the container. */
const fresh = new WeakMap<DuckDBInstance, FreshConnections>();

/** A fresh connection for one request, opened ahead; the caller closes it (`closeSync`). */
export function connect(table: LoadedTable): Promise<DuckDBConnection> {
  let connections = fresh.get(table.instance);
  if (!connections) {
    connections = new FreshConnections(table.instance);
    fresh.set(table.instance, connections);
  }
  return connections.take();
}
