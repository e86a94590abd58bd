/**
 * What a data container says of its table, as its clients read it: `GET /metadata`, the NATS
 * `metadata` endpoint and the `duckdb.<table>.instance.<id>` endpoint trusted discovery asks.
 * Parsed where it arrives, so that a container of another version (or a client allowed to
 * answer there) cannot slip an odd shape into the catalog.
 */
import { z } from 'zod';
import { MAX_SHARDS, UNSPLIT } from './shards.js';

export interface TableColumn {
  name: string;
  /** DuckDB type as DESCRIBE prints it, e.g. BIGINT, VARCHAR, DECIMAL(18,3). */
  type: string;
}

export const tableColumnSchema = z.object({ name: z.string().min(1), type: z.string().min(1) });

const shardSchema = z
  .object({
    index: z.number().int().min(0),
    count: z.number().int().min(1).max(MAX_SHARDS),
  })
  .refine((s) => s.index < s.count, { message: 'shard index must be below its count' });

const columnRangeSchema = z.object({ min: z.string(), max: z.string() }).nullable();

/**
 * The fields clients read. A container older than split tables sends no shard, version or
 * ranges: it is one whole table (UNSPLIT) of unknown version, with no ranges to prune by.
 */
export const instanceMetadataSchema = z.object({
  view_name: z.string(),
  shard: shardSchema.default(UNSPLIT),
  version: z.string().default(''),
  column_ranges: z.record(z.string(), columnRangeSchema).default({}),
  columns: z.array(tableColumnSchema),
  row_count: z.number().int().min(0),
});

export type InstanceMetadata = z.infer<typeof instanceMetadataSchema>;

export function columnsText(columns: TableColumn[]): string {
  return columns.map((c) => `${c.name} ${c.type}`).join(', ');
}

/**
 * How `b`'s columns differ from `a`'s, in words naming them (`a` and `b` say whose they are),
 * or undefined when they agree in names, types and order.
 */
export function columnsDifference(
  a: { name: string; columns: TableColumn[] },
  b: { name: string; columns: TableColumn[] },
): string | undefined {
  const byName = (columns: TableColumn[]) => new Map(columns.map((c) => [c.name, c.type]));
  const [left, right] = [byName(a.columns), byName(b.columns)];
  const missing = a.columns.filter((c) => !right.has(c.name)).map((c) => c.name);
  const extra = b.columns.filter((c) => !left.has(c.name)).map((c) => c.name);
  const retyped = b.columns.filter((c) => left.has(c.name) && left.get(c.name) !== c.type);
  const said: string[] = [];
  if (missing.length) said.push(`${b.name} lacks ${missing.join(', ')}`);
  if (extra.length) said.push(`${b.name} has ${extra.join(', ')} that ${a.name} lacks`);
  for (const c of retyped) said.push(`${c.name} is ${c.type} in ${b.name}, ${left.get(c.name)} in ${a.name}`);
  if (said.length === 0 && columnsText(a.columns) !== columnsText(b.columns)) {
    said.push(`${b.name} has them in another order (${b.columns.map((c) => c.name).join(', ')})`);
  }
  return said.length ? said.join('; ') : undefined;
}
