/**
 * One audit line per `POST /query` (level info, `"msg":"query"`): query id, client address,
 * API key id (never the key), SQL hash and text (text left out with `--audit-sql hash`),
 * tables, rows, bytes sent, status, ms. Written when the response is done, or when the
 * client left before it was (then `client_left: true`), so a cut stream is accounted for too.
 * Refused requests (401, 415, 400) get their line as well. The route's handler adds what only
 * it knows with `auditQuery`.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../log.js';
import { roundMs } from '../timing.js';

export type AuditSql = 'text' | 'hash';

/** What the handler knows of a running query: its id, and `rows` streamed so far. */
export interface AuditedQuery {
  readonly id: string;
  readonly rows: number;
}

interface QueryFacts {
  query: AuditedQuery;
  tables: string[];
  /** Rows of a materialized answer, known before it is sent. */
  rowCount: () => number | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    queryAudit?: QueryFacts;
  }
}

/** Attaches the running query and its tables to the request's audit line. */
export function auditQuery(
  request: FastifyRequest,
  running: AuditedQuery,
  open: { sourceTables: string[]; result: { readonly rowCount?: number } },
): void {
  request.queryAudit = { query: running, tables: open.sourceTables, rowCount: () => open.result.rowCount };
}

export function sqlHash(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex').slice(0, 16);
}

function isQuery(request: FastifyRequest): boolean {
  return request.method === 'POST' && request.routeOptions.url === '/query';
}

function sqlOf(request: FastifyRequest): string | undefined {
  const query = (request.body as { query?: unknown } | undefined)?.query;
  return typeof query === 'string' ? query : undefined;
}

export function auditQueries(app: FastifyInstance, log: Logger, mode: AuditSql): void {
  const bytesBefore = new WeakMap<FastifyRequest, number>();
  const written = new WeakSet<FastifyRequest>();

  const write = (request: FastifyRequest, reply: FastifyReply, clientLeft: boolean) => {
    if (written.has(request)) return;
    written.add(request);
    const sql = sqlOf(request);
    const facts = request.queryAudit;
    const socketBytes = request.raw.socket?.bytesWritten;
    log.info('query', {
      query_id: facts?.query.id ?? request.id,
      client: request.ip,
      key_id: request.apiKeyId,
      sql_hash: sql === undefined ? undefined : sqlHash(sql),
      sql: mode === 'text' ? sql : undefined,
      tables: facts?.tables,
      rows: facts ? (facts.rowCount() ?? facts.query.rows) : undefined,
      bytes: socketBytes === undefined ? undefined : socketBytes - (bytesBefore.get(request) ?? 0),
      status: reply.statusCode,
      ms: roundMs(reply.elapsedTime),
      ...(clientLeft && { client_left: true }),
    });
  };

  app.addHook('onRequest', (request, reply, done) => {
    if (isQuery(request)) {
      bytesBefore.set(request, request.raw.socket?.bytesWritten ?? 0);
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) write(request, reply, true);
      });
    }
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (isQuery(request)) write(request, reply, false);
    done();
  });
}
