/**
 * Tables split into parts (DESIGN.md, NATS section): `serve … --shard I/N` makes a container
 * part I (0-based) of N; containers serving the same part are replicas. Shared by data
 * containers (subjects they answer, metadata they report) and their clients (catalog, scans).
 */
import { type EndpointName, subjectFor } from './subjects.js';

export interface ShardSpec {
  /** 0-based part number, below `count`. */
  index: number;
  /** How many parts the table is split into; 1 for an unsplit table. */
  count: number;
}

export const UNSPLIT: ShardSpec = { index: 0, count: 1 };

/** Parts per table at most: each is a queue group and a scan per query. */
export const MAX_SHARDS = 1024;

export function isSplit(shard: ShardSpec): boolean {
  return shard.count > 1;
}

/** `I/N` as given to `--shard`; a message that says how to write it otherwise. */
export function parseShard(text: string): ShardSpec {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || count > MAX_SHARDS || index >= count) {
    throw new Error(
      `--shard must be I/N with 0 <= I < N <= ${MAX_SHARDS} (part I, 0-based, of N), e.g. --shard 0/4; got "${text}"`,
    );
  }
  return { index, count };
}

export function shardLabel(shard: ShardSpec): string {
  return `${shard.index}/${shard.count}`;
}

/** `duckdb.<table>.<I>.<endpoint>`: where part I of a split table answers. */
export function partSubject(table: string, index: number, endpoint: EndpointName): string {
  return `duckdb.${table}.${index}.${endpoint}`;
}

/** The subject a container answers on for `endpoint`: its part's, or the table's when unsplit. */
export function servedSubject(table: string, shard: ShardSpec, endpoint: EndpointName): string {
  return isSplit(shard) ? partSubject(table, shard.index, endpoint) : subjectFor(table, endpoint);
}

/**
 * Smallest and largest value of a column in one part, as DuckDB SQL literals of the column's
 * type (`CAST('1995-03-15' AS DATE)`, `42`), so a filter's constants can be compared with them
 * in DuckDB. Null when the part holds no non-NULL value of the column.
 */
export interface ColumnRange {
  min: string;
  max: string;
}

/** What a container says of its part, beside its columns and rows (/metadata, instance endpoint). */
export interface PartMetadata {
  shard: ShardSpec;
  /** Hash of the object keys and ETags it loaded: replicas of one part must agree. */
  version: string;
  /** Per column name, its range in this part; a column left out has no known range. */
  column_ranges: Record<string, ColumnRange | null>;
}
