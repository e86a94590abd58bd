/**
 * The queries a coordinator is running: each gets an id (its answer's `query_id` and
 * `x-query-id` header), `GET /queries` lists them with their progress, and
 * `DELETE /queries/<id>` cancels one through the path a client that goes away takes (its
 * scans are cancelled at the containers and DuckDB is interrupted), as Trino's
 * `DELETE /v1/query/<id>` and ClickHouse's `KILL QUERY` do.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { QueryError } from '../../errors.js';
import { ErrorBody } from '../../http/app.js';
import { observeQuery, runningQueries } from '../../metrics/coordinator.js';
import type { QueryStats } from './query.js';

/** One running query, as the handler that runs it updates it. */
export class RunningQuery {
  readonly started = new Date();
  /** Rows gathered so far from each table it reads. */
  readonly gathered = new Map<string, number>();
  /** Rows of its answer sent so far. */
  rows = 0;
  /** The executor's stats, once the query is open (they fill in as its scans end). */
  stats?: QueryStats;
  private readonly controller = new AbortController();
  /** Aborts when the client goes away or the query is cancelled. */
  readonly signal: AbortSignal;

  constructor(
    /** The request's id (fastify's, a UUID): the same in the answer, the headers and the audit line. */
    readonly id: string,
    readonly sql: string,
    /** Its answer format (the metrics' kind). */
    readonly kind: string,
    clientGone: AbortSignal,
    private readonly leaveRegistry: () => void,
  ) {
    this.signal = AbortSignal.any([clientGone, this.controller.signal]);
  }

  /** For the executor: rows gathered so far from `table`. */
  readonly progress = (table: string, rows: number): void => {
    this.gathered.set(table, rows);
  };

  cancel(): void {
    this.controller.abort(
      new QueryError('cancelled', `query ${this.id} was cancelled (DELETE /queries/${this.id})`),
    );
  }

  /** Once its answer is over: HTTP status, and whether the answer was sent whole. */
  leave(status: number, complete: boolean): void {
    this.leaveRegistry();
    const outcome = complete && status < 400 ? 'ok' : status === 499 || !complete ? 'cancelled' : 'error';
    observeQuery(outcome, this.kind, (Date.now() - this.started.getTime()) / 1000, this.stats?.tables ?? []);
  }

  toJSON() {
    return {
      query_id: this.id,
      query: this.sql,
      started: this.started.toISOString(),
      elapsed_ms: Date.now() - this.started.getTime(),
      tables: Object.fromEntries(this.gathered),
      rows_gathered: [...this.gathered.values()].reduce((a, b) => a + b, 0),
      rows_sent: this.rows,
    };
  }
}

export class QueryRegistry {
  private readonly running = new Map<string, RunningQuery>();

  /** Registers a query; `leave()` must follow when its answer is done. */
  enter(id: string, sql: string, kind: string, clientGone: AbortSignal): RunningQuery {
    const query: RunningQuery = new RunningQuery(id, sql, kind, clientGone, () => {
      this.running.delete(query.id);
      runningQueries.set(this.running.size);
    });
    this.running.set(query.id, query);
    runningQueries.set(this.running.size);
    return query;
  }

  list(): RunningQuery[] {
    return [...this.running.values()];
  }

  get size(): number {
    return this.running.size;
  }

  /** Cancels query `id`; 404 when no such query runs. */
  cancel(id: string): RunningQuery {
    const query = this.running.get(id);
    if (!query) {
      throw new QueryError(
        'not_found',
        `no running query has the id ${id}; it may have finished already (GET /queries lists those running)`,
      );
    }
    query.cancel();
    return query;
  }
}

const RunningQueryBody = z.object({
  query_id: z.string(),
  query: z.string(),
  started: z.string(),
  elapsed_ms: z.number(),
  tables: z.record(z.string(), z.number()),
  rows_gathered: z.number(),
  rows_sent: z.number(),
});

/** GET /queries and DELETE /queries/:id. */
export function registerQueryRoutes(app: FastifyInstance, queries: QueryRegistry): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.get(
    '/queries',
    {
      schema: {
        description: 'The queries running now: id, SQL, start, rows gathered per table and rows sent so far.',
        response: { 200: z.object({ queries: z.array(RunningQueryBody) }) },
      },
    },
    () => ({ queries: queries.list().map((q) => q.toJSON()) }),
  );
  typed.delete(
    '/queries/:id',
    {
      schema: {
        description:
          'Cancels a running query (its scans too); it answers 499 {"error": "cancelled"}. 404 when no query has that id.',
        params: z.object({ id: z.string() }),
        response: { 200: z.object({ query_id: z.string(), cancelled: z.boolean() }), 404: ErrorBody },
      },
    },
    (request) => ({ query_id: queries.cancel(request.params.id).id, cancelled: true }),
  );
}
