/** `duckdb-s3-query coordinator`: wires config, NATS, the catalog, DuckDB and HTTP together. */
import { setTimeout as delay } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type CoordinatorOptions, readClusterConfig } from '../config.js';
import { createLogger } from '../log.js';
import { AnalysisCache } from './analysis-cache.js';
import { Catalog } from './catalog.js';
import { CoordinatorEngine } from './engine.js';
import type { ExecutorContext } from './execute.js';
import { buildCoordinatorApp } from './http.js';
import { startPgPort } from './pg-wire/start.js';

const CATALOG_REFRESH_MS = 5_000;
/** How long startup waits for NATS before HTTP opens without it. */
const FIRST_NATS_WAIT_MS = 3_000;

/**
 * Connects to NATS, retrying until a server answers (an invalid URL fails at once). Until
 * then the coordinator serves its config.json tables and its health; NATS tables appear as
 * soon as it connects, so the start order of a deployment does not matter.
 */
async function connectNats(url: string, log: ReturnType<typeof createLogger>): Promise<NatsConnection> {
  const waiting = setTimeout(() => log.warn('waiting for NATS; retrying', { url }), 2_000);
  const nc = await connect({
    servers: url,
    name: 'duckdb-s3-query-coordinator',
    waitOnFirstConnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
  })
    .catch((err: Error) => {
      throw new Error(`cannot connect to NATS at ${url} (${err.message}); fix --nats / NATS_URL`);
    })
    .finally(() => clearTimeout(waiting));
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
  const engine = await CoordinatorEngine.create(opts.memoryLimit);
  const catalog = new Catalog(config, undefined, log);
  const ctx: ExecutorContext = {
    engine,
    catalog,
    natsUrl: opts.nats,
    analyses: new AnalysisCache(),
    timeoutMs: opts.timeoutMs,
    pushdown: opts.pushdown,
  };
  const attach = async (nc: NatsConnection) => {
    ctx.nc = nc;
    await catalog.attachNats(nc);
  };
  // NATS that is up is joined before HTTP opens, so that its tables are known when /health
  // first answers; NATS that is not keeps being tried while HTTP serves.
  const connecting = opts.nats ? connectNats(opts.nats, log) : undefined;
  connecting?.catch((err: Error) => {
    log.error(err.message);
    process.exit(1);
  });
  const early = await Promise.race([connecting, delay(FIRST_NATS_WAIT_MS).then(() => undefined)]);
  if (early) await attach(early);
  else await catalog.refresh();
  catalog.start(CATALOG_REFRESH_MS);
  const app = await buildCoordinatorApp(ctx, { maxJsonRows: opts.maxJsonRows, log });
  // Before HTTP, so that a healthy coordinator has its Postgres port open too.
  const pg = await startPgPort(ctx, opts, log);
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
  if (connecting && !early) void connecting.then(attach);
  const shutdown = async (signal: string) => {
    log.info('shutting down', { signal });
    catalog.stop();
    await pg?.close();
    await app.close();
    await ctx.nc?.drain().catch(() => undefined);
    await engine.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}
