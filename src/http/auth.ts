/**
 * API keys on HTTP: with keys configured, every request but `GET /health` (which probes of
 * orchestrators send without credentials) and the console's static files needs
 * `Authorization: Bearer <key>`; anything else is 401 before its body is read. The verified key's id is kept on the request for the audit line.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ApiKeys, bearerKey } from '../auth/api-keys.js';
import type { Logger } from '../log.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The id of the API key the request came with (set when the server has keys). */
    apiKeyId?: string;
  }
  interface FastifyContextConfig {
    /** Served without a key: the route holds no data (the console's static files). */
    public?: boolean;
  }
}

export const BEARER_SCHEME = 'bearerAuth';

const HOW_TO =
  "send the header `Authorization: Bearer <key>` with a key from the server's --api-keys file or API_KEYS";

function isPublic(request: FastifyRequest): boolean {
  if (request.routeOptions.config?.public) return true;
  return (request.method === 'GET' || request.method === 'HEAD') && request.routeOptions.url === '/health';
}

/** Why the request is refused, or undefined with its key id set. */
function refusal(request: FastifyRequest, keys: ApiKeys): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return `this server needs an API key: ${HOW_TO}`;
  const key = bearerKey(header);
  if (key === undefined) return `the Authorization header is not \`Bearer <key>\`: ${HOW_TO}`;
  const verified = keys.verify(key);
  if (!verified) return `the API key is not one this server accepts: ${HOW_TO}`;
  request.apiKeyId = verified.keyId;
  return undefined;
}

export function requireApiKeys(app: FastifyInstance, keys: ApiKeys, log: Logger): void {
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (isPublic(request)) return;
    const message = refusal(request, keys);
    if (message === undefined) return;
    log.warn('unauthorized request', { method: request.method, url: request.url, client: request.ip });
    return reply.status(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message });
  });
}
