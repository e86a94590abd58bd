/**
 * The coordinator's HTTP API: POST /query (JSON in the seed's shape, or streamed as ndjson /
 * CSV when the client asks with Accept), GET / (reachable tables), GET /health, /docs.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { releasingChunks } from '../duckdb/chunk-memory.js';
import { duckdbErrorToQueryError } from '../duckdb/duckdb-errors.js';
import { JsonRowWriter } from '../duckdb/json-rows.js';
import { chunksOf, jsonValueConverter } from '../duckdb/json-values.js';
import type { QueryError } from '../errors.js';
import { createApp, ErrorBody } from '../http/app.js';
import type { Logger } from '../log.js';
import { registerMetricsRoute, watchDuckDBMemory } from '../metrics/registry.js';
import { formatHeader, formatRows, type RowFormat } from '../scan-client/row-format.js';
import { msSince } from '../timing.js';
import { sendArrowAnswer } from './answer/arrow.js';
import { type AnswerFormat, answerFormat } from './answer/formats.js';
import { type ExecutorContext, type OpenQuery, openQuery, timeoutError } from './execute.js';
import { jsonAnswerText, jsonAnswerTooLarge } from './json-answer.js';
import { QueryRegistry, registerQueryRoutes } from './queries.js';

const QueryBody = z.object({
  query: z.string().min(1, 'query must be a non-empty SQL string').max(1_048_576),
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

/** Aborts when the client goes away before the answer is complete. */
function clientGone(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  request.raw.on('aborted', () => controller.abort());
  return controller.signal;
}

function readError(open: OpenQuery, ctx: ExecutorContext, err: unknown): QueryError {
  return open.timedOut() ? timeoutError(ctx.timeoutMs) : duckdbErrorToQueryError(err);
}

/** Rows of a JSON answer sent in one piece rather than streamed: one DuckDB vector. */
const SMALL_ANSWER_ROWS = 2048;

/**
 * The rows of a JSON answer, known to be under the cap before it starts, so that a result
 * over it still gets its 413: the result is materialized (openQuery's `materialize`), at
 * most one row past the cap.
 */
function rowsUnderCap(open: OpenQuery, maxRows: number): number {
  const rows = open.result.rowCount;
  if (rows === undefined) throw new Error('a JSON answer needs a materialized result');
  if (rows > maxRows) throw jsonAnswerTooLarge(maxRows);
  return rows;
}

/**
 * Rows as they come out of DuckDB. A failure after the first byte cannot change the status:
 * ndjson gets a last line {"error", "message"}, and the response is cut so that no client
 * takes a partial result for a whole one.
 */
async function* streamRows(
  open: OpenQuery,
  ctx: ExecutorContext,
  format: RowFormat,
  log: Logger,
  streamed: { rows: number },
) {
  const columns = open.result.deduplicatedColumnNames();
  const ndjson = format === 'ndjson' ? new JsonRowWriter(columns, 'lines') : undefined;
  try {
    yield formatHeader(format, columns);
    for await (const chunk of releasingChunks(chunksOf(open.result))) {
      yield ndjson ? ndjson.write(chunk) : formatRows(format, columns, chunk.convertRows(jsonValueConverter));
      streamed.rows += chunk.rowCount;
    }
  } catch (err) {
    const error = readError(open, ctx, err);
    log.warn('streamed query failed after its first rows', { error: error.message });
    if (format === 'ndjson') yield `${JSON.stringify(error.toJSON())}\n`;
    throw error;
  } finally {
    open.close();
  }
}

export async function buildCoordinatorApp(
  ctx: ExecutorContext,
  opts: { maxJsonRows: number; log: Logger },
): Promise<FastifyInstance> {
  const app = await createApp({
    title: 'duckdb-s3-query coordinator',
    description:
      'SQL across tables served by DuckDB data containers; scans are pushed down and gathered here.',
    log: opts.log,
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
          'Run one read-only SQL query. JSON answer by default (capped rows); `Accept: application/x-ndjson`, `text/csv` or `application/vnd.apache.arrow.stream` streams every row.',
        body: QueryBody,
        response: {
          200: QueryAnswer,
          400: ErrorBody,
          403: ErrorBody,
          406: ErrorBody,
          413: ErrorBody,
          503: ErrorBody,
          504: ErrorBody,
          507: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const answer = answerFormat(request.headers.accept);
      const running = queries.enter(request.body.query, answer, clientGone(request, reply));
      reply.raw.once('close', () => running.leave(reply.statusCode, reply.raw.writableFinished));
      reply.header('x-query-id', running.id);
      const format = streamFormat(answer);
      const open = await openQuery(request.body.query, ctx, running.signal, {
        materialize: answer === 'json',
        ...(answer === 'json' && { maxRows: opts.maxJsonRows }),
        progress: running.progress,
      });
      running.stats = open.stats;
      if (answer === 'arrow') return sendArrowAnswer(reply, open, running);
      if (!format) {
        let whole: Buffer | undefined;
        try {
          // A small answer goes out whole, with its length: streaming it costs more than it saves.
          if (rowsUnderCap(open, opts.maxJsonRows) <= SMALL_ANSWER_ROWS) {
            const pieces: Buffer[] = [];
            for await (const piece of jsonAnswerText(open, running.id)) pieces.push(piece);
            whole = Buffer.concat(pieces);
          }
        } catch (err) {
          open.close();
          throw err;
        }
        if (whole) {
          open.close();
          return reply.type('application/json; charset=utf-8').send(whole as never);
        }
        const body = Readable.from(jsonAnswerText(open, running.id));
        body.on('close', () => open.close());
        body.on('error', () => reply.raw.destroy());
        return reply.type('application/json; charset=utf-8').send(body as never);
      }
      const stream = Readable.from(streamRows(open, ctx, format, opts.log, running));
      stream.on('error', () => reply.raw.destroy());
      return (
        reply
          .header('x-source-tables', open.sourceTables.join(','))
          .header('x-query-stats', JSON.stringify(open.stats))
          // After the last row: the row count, the whole time, and the stats of scans that
          // were still passing rows through when the headers left (a query pushed whole).
          .trailer('x-query-summary', async () =>
            JSON.stringify({
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
    { schema: { description: 'Tables this coordinator can reach, with where each is served from.' } },
    () => ({
      tables: ctx.catalog.list().map((t) => ({
        name: t.name,
        columns: t.columns,
        row_count: t.rowCount,
        transport: t.transport,
        source: t.location,
        instances: t.instances,
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

  typed.get('/health', { schema: { description: 'Liveness: 200 while the coordinator serves.' } }, () => ({
    status: 'ok',
    tables: ctx.catalog.list().length,
  }));

  return app;
}
