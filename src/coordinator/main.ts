/** `duckdb-s3-query coordinator`: wires config, NATS, the catalog, DuckDB and HTTP together. */
import { setTimeout as delay } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { Admission } from '../admission.js';
import { loadApiKeys } from '../auth/api-keys.js';
import { withContainerKeys } from '../auth/container-keys.js';
import { type CoordinatorOptions, type NatsOptions, readClusterConfig } from '../config.js';
import { QueryPathProbe } from '../duckdb/probe.js';
import { createLogger } from '../log.js';
import { observeQueue } from '../metrics/coordinator.js';
import { connectNats as connectToNats } from '../nats/connect.js';
import { redactUrl } from '../redact.js';
import { onShutdown } from '../shutdown.js';
import { logStrayRejections } from '../stray-rejections.js';
import { Catalog } from './catalog/catalog.js';
import { ReferenceTables } from './catalog/reference-tables.js';
import { CoordinatorEngine } from './execute/engine.js';
import type { ExecutorContext } from './execute/query.js';
import { buildCoordinatorApp } from './http/http.js';
import { startPgPort } from './pg-wire/start.js';
import { AnalysisCache } from './plan/analysis-cache.js';

const CATALOG_REFRESH_MS = 5_000;
/** How long startup waits for NATS before HTTP opens without it. */
const FIRST_NATS_WAIT_MS = 3_000;

/**
 * Connects to NATS, retrying until a server answers (an invalid URL fails at once). Until
 * then the coordinator serves its config.json tables and its health; NATS tables appear as
 * soon as it connects, so the start order of a deployment does not matter.
 */
async function connectNats(nats: NatsOptions, log: ReturnType<typeof createLogger>): Promise<NatsConnection> {
  const waiting = setTimeout(
    () => log.warn('waiting for NATS; retrying', { url: redactUrl(nats.url) }),
    2_000,
  );
  const nc = await connectToNats(nats, {
    role: 'coordinator',
    name: 'duckdb-s3-query-coordinator',
    log,
    connection: { waitOnFirstConnect: true },
  })
    .catch((err: Error) => {
      throw new Error(`${err.message}; fix --nats / NATS_URL and the --nats-* options`);
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
  const apiKeys = await loadApiKeys(opts.apiKeys);
  const config = opts.config ? withContainerKeys(await readClusterConfig(opts.config), apiKeys) : undefined;
  if (!config && !opts.nats) {
    throw new Error('nothing to query: give --config config.json, or --nats URL (or NATS_URL) for discovery');
  }
  const engine = await CoordinatorEngine.create({
    memoryLimit: opts.memoryLimit,
    threads: opts.threads,
    spill: opts,
  });
  const admission = new Admission({
    maxRunning: opts.maxConcurrentQueries,
    maxQueued: opts.maxQueuedQueries,
  });
  observeQueue(admission);
  const catalog = new Catalog(config, undefined, log);
  const ctx: ExecutorContext = {
    engine,
    catalog,
    natsUrl: opts.nats && redactUrl(opts.nats.url),
    analyses: new AnalysisCache(),
    timeoutMs: opts.timeoutMs,
    pushdown: opts.pushdown,
    twoWayReductions: opts.twoWayReductions,
    holdAboveRows: opts.holdAboveRows,
    sendAtOnceRows: opts.sendAtOnceRows,
    references: new ReferenceTables(
      engine,
      { maxRows: opts.referenceTableRows, maxBytes: opts.referenceTableBytes },
      log,
    ),
    admission,
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
  const app = await buildCoordinatorApp(ctx, {
    maxJsonRows: opts.maxJsonRows,
    maxJsonBytes: opts.maxJsonBytes,
    log,
    security: { apiKeys, auditSql: opts.auditSql },
    probe: new QueryPathProbe(() => engine.connect()),
  });
  // Before HTTP, so that a healthy coordinator has its Postgres port open too.
  const pg = await startPgPort(ctx, opts, log, apiKeys && ((key) => apiKeys.verify(key)));
  await app.listen({ port: opts.port, host: opts.host });
  log.info('coordinator listening', {
    url: `http://${opts.host}:${opts.port}`,
    tables:
      catalog
        .list()
        .map((t) => `${t.name}(${t.transport})`)
        .join(',') || 'none yet',
    pushdown: opts.pushdown,
    api_keys: apiKeys ? apiKeys.count : 'none: anyone who reaches this port may query (--api-keys)',
  });
  if (connecting && !early) void connecting.then(attach);
  logStrayRejections(log);
  onShutdown(log, async () => {
    admission.close();
    catalog.stop();
    await pg?.close();
    await app.close();
    await ctx.nc?.drain().catch(() => undefined);
    await engine.close();
  });
}
