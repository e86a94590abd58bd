/**
 * `serve`: HTTP first (health answers 503 while loading), then load the table from S3, then
 * ready (and the NATS service when --nats is set). A load that fails ends the process with
 * one line saying what and where, so it never serves a wrong or partial table.
 */
import { Admission } from '../admission.js';
import { loadApiKeys } from '../auth/api-keys.js';
import type { ServeOptions } from '../config.js';
import { createLogger } from '../log.js';
import { observeTableLoaded } from '../metrics/container.js';
import { watchDuckDBMemory } from '../metrics/registry.js';
import { isSplit, servedSubject, shardLabel } from '../protocol/shards.js';
import { redactUrl } from '../redact.js';
import { onShutdown } from '../shutdown.js';
import { logStrayRejections } from '../stray-rejections.js';
import { createHttpApp } from './http.js';
import { loadTable } from './load.js';
import type { TableService } from './nats-service.js';
import type { LoadedTable } from './table.js';
import { connect } from './table.js';

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

export async function runServe(opts: ServeOptions): Promise<void> {
  const log = createLogger(`serve:${opts.tableName}`);
  let table: LoadedTable | undefined;
  let service: TableService | undefined;

  const limits = { timeoutMs: opts.queryTimeoutMs, maxRows: opts.maxJsonRows };
  const apiKeys = await loadApiKeys(opts.apiKeys);
  const security = { apiKeys, auditSql: opts.auditSql };
  const admission = new Admission({
    maxRunning: opts.maxConcurrentQueries,
    maxQueued: opts.maxQueuedQueries,
  });
  const served = { name: opts.tableName, shard: opts.shard };
  const app = await createHttpApp(served, () => table, log, limits, security, admission);
  try {
    await app.listen({ port: opts.port, host: opts.host });
  } catch (err) {
    log.error(`cannot listen on ${opts.host}:${opts.port}: ${oneLine(err)}`);
    process.exit(1);
  }
  log.info('HTTP listening; /health answers 503 until the table is loaded', {
    url: `http://${opts.host}:${opts.port}`,
    api_keys: apiKeys ? apiKeys.count : 'none: anyone who reaches this port may query (--api-keys)',
  });

  logStrayRejections(log);
  onShutdown(log, async () => {
    admission.close();
    await service
      ?.stop()
      .catch((err: unknown) => log.warn('NATS service stop failed', { error: oneLine(err) }));
    await app.close();
  });

  try {
    table = await loadTable({
      urls: opts.urls,
      tableName: opts.tableName,
      s3Endpoint: opts.s3Endpoint,
      shard: opts.shard,
      memoryLimit: opts.memoryLimit,
      threads: opts.threads,
      spill: opts,
      log,
    });
  } catch (err) {
    log.error(`cannot load table ${opts.tableName}: ${oneLine(err)}`);
    process.exit(1);
  }
  observeTableLoaded(table.name, table.rowCount, table.loadTimeMs);
  const loaded = table;
  watchDuckDBMemory(() => connect(loaded));
  if (opts.nats) {
    // Imported only when asked for: the NATS client is memory a plain HTTP container can skip.
    const { startTableService } = await import('./nats-service.js');
    service = await startTableService(table, opts.nats, log, limits);
  }
  const subjects = servedSubject(table.name, table.shard, 'scan').replace(/scan$/, 'scan|metadata|query');
  log.info('serving', {
    table: table.name,
    shard: isSplit(table.shard) ? shardLabel(table.shard) : undefined,
    rows: table.rowCount,
    version: table.version || undefined,
    http: `http://${opts.host}:${opts.port} (/query /metadata /scan /docs)`,
    nats: opts.nats ? `${redactUrl(opts.nats.url)} (${subjects})` : undefined,
  });
}
