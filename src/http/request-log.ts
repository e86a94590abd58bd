/**
 * A line per request but health probes and queries (which get their audit line,
 * src/http/audit.ts): method, url, status, ms; and a line for every answer its client left
 * before the end (a stream cut short by the reader), with the bytes it had been sent.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../log.js';
import { roundMs } from '../timing.js';

function logged(request: FastifyRequest): boolean {
  return request.routeOptions.url !== '/health' && request.routeOptions.url !== '/query';
}

function line(request: FastifyRequest, reply: FastifyReply) {
  return {
    method: request.method,
    url: request.url,
    client: request.ip,
    status: reply.statusCode,
    ms: roundMs(reply.elapsedTime),
  };
}

export function logRequests(app: FastifyInstance, log: Logger): void {
  app.addHook('onRequest', (request, reply, done) => {
    if (logged(request)) {
      const before = request.raw.socket?.bytesWritten ?? 0;
      reply.raw.once('close', () => {
        if (reply.raw.writableFinished) return;
        const after = request.raw.socket?.bytesWritten ?? before;
        log.info('client left before the answer was complete', {
          ...line(request, reply),
          bytes: after - before,
        });
      });
    }
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (logged(request)) log.info('request', line(request, reply));
    done();
  });
}
