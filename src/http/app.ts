/**
 * The fastify setup both servers share: zod schemas as the type provider, OpenAPI at
 * /docs/json with a UI at /docs, and every error as `{"error": kind, "message": ...}`.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ErrorKind, QueryError } from '../errors.js';
import type { Logger } from '../log.js';

export const ErrorBody = z.object({ error: z.string(), message: z.string() });

/** Fastify's own errors (bad JSON, empty body, wrong content type) as clear client errors. */
function fastifyErrorToQueryError(err: FastifyError): QueryError {
  if (err.code === 'FST_ERR_VALIDATION') {
    return new QueryError('bad_request', `invalid request body: ${err.message}`);
  }
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return new QueryError('bad_request', 'the request body is empty; send JSON like {"query": "SELECT 1"}');
  }
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new QueryError(
      'bad_request',
      `unsupported content type; send Content-Type: application/json with a body like {"query": "SELECT 1"}`,
    );
  }
  if (err.statusCode && err.statusCode < 500) {
    const kind: ErrorKind = err.statusCode === 413 ? 'result_too_large' : 'bad_request';
    return Object.assign(new QueryError(kind, err.message), { status: err.statusCode });
  }
  return new QueryError('internal', err.message);
}

export async function createApp(opts: {
  title: string;
  description: string;
  log: Logger;
}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: { info: { title: opts.title, description: opts.description, version: '0.1.0' } },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const error = err instanceof QueryError ? err : fastifyErrorToQueryError(err);
    if (error.status >= 500) opts.log.error('request failed', { url: request.url, error: error.message });
    reply.status(error.status).send(error.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url}; see /docs` });
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (request.url !== '/health') {
      opts.log.info('request', {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      });
    }
    done();
  });
  return app;
}
