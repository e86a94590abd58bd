/**
 * GET /ui: the web console, static files built by `npm run build` (scripts/build-ui.mjs) into
 * dist/ui. They hold no data, so they are served without an API key; the page asks for one
 * when the API does.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

/** From dist/coordinator/ui, the bundle is in dist/ui. */
const ASSET_DIR = new URL('../../ui/', import.meta.url);

async function loadAssets(): Promise<Map<string, Buffer> | undefined> {
  try {
    const entries = await Promise.all(
      Object.keys(ASSETS).map(async (name) => [name, await readFile(new URL(name, ASSET_DIR))] as const),
    );
    return new Map(entries);
  } catch {
    return undefined;
  }
}

export async function registerConsole(app: FastifyInstance): Promise<void> {
  const assets = await loadAssets();
  const send = (name: string) => {
    const body = assets?.get(name);
    if (!body) {
      return {
        status: 503,
        body: { error: 'unavailable', message: 'the web console is not built: run `npm run build`' },
      };
    }
    return { status: 200, body, type: ASSETS[name] };
  };
  const routeOptions = { schema: { hide: true }, config: { public: true } };
  app.get('/ui', routeOptions, (_request, reply) => {
    const answer = send('index.html');
    return reply
      .status(answer.status)
      .type(answer.type ?? 'application/json')
      .send(answer.body);
  });
  app.get<{ Params: { name: string } }>('/ui/assets/:name', routeOptions, (request, reply) => {
    if (!(request.params.name in ASSETS) || request.params.name === 'index.html') {
      return reply
        .status(404)
        .send({ error: 'not_found', message: `no console asset ${request.params.name}` });
    }
    const answer = send(request.params.name);
    return reply
      .status(answer.status)
      .header('cache-control', 'no-cache')
      .type(answer.type ?? 'application/json')
      .send(answer.body);
  });
}
