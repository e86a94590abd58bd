/**
 * The data container's HTTP API (fastify): GET /health, GET /metadata, POST /query,
 * POST /scan, and the OpenAPI description at /docs and /docs/json. Every error is JSON
 * `{"error": kind, "message": ...}`; no request can take the server down.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { QueryError } from '../errors.js';
import { createApp, ErrorBody, type HttpSecurity } from '../http/app.js';
import type { Logger } from '../log.js';
import { registerMetricsRoute } from '../metrics/registry.js';
import { tableMetadata } from './metadata.js';
import { DEFAULT_QUERY_LIMITS, type QueryLimits, runQuery } from './query.js';
import { registerScanRoute } from './scan-http.js';
import type { LoadedTable } from './table.js';

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
  shard: z.string(),
  columns: z.array(z.object({ name: z.string(), type: z.string() })),
  row_count: z.number(),
  column_count: z.number(),
  size_bytes: z.number().describe('bytes read from S3 (compressed)'),
  memory_bytes: z.number().optional().describe("DuckDB's memory for the loaded table"),
  load_time_ms: z.number(),
  timestamp: z.string().describe('when loading finished'),
});

const HealthSchema = z.object({
  status: z.enum(['ok', 'loading']),
  table: z.string(),
  rows: z.number().optional(),
});

/** Aborts when the client goes away before its answer is sent: its query stops. */
function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

export async function createHttpApp(
  tableName: string,
  getTable: () => LoadedTable | undefined,
  log: Logger,
  limits: QueryLimits = DEFAULT_QUERY_LIMITS,
  security?: HttpSecurity,
): Promise<FastifyInstance> {
  const app = await createApp({
    title: `duckdb-s3-query data container (${tableName})`,
    description: 'One table loaded from S3 into DuckDB, served over HTTP and NATS.',
    log,
    security,
  });

  const loaded = (): LoadedTable => {
    const table = getTable();
    if (!table) throw new QueryError('unavailable', `table ${tableName} is still loading; try again shortly`);
    return table;
  };
  const errors = {
    400: ErrorSchema,
    403: ErrorSchema,
    413: ErrorSchema,
    500: ErrorSchema,
    503: ErrorSchema,
    504: ErrorSchema,
  };
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/health',
    {
      schema: {
        summary: 'Ready once the table is loaded (503 while loading)',
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    },
    async (_request, reply) => {
      const table = getTable();
      if (table) return { status: 'ok' as const, table: table.name, rows: table.rowCount };
      return reply.status(503).send({ status: 'loading', table: tableName });
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
    (request, reply) => runQuery(loaded(), request.body.query, limits, { signal: clientGone(reply) }),
  );

  registerScanRoute(app, getTable, limits.timeoutMs);
  registerMetricsRoute(app);
  return app;
}
