/**
 * Options of the four commands, validated with zod. Flags win over environment variables;
 * the AWS SDK reads its own environment (credentials, region, AWS_ENDPOINT_URL_S3) itself.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { QueryError } from './errors.js';
import { TABLE_NAME_PATTERN } from './protocol/subjects.js';
import { issuesText } from './zod-issues.js';

const port = z.coerce.number().int().min(0).max(65_535);

export const ServeOptionsSchema = z.object({
  urls: z.array(z.string().min(1)).min(1, 'give at least one s3:// URL'),
  tableName: z
    .string()
    .regex(TABLE_NAME_PATTERN, 'a table name is a letter or _ then letters, digits or _ (at most 63)'),
  port: port.default(8000),
  host: z.string().default('0.0.0.0'),
  nats: z.string().optional(),
  s3Endpoint: z.string().optional(),
  /** Shard label published in the NATS service metadata (several containers may serve parts). */
  shard: z.string().default('0'),
  /** Deadline of one POST /query (or query endpoint) answer. */
  queryTimeoutMs: z.coerce.number().int().min(1).default(60_000),
  /** Rows one POST /query answer may hold. */
  maxJsonRows: z.coerce.number().int().min(1).default(100_000),
  /** DuckDB memory_limit of the container, e.g. `4GB`: the table and the queries over it. */
  memoryLimit: z.string().optional(),
});
export type ServeOptions = z.output<typeof ServeOptionsSchema>;

export const CoordinatorOptionsSchema = z.object({
  config: z.string().optional(),
  port: port.default(8000),
  host: z.string().default('0.0.0.0'),
  nats: z.string().optional(),
  /** Per-query deadline. */
  timeoutMs: z.coerce.number().int().min(1).default(60_000),
  /** Rows a JSON answer may hold; larger results must be streamed (ndjson/csv). */
  maxJsonRows: z.coerce.number().int().min(1).default(100_000),
  /** DuckDB memory_limit of the coordinator, e.g. `8GB`. */
  memoryLimit: z.string().optional(),
  /** Turn off filter/projection pushdown (for comparison and debugging). */
  pushdown: z.boolean().default(true),
  /** The Postgres wire protocol's port; none: no Postgres port. */
  pgPort: port.optional(),
  /** PEM certificate and key files for TLS on the Postgres port (both or neither). */
  pgTlsCert: z.string().optional(),
  pgTlsKey: z.string().optional(),
});
export type CoordinatorOptions = z.output<typeof CoordinatorOptionsSchema>;

export const ScanCommandOptionsSchema = z.object({
  table: z.string().regex(TABLE_NAME_PATTERN, 'not a valid table name'),
  columns: z.array(z.string().min(1)).default([]),
  where: z.string().optional(),
  limit: z.coerce.number().int().min(0).optional(),
  format: z.enum(['ndjson', 'csv']).default('ndjson'),
  nats: z.string().optional(),
  timeoutMs: z.coerce.number().int().min(1).default(30_000),
});
export type ScanCommandOptions = z.output<typeof ScanCommandOptionsSchema>;

/** The seed's config.json: `{"tables": {"labels": {"url": "http://localhost", "port": 8001, "table_name": "labels"}}}`. */
export const ClusterConfigSchema = z.object({
  tables: z.record(
    z.string(),
    z.object({
      url: z.string().url(),
      port: z.number().int().min(1).max(65_535).optional(),
      table_name: z.string().regex(TABLE_NAME_PATTERN).optional(),
    }),
  ),
});
export type ClusterConfig = z.output<typeof ClusterConfigSchema>;

export async function readClusterConfig(path: string): Promise<ClusterConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new QueryError('bad_request', `cannot read config file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new QueryError('bad_request', `config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = ClusterConfigSchema.safeParse(json);
  if (!parsed.success) {
    throw new QueryError(
      'bad_request',
      `config file ${path} does not match {"tables": {"<name>": {"url": "http://host", "port": 8001, "table_name": "<name>"}}}: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** Flag, else NATS_URL, else none. */
export function natsUrlFrom(flag: string | undefined): string | undefined {
  return flag ?? (process.env.NATS_URL || undefined);
}

/** Parses command options or exits with one line naming what is wrong. */
export function parseOptions<T extends z.ZodTypeAny>(
  schema: T,
  input: unknown,
  command: string,
): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  process.stderr.write(`duckdb-s3-query ${command}: ${issuesText(parsed.error, 'argument')}\n`);
  process.exit(2);
}
