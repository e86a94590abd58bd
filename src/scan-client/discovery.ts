/**
 * Which tables the data containers on NATS serve: `$SRV.INFO.duckdb-table`, every instance
 * answers with its table, shard, columns and row count (see data-container/nats-service.ts).
 */
import { Svcm } from '@nats-io/services';
import { type NatsConnection, NoRespondersError } from '@nats-io/transport-node';
import type { TableColumn } from '../data-container/table.js';
import { SERVICE_NAME } from '../protocol/subjects.js';

export interface DiscoveredInstance {
  /** The micro service instance id. */
  id: string;
  shard: string;
  rowCount: number;
}

export interface DiscoveredTable {
  name: string;
  columns: TableColumn[];
  /** Rows over all shards (replicas of one shard counted once). */
  rowCount: number;
  instances: DiscoveredInstance[];
}

/** Every instance answers within `stallMs` of the previous answer, or the listing ends. */
export async function discoverTables(nc: NatsConnection, stallMs = 300): Promise<DiscoveredTable[]> {
  const tables = new Map<string, DiscoveredTable>();
  try {
    const infos = await new Svcm(nc)
      .client({ strategy: 'stall', stall: stallMs, maxWait: 5_000 })
      .info(SERVICE_NAME);
    for await (const info of infos) {
      const meta = info.metadata ?? {};
      if (!meta.table) continue;
      const instance = { id: info.id, shard: meta.shard ?? '0', rowCount: Number(meta.row_count ?? 0) };
      const table = tables.get(meta.table) ?? {
        name: meta.table,
        columns: parseColumns(meta.columns),
        rowCount: 0,
        instances: [],
      };
      table.instances.push(instance);
      tables.set(meta.table, table);
    }
  } catch (err) {
    if (!(err instanceof NoRespondersError)) throw err;
  }
  for (const table of tables.values()) {
    const shards = new Map(table.instances.map((i) => [i.shard, i.rowCount]));
    table.rowCount = [...shards.values()].reduce((a, b) => a + b, 0);
    table.instances.sort((a, b) => a.id.localeCompare(b.id));
  }
  return [...tables.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function parseColumns(json: string | undefined): TableColumn[] {
  try {
    const columns = JSON.parse(json ?? '[]') as TableColumn[];
    return Array.isArray(columns) ? columns : [];
  } catch {
    return [];
  }
}
