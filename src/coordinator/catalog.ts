/**
 * Which tables the coordinator can reach and where: tables named in config.json are reached
 * over HTTP at their URL; every other table is found through NATS discovery ($SRV.INFO).
 * Refreshed in the background, and on demand when a query names a table not seen yet.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { bearerHeader } from '../auth/api-keys.js';
import { containerRefusedKey } from '../auth/container-keys.js';
import type { ClusterConfig } from '../config.js';
import type { TableColumn } from '../data-container/table.js';
import type { Logger } from '../log.js';
import { discoverTrustedTables } from '../nats/trusted-discovery.js';
import type { ColumnRange } from '../protocol/shards.js';
import { subjectFor } from '../protocol/subjects.js';
import { onConnectionEvent } from '../scan-client/connection-events.js';
import type { DiscoveredTable } from '../scan-client/discovery.js';

export type Transport = 'nats' | 'http';

export interface CatalogTable {
  /** The name queries use. */
  name: string;
  columns: TableColumn[];
  rowCount: number;
  transport: Transport;
  /** The container's base URL (http) or scan subject (nats). */
  location: string;
  /** The table's name inside its container (config.json's `table_name`). */
  remoteName: string;
  /** NATS instances serving it (replicas), 1 for HTTP. */
  instances: number;
  /** The API key sent to its HTTP data container (config.json, src/auth/container-keys.ts). */
  apiKey?: string;
  /** Set when a config.json table's container did not answer its last metadata request. */
  error?: string;
  /** For a table split into parts (NATS only): every part, in index order. */
  parts?: CatalogPart[];
}

/** One part of a split table (protocol/shards.ts). */
export interface CatalogPart {
  index: number;
  /** Its scan subject, `duckdb.<table>.<I>.scan`. */
  subject: string;
  /** Live replicas serving it. */
  instances: number;
  rowCount: number;
  /** The replicas' data version (they agree, or the table is refused). */
  version: string;
  /** Per column, its range in this part, for pruning; a column left out has no known range. */
  columnRanges: Record<string, ColumnRange | null>;
}

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
    const meta = (await response.json()) as { columns: TableColumn[]; row_count: number };
    return { ...base, columns: meta.columns, rowCount: meta.row_count };
  } catch (err) {
    return { ...base, error: `${location} did not answer (${(err as Error).message})` };
  }
}

/**
 * Containers that hold different parts of one table (different `--shard` labels) answer its
 * subjects as one queue group: a scan would reach one part and miss the others' rows, so the
 * table is refused rather than answered in part.
 */
function splitError(table: DiscoveredTable): { error: string } | undefined {
  const shards = [...new Set(table.instances.map((i) => i.shard))].sort();
  if (shards.length < 2) return undefined;
  return {
    error:
      `its ${table.instances.length} data containers hold different parts of it (shards ${shards.join(', ')}), ` +
      'and a scan reaches only one of them: serve each part as its own table (--table-name) and ' +
      'UNION ALL them in SQL, or load the whole table in every container',
  };
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
        next.set(t.name.toLowerCase(), {
          name: t.name,
          columns: t.columns,
          rowCount: t.rowCount,
          transport: 'nats',
          location: subjectFor(t.name, 'scan'),
          remoteName: t.name,
          instances: t.instances.length,
          ...splitError(t),
        });
      }
    }
    // A table whose containers all went away stays known, so queries get 503, not "unknown table".
    for (const [key, before] of this.tables) {
      if (before.transport === 'nats' && !next.has(key)) {
        next.set(key, {
          ...before,
          instances: 0,
          // Already gone: its message keeps the time since when. (A split table's error no longer applies.)
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
