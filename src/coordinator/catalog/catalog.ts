/**
 * Which tables the coordinator can reach and where: tables named in config.json are reached
 * over HTTP at their URL; every other table is found through NATS discovery ($SRV.INFO).
 * Refreshed in the background, and on demand when a query names a table not seen yet.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { bearerHeader } from '../../auth/api-keys.js';
import { containerRefusedKey } from '../../auth/container-keys.js';
import type { ClusterConfig } from '../../config.js';
import type { Logger } from '../../log.js';
import { discoverTrustedTables } from '../../nats/trusted-discovery.js';
import { isSplit } from '../../protocol/shards.js';
import { instanceMetadataSchema } from '../../protocol/table-metadata.js';
import { onConnectionEvent } from '../../scan-client/connection-events.js';
import { issuesText } from '../../zod-issues.js';
import { type CatalogTable, natsCatalogTable } from './catalog-table.js';

export type { CatalogPart, CatalogTable, Transport } from './catalog-table.js';

const METADATA_TIMEOUT_MS = 3_000;
/** After a reconnect, discovery runs at once and again after these delays. */
const RECONNECT_REFRESHES_MS = [500, 1_500, 3_000];

function baseUrl(entry: ClusterConfig['tables'][string]): string {
  const url = new URL(entry.url);
  if (entry.port !== undefined) url.port = String(entry.port);
  return url.toString().replace(/\/+$/, '');
}

async function fetchHttpTable(name: string, entry: ClusterConfig['tables'][string]): Promise<CatalogTable> {
  const location = baseUrl(entry);
  const base: CatalogTable = {
    name,
    columns: [],
    rowCount: 0,
    transport: 'http',
    location,
    remoteName: entry.table_name ?? name,
    instances: 1,
    apiKey: entry.api_key,
  };
  try {
    const response = await fetch(`${location}/metadata`, {
      headers: bearerHeader(entry.api_key),
      signal: AbortSignal.timeout(METADATA_TIMEOUT_MS),
    });
    if (response.status === 401) return { ...base, error: containerRefusedKey(location, !!entry.api_key) };
    if (!response.ok) return { ...base, error: `${location}/metadata answered ${response.status}` };
    const meta = instanceMetadataSchema.safeParse(await response.json());
    if (!meta.success) {
      return {
        ...base,
        error: `${location}/metadata is not a table's metadata (${issuesText(meta.error, 'body')})`,
      };
    }
    const { columns, row_count: rowCount, shard } = meta.data;
    if (isSplit(shard)) {
      // config.json names one container per table: the other parts' rows would be missing.
      const error = `${location} serves only part ${shard.index} of ${shard.count} of it; serve the whole table there, or reach the parts over NATS`;
      return { ...base, columns, rowCount, error };
    }
    return { ...base, columns, rowCount };
  } catch (err) {
    return { ...base, error: `${location} did not answer (${(err as Error).message})` };
  }
}

export class Catalog {
  private tables = new Map<string, CatalogTable>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private stopWatching: (() => void) | undefined;

  constructor(
    private readonly config: ClusterConfig | undefined,
    private nc: NatsConnection | undefined,
    private readonly log: Logger,
  ) {}

  /**
   * Discovery through `nc` from now on (a connection made after startup), refreshed at once,
   * and again as soon as the connection comes back after a drop.
   */
  attachNats(nc: NatsConnection): Promise<void> {
    this.nc = nc;
    this.stopWatching?.();
    this.stopWatching = onConnectionEvent(nc, (event) => {
      if (event === 'reconnect') this.refreshAfterReconnect();
    });
    return this.refresh();
  }

  /** Re-reads every source; concurrent callers share one refresh. */
  refresh(): Promise<void> {
    this.refreshing ??= this.load().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * A refresh that starts after the one under way (begun while the connection was down, it
   * saw nothing), then again a little later: containers come back on their own reconnect,
   * which may follow ours.
   */
  private refreshAfterReconnect(): void {
    const fresh = () =>
      (this.refreshing ?? Promise.resolve())
        .then(() => this.refresh())
        .catch((err: unknown) => this.log.warn('catalog refresh failed', { error: err }));
    void fresh();
    for (const ms of RECONNECT_REFRESHES_MS) setTimeout(fresh, ms).unref();
  }

  private async load(): Promise<void> {
    const next = new Map<string, CatalogTable>();
    if (this.nc && !this.nc.isClosed()) {
      for (const t of await discoverTrustedTables(this.nc).catch(() => [])) {
        next.set(t.name.toLowerCase(), natsCatalogTable(t));
      }
    }
    // A table whose containers all went away stays known, so queries get 503, not "unknown table".
    for (const [key, before] of this.tables) {
      if (before.transport === 'nats' && !next.has(key)) {
        next.set(key, {
          ...before,
          instances: 0,
          // Already gone: its message keeps the time since when. (Other errors no longer apply.)
          error:
            before.instances === 0 && before.error
              ? before.error
              : `no data container answers on ${before.location} since ${new Date().toISOString()}`,
        });
      }
    }
    // config.json wins over discovery for the tables it names.
    const configured = await Promise.all(
      Object.entries(this.config?.tables ?? {}).map(([name, entry]) => fetchHttpTable(name, entry)),
    );
    for (const t of configured) next.set(t.name.toLowerCase(), t);
    for (const name of next.keys()) {
      if (!this.tables.has(name))
        this.log.info('table available', { table: name, via: next.get(name)?.transport });
    }
    for (const [name, table] of next) {
      if (table.error && !this.tables.get(name)?.error)
        this.log.warn('table cannot be queried', { table: name, error: table.error });
    }
    this.tables = next;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.refresh().catch((err) => this.log.warn('catalog refresh failed', { error: err }));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.stopWatching?.();
  }

  get(name: string): CatalogTable | undefined {
    return this.tables.get(name.toLowerCase());
  }

  list(): CatalogTable[] {
    return [...this.tables.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
