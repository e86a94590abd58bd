/**
 * The coordinator's HTTP API: POST /query (JSON in the seed's shape, or streamed as ndjson /
 * CSV when the client asks with Accept), GET / (reachable tables), GET /health, /docs.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { releasingChunks } from '../../duckdb/chunk-memory.js';
import { duckdbErrorToQueryError, withFollowableHints } from '../../duckdb/duckdb-errors.js';
import { JsonRowWriter } from '../../duckdb/json-rows.js';
import { chunksOf, jsonValueConverter } from '../../duckdb/json-values.js';
import { PROBE_TIMEOUT_MS, type QueryPathProbe } from '../../duckdb/probe.js';
import { publicError, QueryError } from '../../errors.js';
import { createApp, ErrorBody, type HttpSecurity } from '../../http/app.js';
import { auditQuery } from '../../http/audit.js';
import { clientGone } from '../../http/client-gone.js';
import { headerJson } from '../../http/header-json.js';
import type { Logger } from '../../log.js';
import { registerMetricsRoute, watchDuckDBMemory } from '../../metrics/registry.js';
import { formatHeader, formatRows, type RowFormat } from '../../scan-client/row-format.js';
import { msSince } from '../../timing.js';
import { openQuery } from '../execute/execute.js';
import { QueryRegistry, registerQueryRoutes } from '../execute/queries.js';
import { type ExecutorContext, type OpenQuery, timeoutError } from '../execute/query.js';
import { explainQuery, explainRequest } from '../plan/explain.js';
import { registerConsole } from '../ui/routes.js';
import { sendArrowAnswer } from './answer/arrow.js';
import { type AnswerFormat, answerFormat } from './answer/formats.js';
import { jsonAnswerBytes, jsonAnswerTooLarge } from './json-answer.js';

const QueryBody = z.object({
  query: z.string().min(1, 'query must be a non-empty SQL string').max(1_048_576),
  explain: z.boolean().optional().describe('answer the distributed plan instead of running the query'),
});

const QueryAnswer = z
  .object({
    results: z.array(z.record(z.string(), z.unknown())),
    columns: z.array(z.string()),
    row_count: z.number(),
    execution_time_ms: z.number(),
    timestamp: z.string(),
    source_tables: z.array(z.string()),
    stats: z.record(z.string(), z.unknown()),
  })
  .loose();

/** The streamed text format asked for, or none (JSON or Arrow). */
function streamFormat(format: AnswerFormat): RowFormat | undefined {
  return format === 'ndjson' || format === 'csv' ? format : undefined;
}

/**
 * Why a stream stopped early: its deadline, the process shutting down, or DuckDB's own error.
 * (An interrupted DuckDB stream can also just end, as if complete: `stopped` tells that apart.)
 */
function readError(open: OpenQuery, ctx: ExecutorContext, stopped: AbortSignal, err?: unknown): QueryError {
  if (open.timedOut()) return timeoutError(ctx.timeoutMs);
  if (stopped.aborted) return new QueryError('cancelled', 'the query was stopped before its last row');
  return duckdbErrorToQueryError(err);
}

/**
 * Rows as they come out of DuckDB. A failure after the first byte cannot change the status:
 * ndjson gets a last line {"error", "message"}, then the stream fails, and the response is
 * cut without its terminating chunk or summary trailer, so that no client takes a partial
 * result for a whole one.
 */
async function* streamRows(
  open: OpenQuery,
  ctx: ExecutorContext,
  format: RowFormat,
  log: Logger,
  streamed: { rows: number },
  stopped: AbortSignal,
) {
  const columns = open.result.deduplicatedColumnNames();
  const ndjson = format === 'ndjson' ? new JsonRowWriter(columns, 'lines') : undefined;
  try {
    yield formatHeader(format, columns);
    for await (const chunk of releasingChunks(chunksOf(open.result))) {
      yield ndjson ? ndjson.write(chunk) : formatRows(format, columns, chunk.convertRows(jsonValueConverter));
      streamed.rows += chunk.rowCount;
    }
    if (open.timedOut() || stopped.aborted) throw readError(open, ctx, stopped);
  } catch (err) {
    const error = readError(open, ctx, stopped, err);
    log.warn('streamed query failed after its first rows', { error: error.message, rows: streamed.rows });
    if (format === 'ndjson') yield `${JSON.stringify(error.toJSON())}\n`;
    throw error;
  } finally {
    open.close();
  }
}

/**
 * A JSON answer's rows are known to be under the cap before it starts, so that a result over
 * it still gets its 413: the result is materialized (openQuery's `materialize`), at most one
 * row past the cap.
 */
function rowsUnderCap(open: OpenQuery, maxRows: number): void {
  const rows = open.result.rowCount;
  if (rows === undefined) throw new Error('a JSON answer needs a materialized result');
  if (rows > maxRows) throw jsonAnswerTooLarge(maxRows);
}

/**
 * What the client gets of a failure: a shutdown says so (503, to try again elsewhere); an
 * internal failure is logged here with the request's id and answered with that id only.
 */
function failure(err: unknown, id: string, ctx: ExecutorContext, opts: CoordinatorHttpOptions): QueryError {
  if (ctx.admission.closed.aborted) {
    return new QueryError('unavailable', 'this coordinator is shutting down; send the query again', {
      retryAfterSeconds: 1,
    });
  }
  const error = publicError(err, id);
  if (error !== err) {
    opts.log.error('query failed', { id, error: err instanceof Error ? err.message : String(err) });
  }
  return withFollowableHints(error);
}

export interface CoordinatorHttpOptions {
  maxJsonRows: number;
  maxJsonBytes: number;
  log: Logger;
  security?: HttpSecurity;
  /** Whether the coordinator's DuckDB still answers, for /health. */
  probe: QueryPathProbe;
}

export async function buildCoordinatorApp(
  ctx: ExecutorContext,
  opts: CoordinatorHttpOptions,
): Promise<FastifyInstance> {
  const app = await createApp({
    title: 'duckdb-s3-query coordinator',
    description:
      'SQL across tables served by DuckDB data containers; scans are pushed down and gathered here.',
    log: opts.log,
    security: opts.security,
  });
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const queries = new QueryRegistry();
  registerQueryRoutes(app, queries);
  registerMetricsRoute(app);
  watchDuckDBMemory(() => ctx.engine.connect());

  typed.post(
    '/query',
    {
      schema: {
        description:
          'Run one read-only SQL query. JSON answer by default (capped in rows and bytes: 413 beyond); `Accept: application/x-ndjson`, `text/csv` or `application/vnd.apache.arrow.stream` streams every row. A streamed answer that fails midway (timeout, a scan that fails) is cut: no terminating chunk and no `x-query-summary` trailer, so every HTTP client sees a transfer error; ndjson gets a last line `{"error", "message"}` first. A full query queue is 503 `overloaded` with Retry-After.',
        body: QueryBody,
        response: {
          200: QueryAnswer,
          400: ErrorBody,
          403: ErrorBody,
          406: ErrorBody,
          413: ErrorBody,
          500: ErrorBody,
          503: ErrorBody,
          504: ErrorBody,
          507: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const answer = answerFormat(request.headers.accept);
      // Stopped when the client leaves, the query is cancelled, or the process shuts down.
      const stopped = AbortSignal.any([clientGone(request, reply), ctx.admission.closed]);
      const running = queries.enter(String(request.id), request.body.query, answer, stopped);
      reply.raw.once('close', () => running.leave(reply.statusCode, reply.raw.writableFinished));
      reply.header('x-query-id', running.id);
      const fail = (err: unknown) => failure(err, running.id, ctx, opts);
      const turn = await ctx.admission.enter(ctx.timeoutMs, running.signal).catch((err: unknown) => {
        throw fail(err);
      });
      reply.raw.once('close', turn.release);
      // The wait for a turn counts against the query's deadline.
      const own = { ...ctx, timeoutMs: Math.max(1, Math.round(ctx.timeoutMs - turn.waitedMs)) };
      const explain = explainRequest(request.body.query, request.body.explain);
      if (explain)
        return explainQuery(explain, own, running.signal).catch((err: unknown) => {
          throw fail(err);
        });
      const format = streamFormat(answer);
      const open = await openQuery(request.body.query, own, running.signal, {
        materialize: answer === 'json',
        ...(answer === 'json' && { maxRows: opts.maxJsonRows }),
        progress: running.progress,
      }).catch((err: unknown) => {
        throw fail(err);
      });
      auditQuery(request, running, open);
      running.stats = open.stats;
      if (answer === 'arrow') return sendArrowAnswer(reply, open, running);
      if (!format) {
        try {
          rowsUnderCap(open, opts.maxJsonRows);
          const whole = await jsonAnswerBytes(open, opts.maxJsonBytes, running.id);
          return reply.type('application/json; charset=utf-8').send(whole as never);
        } catch (err) {
          throw fail(err);
        } finally {
          open.close();
        }
      }
      const stream = Readable.from(streamRows(open, own, format, opts.log, running, running.signal));
      stream.on('error', () => reply.raw.destroy());
      return (
        reply
          .header('x-source-tables', open.sourceTables.join(','))
          .header('x-query-stats', headerJson(open.stats))
          .header('x-query-columns', headerJson(open.result.deduplicatedColumnNames()))
          // After the last row: the row count, the whole time, and the stats of scans that
          // were still passing rows through when the headers left (a query pushed whole).
          // Never after a failure: the response is cut before it (streamRows).
          .trailer('x-query-summary', async () =>
            headerJson({
              row_count: running.rows,
              execution_time_ms: msSince(open.started),
              stats: open.stats,
            }),
          )
          .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
          .send(stream as never)
      );
    },
  );

  typed.get(
    '/',
    {
      schema: {
        description:
          'Tables this coordinator can reach, with where each is served from; a split table lists its parts (subject, replicas, rows).',
      },
    },
    () => ({
      tables: ctx.catalog.list().map((t) => ({
        name: t.name,
        columns: t.columns,
        row_count: t.rowCount,
        transport: t.transport,
        source: t.location,
        instances: t.instances,
        ...(t.parts
          ? {
              parts: t.parts.map((p) => ({
                index: p.index,
                subject: p.subject,
                replicas: p.instances,
                row_count: p.rowCount,
              })),
            }
          : {}),
        ...(t.error ? { error: t.error } : {}),
      })),
      nats: ctx.nc
        ? { connected: !ctx.nc.isClosed(), server: ctx.nc.getServer() }
        : ctx.natsUrl
          ? { connected: false, server: ctx.natsUrl }
          : null,
      pushdown: ctx.pushdown,
      timestamp: new Date().toISOString(),
    }),
  );

  typed.get(
    '/health',
    {
      schema: {
        description:
          '200 while the coordinator serves; 503 when its query path is stuck (a trivial DuckDB query does not finish within 2 s). Says how many queries run and wait.',
      },
    },
    async (_request, reply) => {
      const answers = await opts.probe.answers();
      const body = {
        status: answers ? 'ok' : 'stuck',
        tables: ctx.catalog.list().length,
        queries: ctx.admission.counts(),
      };
      if (answers) return body;
      return reply.status(503).send({
        ...body,
        message: `a trivial DuckDB query did not finish within ${PROBE_TIMEOUT_MS} ms: the query path is stuck`,
      });
    },
  );

  await registerConsole(app);
  return app;
}
