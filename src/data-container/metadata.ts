/** What a data container says about its table: GET /metadata and the NATS `metadata` endpoint. */
import type { PartMetadata } from '../protocol/shards.js';
import type { TableColumn } from '../protocol/table-metadata.js';
import type { LoadedTable } from './table.js';

/**
 * The seed's /metadata shape (DESIGN.md, HTTP), plus the objects, every URL, and which part of
 * the table this is with its data version and column ranges (PartMetadata).
 */
export interface TableMetadata extends PartMetadata {
  /** The first URL as given (the seed served exactly one). */
  s3_url: string;
  s3_urls: string[];
  objects: string[];
  view_name: string;
  columns: TableColumn[];
  row_count: number;
  column_count: number;
  size_bytes: number;
  load_time_ms: number;
  /** DuckDB's memory for the loaded table, when the loader measured it. */
  memory_bytes?: number;
  timestamp: string;
}

export function tableMetadata(table: LoadedTable): TableMetadata {
  return {
    s3_url: table.urls[0] ?? '',
    s3_urls: table.urls,
    objects: table.objects,
    view_name: table.name,
    shard: table.shard,
    version: table.version,
    column_ranges: table.columnRanges,
    columns: table.columns,
    row_count: table.rowCount,
    column_count: table.columns.length,
    size_bytes: table.sizeBytes,
    load_time_ms: table.loadTimeMs,
    memory_bytes: table.memoryBytes,
    timestamp: table.loadedAt,
  };
}
