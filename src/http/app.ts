/**
 * The fastify setup both servers share: zod schemas as the type provider, OpenAPI at
 * /docs/json with a UI at /docs, and every error as `{"error": kind, "message": ...}` with a
 * fitting status, so that no request can take a server down. Also the guards every request
 * passes: API keys (when configured), JSON-only bodies, and an audit line per query.
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiKeys } from '../auth/api-keys.js';
import { kindForStatus, publicError, QueryError } from '../errors.js';
import type { Logger } from '../log.js';
import { type AuditSql, auditQueries } from './audit.js';
import { BEARER_SCHEME, requireApiKeys } from './auth.js';
import { acceptJsonAndSqlBodies, SQL_CONTENT_TYPE } from './content-types.js';
import { logRequests } from './request-log.js';

/** Who may call, and what the audit line keeps (`--api-keys`/API_KEYS, `--audit-sql`). */
export interface HttpSecurity {
  apiKeys?: ApiKeys;
  auditSql: AuditSql;
}

/** Apps built without options (tests, benches): no keys, the SQL text in audit lines. */
const OPEN: HttpSecurity = { auditSql: 'text' };

export const ErrorBody = z.object({
  error: z.string().describe('what kind of failure, e.g. syntax_error, unknown_table, forbidden'),
  message: z.string().describe('what went wrong and how to fix it'),
});

const FORMAT_HINT = 'send JSON like {"query": "SELECT 1"}; see /docs';

/** A one-line, actionable message for fastify's own request errors. */
function requestErrorMessage(err: FastifyError, request: FastifyRequest): string {
  switch (err.code) {
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return `the request body is empty; ${FORMAT_HINT}`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `unsupported content type ${JSON.stringify(request.headers['content-type'] ?? '')}: send the body as JSON (Content-Type: application/json), or raw SQL to POST /query as ${SQL_CONTENT_TYPE}; ${FORMAT_HINT}`;
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
  security?: HttpSecurity;
}): Promise<FastifyInstance> {
  const security = opts.security ?? OPEN;
  // forceCloseConnections: a client that dropped a finished stream must not hold up close().
  // fastify's own lines (and request.log) go to our pino; the request lines are ours, below.
  const app = Fastify({
    loggerInstance: opts.log.pino as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    bodyLimit: 8 * 1024 * 1024,
    forceCloseConnections: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  acceptJsonAndSqlBodies(app);
  // Before the key check, so that refused queries get their audit line too.
  auditQueries(app, opts.log.child('audit'), security.auditSql);
  if (security.apiKeys) requireApiKeys(app, security.apiKeys, opts.log);

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
      return reply.status(status).send({
        error: status === 415 ? 'unsupported_media_type' : kindForStatus(status),
        message: requestErrorMessage(err, request),
      });
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
  logRequests(app, opts.log);

  // Swagger first: routes registered before it are left out of the spec.
  await app.register(swagger, {
    openapi: {
      info: { title: opts.title, description: opts.description, version: '0.1.0' },
      components: {
        securitySchemes: {
          [BEARER_SCHEME]: {
            type: 'http',
            scheme: 'bearer',
            description:
              'An API key, needed on every request but GET /health when the server runs with --api-keys or API_KEYS',
          },
        },
      },
      security: [{ [BEARER_SCHEME]: [] }],
    },
    transform: (route) => {
      const transformed = jsonSchemaTransform(route);
      // The health probe is open to all.
      if (route.url === '/health') return { ...transformed, schema: { ...transformed.schema, security: [] } };
      return transformed;
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  return app;
}
