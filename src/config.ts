/**
 * Options of the four commands, validated with zod. Flags win over environment variables;
 * the AWS SDK reads its own environment (credentials, region, AWS_ENDPOINT_URL_S3) itself.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { defaultMaxRunning } from './admission.js';
import { QueryError } from './errors.js';
import { MAX_SHARDS, parseShard, type ShardSpec, UNSPLIT } from './protocol/shards.js';
import { TABLE_NAME_PATTERN } from './protocol/subjects.js';
import { redactSecrets } from './redact.js';
import { issuesText } from './zod-issues.js';

const port = z.coerce.number().int().min(0).max(65_535);
/** `--api-keys FILE`: one key per line; without it API_KEYS, else no keys (src/auth/api-keys.ts). */
const apiKeysFile = z.string().min(1).optional();
/** What the audit line keeps of a query's SQL: the text and its hash, or the hash only. */
const auditSql = z.enum(['text', 'hash']).default('text');

/** How a process reaches NATS (src/nats/connect.ts): server URL(s), credentials, TLS, inbox. */
export const NatsOptionsSchema = z.object({
  /** `nats://[user:password@]host:4222`, several comma-separated. */
  url: z.string().min(1),
  token: z.string().min(1).optional(),
  /** A creds file (user JWT and nkey seed). */
  creds: z.string().min(1).optional(),
  /** A file holding a user nkey seed (SU…). */
  nkey: z.string().min(1).optional(),
  tlsCa: z.string().min(1).optional(),
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /** Reply subjects of this process; default `_INBOX_<role>` (coordinator, serve, scan). */
  inboxPrefix: z
    .string()
    .regex(
      /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/,
      'an inbox prefix is subject tokens without wildcards, e.g. _INBOX_coordinator',
    )
    .optional(),
});
export type NatsOptions = z.output<typeof NatsOptionsSchema>;

/** A DuckDB size such as 10GiB, 500MB or 1TB. */
const size = z
  .string()
  .regex(/^\s*\d+(\.\d+)?\s*([KMGT]i?B|B|bytes)?\s*$/i, 'a size such as 500MB, 10GiB or 1TB');

/** What bounds the work of a process: concurrency (admission.ts) and disk spill (duckdb/spill.ts). */
const workLimits = {
  /** Queries that run at once; more wait in the queue. */
  maxConcurrentQueries: z.coerce.number().int().min(1).default(defaultMaxRunning),
  /** Queries that may wait for a turn; beyond them a query gets 503 `overloaded` with Retry-After. */
  maxQueuedQueries: z.coerce.number().int().min(0).default(128),
  /** Where DuckDB spills: a directory of this process's own is made under it, and removed at exit. */
  tempDirectory: z.string().min(1).optional(),
  /** DuckDB's max_temp_directory_size: past it a query fails with 507 `out_of_temp_space`. */
  maxTempDirectorySize: size.default('10GiB'),
  /** DuckDB's worker threads; DuckDB's own default (the machine's cores) where absent. */
  threads: z.coerce.number().int().min(1).max(1024).optional(),
};

export const ServeOptionsSchema = z.object({
  urls: z.array(z.string().min(1)).min(1, 'give at least one s3:// URL'),
  tableName: z
    .string()
    .regex(TABLE_NAME_PATTERN, 'a table name is a letter or _ then letters, digits or _ (at most 63)'),
  port: port.default(8000),
  host: z.string().default('0.0.0.0'),
  nats: NatsOptionsSchema.optional(),
  s3Endpoint: z.string().optional(),
  /** `--shard I/N`: part I (0-based) of N (protocol/shards.ts); omitted, the whole table. */
  shard: z
    .string()
    .optional()
    .transform((text, ctx): ShardSpec => {
      if (text === undefined) return UNSPLIT;
      try {
        return parseShard(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** Deadline of one POST /query (or query endpoint) answer. */
  queryTimeoutMs: z.coerce.number().int().min(1).default(60_000),
  /** Rows one POST /query answer may hold. */
  maxJsonRows: z.coerce.number().int().min(1).default(100_000),
  /** DuckDB memory_limit of the container, e.g. `4GB`: the table and the queries over it. */
  memoryLimit: z.string().optional(),
  apiKeys: apiKeysFile,
  auditSql,
  ...workLimits,
});
export type ServeOptions = z.output<typeof ServeOptionsSchema>;

export const CoordinatorOptionsSchema = z.object({
  config: z.string().optional(),
  port: port.default(8000),
  host: z.string().default('0.0.0.0'),
  nats: NatsOptionsSchema.optional(),
  /** Per-query deadline. */
  timeoutMs: z.coerce.number().int().min(1).default(60_000),
  /** Rows a JSON answer may hold; larger results must be streamed (ndjson/csv). */
  maxJsonRows: z.coerce.number().int().min(1).default(100_000),
  /** Bytes a JSON answer may take (64 MiB); larger results must be streamed. */
  maxJsonBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
  /** DuckDB memory_limit of the coordinator, e.g. `8GB`. */
  memoryLimit: z.string().optional(),
  /** Turn off filter/projection pushdown (for comparison and debugging). */
  pushdown: z.boolean().default(true),
  /** Scans that feed keys forward hold their rows for the keys of later scans (two-way semi-joins). */
  twoWayReductions: z.boolean().default(true),
  /** Rows past which such a scan holds them (fewer go at once); default: reduction-schedule.ts. */
  holdAboveRows: z.coerce.number().int().min(0).optional(),
  /** Rows a reduced scan's own predicate keeps at most to go without waiting for keys; default: reduction-schedule.ts. */
  sendAtOnceRows: z.coerce.number().int().min(0).optional(),
  /** Unsplit tables of at most this many rows are copied into the coordinator (reference tables); 0: none. */
  referenceTableRows: z.coerce.number().int().min(0).default(100_000),
  /** Bytes all those copies may take (64 MiB), least recently used dropped first; 0: none. */
  referenceTableBytes: z.coerce
    .number()
    .int()
    .min(0)
    .default(64 * 1024 * 1024),
  apiKeys: apiKeysFile,
  auditSql,
  ...workLimits,
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
  format: z.enum(['ndjson', 'csv', 'arrow']).default('ndjson'),
  /** Read this part (0-based) of a split table alone; without it, every part. */
  shard: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_SHARDS - 1)
    .optional(),
  nats: NatsOptionsSchema,
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
      /** The API key the coordinator sends this container (else api_key_env's, else its own first). */
      api_key: z.string().min(1).optional(),
      /** An environment variable holding that key, to keep it out of the file. */
      api_key_env: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
        .optional(),
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

/**
 * A command's NATS options from its flags (commander applies the NATS_* env fallbacks, see
 * src/nats/flags.ts): none without a URL.
 */
export function natsOptionsFrom(
  o: Record<string, unknown>,
  defaultUrl?: string,
): Partial<Record<keyof NatsOptions, unknown>> | undefined {
  const url = natsUrlFrom(o.nats as string | undefined) ?? defaultUrl;
  if (!url) return undefined;
  return {
    url,
    token: o.natsToken,
    creds: o.natsCreds,
    nkey: o.natsNkey,
    tlsCa: o.natsTlsCa,
    tlsCert: o.natsTlsCert,
    tlsKey: o.natsTlsKey,
    inboxPrefix: o.natsInboxPrefix,
  };
}

/** Parses command options or exits with one line naming what is wrong. */
export function parseOptions<T extends z.ZodTypeAny>(
  schema: T,
  input: unknown,
  command: string,
): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  process.stderr.write(
    `duckdb-s3-query ${command}: ${redactSecrets(issuesText(parsed.error, 'argument'))}\n`,
  );
  process.exit(2);
}
