/**
 * The data container's HTTP API (fastify): GET /health, GET /metadata, POST /query,
 * POST /scan, and the OpenAPI description at /docs and /docs/json. Every error is JSON
 * `{"error": kind, "message": ...}`; no request can take the server down.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Admission } from '../admission.js';
import { PROBE_TIMEOUT_MS, QueryPathProbe } from '../duckdb/probe.js';
import { QueryError } from '../errors.js';
import { createApp, ErrorBody, type HttpSecurity } from '../http/app.js';
import { clientGone } from '../http/client-gone.js';
import type { Logger } from '../log.js';
import { registerMetricsRoute } from '../metrics/registry.js';
import { type ShardSpec, shardLabel } from '../protocol/shards.js';
import { tableMetadata } from './metadata.js';
import { DEFAULT_QUERY_LIMITS, type QueryLimits, runQuery } from './query.js';
import { registerScanRoute } from './scan-http.js';
import { connect, type LoadedTable } from './table.js';

const ErrorSchema = ErrorBody;

const QueryBodySchema = z.object({
  query: z.string().min(1).describe("one read-only SELECT over this container's table"),
});

const QueryAnswerSchema = z.object({
  results: z
    .array(z.record(z.string(), z.unknown()))
    .describe('rows; BIGINT beyond 2^53 and DECIMAL as strings, dates and times as ISO-8601 text'),
  columns: z.array(z.string()),
  execution_time_ms: z.number(),
  timestamp: z.string(),
  source_tables: z.array(z.string()),
});

const MetadataSchema = z.object({
  s3_url: z.string(),
  s3_urls: z.array(z.string()),
  objects: z.array(z.string()).describe('every object loaded, as s3://bucket/key'),
  view_name: z.string(),
  shard: z
    .object({ index: z.number(), count: z.number() })
    .describe('part index (0-based) of count parts; {index: 0, count: 1} for a whole table'),
  version: z.string().describe("hash of the objects' keys and ETags loaded; empty when none"),
  column_ranges: z
    .record(z.string(), z.object({ min: z.string(), max: z.string() }).nullable())
    .describe(
      'per column, its smallest and largest value as DuckDB literals (null: no non-NULL value; left out: unknown)',
    ),
  columns: z.array(z.object({ name: z.string(), type: z.string() })),
  row_count: z.number(),
  column_count: z.number(),
  size_bytes: z.number().describe('bytes read from S3 (compressed)'),
  memory_bytes: z.number().optional().describe("DuckDB's memory for the loaded table"),
  load_time_ms: z.number(),
  timestamp: z.string().describe('when loading finished'),
});

const HealthSchema = z.object({
  status: z.enum(['ok', 'loading', 'stuck']),
  table: z.string(),
  shard: z.string().describe('which part of the table this container holds, I/N (0/1: the whole table)'),
  rows: z.number().optional(),
  queries: z
    .object({ running: z.number(), queued: z.number(), max_running: z.number(), max_queued: z.number() })
    .optional()
    .describe('POST /query requests running and waiting for a turn'),
  message: z.string().optional(),
});

export async function createHttpApp(
  served: { name: string; shard: ShardSpec },
  getTable: () => LoadedTable | undefined,
  log: Logger,
  limits: QueryLimits = DEFAULT_QUERY_LIMITS,
  security?: HttpSecurity,
  admission?: Admission,
): Promise<FastifyInstance> {
  const app = await createApp({
    title: `duckdb-s3-query data container (${served.name})`,
    description: 'One table loaded from S3 into DuckDB, served over HTTP and NATS.',
    log,
    security,
  });

  let probe: QueryPathProbe | undefined;
  const loaded = (): LoadedTable => {
    const table = getTable();
    if (!table)
      throw new QueryError('unavailable', `table ${served.name} is still loading; try again shortly`);
    return table;
  };
  const errors = {
    400: ErrorSchema,
    403: ErrorSchema,
    413: ErrorSchema,
    500: ErrorSchema,
    503: ErrorSchema,
    507: ErrorSchema,
    504: ErrorSchema,
  };
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/health',
    {
      schema: {
        summary:
          'Ready once the table is loaded (503 while loading, and when a trivial DuckDB query does not finish within 2 s)',
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    },
    async (_request, reply) => {
      const table = getTable();
      const shard = shardLabel(served.shard);
      if (!table) return reply.status(503).send({ status: 'loading', table: served.name, shard });
      const queries = admission?.counts();
      probe ??= new QueryPathProbe(() => connect(table));
      if (await probe.answers())
        return { status: 'ok' as const, table: table.name, shard, rows: table.rowCount, queries };
      return reply.status(503).send({
        status: 'stuck',
        table: table.name,
        shard,
        queries,
        message: `a trivial DuckDB query did not finish within ${PROBE_TIMEOUT_MS} ms: the query path is stuck`,
      });
    },
  );

  routes.get(
    '/metadata',
    {
      schema: {
        summary: 'The table: source, columns and types, rows, size, load time',
        response: { 200: MetadataSchema, 503: ErrorSchema },
      },
    },
    () => tableMetadata(loaded()),
  );

  routes.post(
    '/query',
    {
      schema: {
        summary: 'Run one read-only SELECT over this table',
        description:
          'Body `{"query": "SELECT ..."}` as JSON, or the SQL itself as `application/sql`. The query stops when the client disconnects, or after --query-timeout-ms (504).',
        body: QueryBodySchema,
        response: { 200: QueryAnswerSchema, ...errors },
      },
    },
    async (request, reply) => {
      const table = loaded();
      const left = clientGone(request, reply);
      if (!admission) return runQuery(table, request.body.query, limits, { signal: left });
      const turn = await admission.enter(limits.timeoutMs, AbortSignal.any([left, admission.closed]));
      try {
        // The wait for a turn counts against the query's deadline.
        const timeoutMs = Math.max(1, Math.round(limits.timeoutMs - turn.waitedMs));
        return await runQuery(table, request.body.query, { ...limits, timeoutMs }, { signal: left });
      } finally {
        turn.release();
      }
    },
  );

  registerScanRoute(app, getTable, limits.timeoutMs);
  registerMetricsRoute(app);
  return app;
}
