/**
 * The fastify setup both servers share: zod schemas as the type provider, OpenAPI at
 * /docs/json with a UI at /docs, and every error as `{"error": kind, "message": ...}` with a
 * fitting status, so that no request can take a server down.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { kindForStatus, publicError, QueryError } from '../errors.js';
import type { Logger } from '../log.js';
import { roundMs } from '../timing.js';

export const ErrorBody = z.object({
  error: z.string().describe('what kind of failure, e.g. syntax_error, unknown_table, forbidden'),
  message: z.string().describe('what went wrong and how to fix it'),
});

const FORMAT_HINT = 'send JSON like {"query": "SELECT 1"}; see /docs';

/** A one-line, actionable message for fastify's own request errors. */
function requestErrorMessage(err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return `the request body is empty; ${FORMAT_HINT}`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `unsupported content type: send the body as JSON (Content-Type: application/json); ${FORMAT_HINT}`;
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return `the request body is not valid JSON (${err.message}); ${FORMAT_HINT}`;
    default:
      return `${err.message}; ${FORMAT_HINT}`;
  }
}

export async function createApp(opts: {
  title: string;
  description: string;
  log: Logger;
}): Promise<FastifyInstance> {
  // forceCloseConnections: a client that dropped a finished stream must not hold up close().
  const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024, forceCloseConnections: true });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // `curl -d '{"query": ...}'` sends form encoding: read such bodies as JSON too.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    ['text/plain', 'application/x-www-form-urlencoded'],
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof QueryError) {
      if (err.status >= 500)
        opts.log.warn('request failed', { id: request.id, url: request.url, error: err.message });
      if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
      return reply.status(err.status).send(publicError(err, String(request.id)).toJSON());
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      return reply
        .status(400)
        .send({ error: 'bad_request', message: `invalid request: ${err.message}; ${FORMAT_HINT}` });
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply
        .status(status === 415 ? 400 : status)
        .send({ error: kindForStatus(status), message: requestErrorMessage(err) });
    }
    opts.log.error('request failed', {
      id: request.id,
      method: request.method,
      url: request.url,
      error: err.message,
    });
    return reply.status(500).send(publicError(err, String(request.id)).toJSON());
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url}; see /docs` }),
  );
  app.addHook('onResponse', (request, reply, done) => {
    if (request.url !== '/health') {
      opts.log.info('request', {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: roundMs(reply.elapsedTime),
      });
    }
    done();
  });

  // Swagger first: routes registered before it are left out of the spec.
  await app.register(swagger, {
    openapi: { info: { title: opts.title, description: opts.description, version: '0.1.0' } },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  return app;
}
