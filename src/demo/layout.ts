/**
 * Which data containers the demo runs: one per table by default; with `--shards N` each table
 * in N parts (`serve <prefix glob> --shard I/N`), and with `--replicas R` R containers serving
 * each part (or each unsplit table) in one queue group.
 */
import { MAX_SHARDS, type ShardSpec, shardLabel } from '../protocol/shards.js';

export interface DemoLayout {
  /** Parts per table; 1 leaves the tables unsplit. */
  shards: number;
  /** Containers serving each part (or each unsplit table). */
  replicas: number;
}

export const UNSPLIT_LAYOUT: DemoLayout = { shards: 1, replicas: 1 };

/** Containers the demo runs at most: each is a node process holding its part in DuckDB. */
const MAX_CONTAINERS_PER_TABLE = 64;

export interface DemoContainer {
  /** Its name in the banner and in front of its log lines, e.g. `labels 1/2 #2`. */
  name: string;
  table: string;
  /** Absent for an unsplit table. */
  shard?: ShardSpec;
}

export function checkLayout(layout: DemoLayout): void {
  const { shards, replicas } = layout;
  if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_SHARDS)
    throw new Error(`--shards must be an integer from 1 (unsplit) to ${MAX_SHARDS}; got ${shards}`);
  if (!Number.isSafeInteger(replicas) || replicas < 1)
    throw new Error(`--replicas must be a positive integer; got ${replicas}`);
  if (shards * replicas > MAX_CONTAINERS_PER_TABLE)
    throw new Error(
      `--shards ${shards} --replicas ${replicas} would start ${shards * replicas} containers per table; at most ${MAX_CONTAINERS_PER_TABLE}`,
    );
}

export function isSplitLayout(layout: DemoLayout): boolean {
  return layout.shards > 1;
}

/**
 * Objects each table is written as when split: two per part, so that the parts divide a
 * listing of several objects among themselves, as they do with a real table's prefix.
 */
export function objectsPerTable(layout: DemoLayout): number {
  return isSplitLayout(layout) ? 2 * layout.shards : 1;
}

/** Every container of every table, table by table, part by part. */
export function demoContainers(tables: readonly string[], layout: DemoLayout): DemoContainer[] {
  const split = isSplitLayout(layout);
  return tables.flatMap((table) =>
    Array.from({ length: layout.shards }, (_, index) =>
      Array.from({ length: layout.replicas }, (_, replica) => {
        const shard = split ? { index, count: layout.shards } : undefined;
        const name = [
          table,
          ...(shard ? [shardLabel(shard)] : []),
          ...(layout.replicas > 1 ? [`#${replica + 1}`] : []),
        ].join(' ');
        return { name, table, shard };
      }),
    ).flat(),
  );
}

/** The banner's line on how the tables are served. */
export function layoutSummary(layout: DemoLayout): string | undefined {
  const { shards, replicas } = layout;
  const each =
    replicas > 1 ? `, each part served by ${replicas} replicas (one NATS queue group per part)` : '';
  if (isSplitLayout(layout))
    return (
      `Split tables: each table is ${shards} parts (serve <s3://…/table/*.csv.gz> --shard I/${shards})${each}. ` +
      'The coordinator scans every part at once, merges their rows, and asks another replica when one fails.'
    );
  if (replicas > 1) return `Each table is served by ${replicas} replicas (one NATS queue group per table).`;
  return undefined;
}
