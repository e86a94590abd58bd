/** `duckdb-s3-query coordinator`: wires config, NATS, the catalog, DuckDB and HTTP together. */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type CoordinatorOptions, readClusterConfig } from '../config.js';
import { createLogger } from '../log.js';
import { AnalysisCache } from './analysis-cache.js';
import { Catalog } from './catalog.js';
import { CoordinatorEngine } from './engine.js';
import { buildCoordinatorApp } from './http.js';

const CATALOG_REFRESH_MS = 5_000;

async function connectNats(url: string, log: ReturnType<typeof createLogger>): Promise<NatsConnection> {
  const nc = await connect({
    servers: url,
    name: 'duckdb-s3-query-coordinator',
    maxReconnectAttempts: -1,
  }).catch((err: Error) => {
    throw new Error(
      `cannot connect to NATS at ${url} (${err.message}); start nats-server or fix --nats / NATS_URL`,
    );
  });
  log.info('connected to NATS', { server: nc.getServer() });
  (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect') log.warn(`NATS ${status.type}`);
    }
  })().catch(() => undefined);
  return nc;
}

export async function runCoordinator(opts: CoordinatorOptions): Promise<void> {
  const log = createLogger('coordinator');
  const config = opts.config ? await readClusterConfig(opts.config) : undefined;
  if (!config && !opts.nats) {
    throw new Error('nothing to query: give --config config.json, or --nats URL (or NATS_URL) for discovery');
  }
  const nc = opts.nats ? await connectNats(opts.nats, log) : undefined;
  const engine = await CoordinatorEngine.create(opts.memoryLimit);
  const catalog = new Catalog(config, nc, log);
  await catalog.refresh();
  catalog.start(CATALOG_REFRESH_MS);
  const app = await buildCoordinatorApp(
    {
      engine,
      catalog,
      nc,
      analyses: new AnalysisCache(),
      timeoutMs: opts.timeoutMs,
      pushdown: opts.pushdown,
    },
    { maxJsonRows: opts.maxJsonRows, log },
  );
  await app.listen({ port: opts.port, host: opts.host });
  log.info('coordinator listening', {
    url: `http://${opts.host}:${opts.port}`,
    tables:
      catalog
        .list()
        .map((t) => `${t.name}(${t.transport})`)
        .join(',') || 'none yet',
    pushdown: opts.pushdown,
  });
  const shutdown = async (signal: string) => {
    log.info('shutting down', { signal });
    catalog.stop();
    await app.close();
    await nc?.drain().catch(() => undefined);
    engine.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}
