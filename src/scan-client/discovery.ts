/**
 * Which tables the data containers on NATS serve: `$SRV.INFO.duckdb-table`, every instance
 * answers with its table, shard, version, columns and row count (see data-container/nats-service.ts).
 */
import { Svcm } from '@nats-io/services';
import { type NatsConnection, NoRespondersError } from '@nats-io/transport-node';
import { type ColumnRange, parseShard, type ShardSpec, shardLabel, UNSPLIT } from '../protocol/shards.js';
import { SERVICE_NAME } from '../protocol/subjects.js';
import { type TableColumn, tableColumnSchema } from '../protocol/table-metadata.js';

export interface DiscoveredInstance {
  /** The micro service instance id. */
  id: string;
  /** Which part of the table it serves ({0, 1}: the whole table). */
  shard: ShardSpec;
  /** Its data version (a hash of the objects it loaded); replicas of one part agree. */
  version: string;
  columns: TableColumn[];
  rowCount: number;
  /** Per column, its range in this instance's part (empty when not reported). */
  columnRanges: Record<string, ColumnRange | null>;
}

export interface DiscoveredTable {
  name: string;
  /** The columns of its first instance (catalog.ts checks that all agree). */
  columns: TableColumn[];
  /** Rows over all parts, each part counted once (by its first replica). */
  rowCount: number;
  /** Sorted by id. */
  instances: DiscoveredInstance[];
}

/** Instances grouped into tables, by name. */
export function tablesOf(
  instances: Iterable<{ table: string; instance: DiscoveredInstance }>,
): DiscoveredTable[] {
  const tables = new Map<string, DiscoveredTable>();
  for (const { table: name, instance } of instances) {
    const table = tables.get(name) ?? { name, columns: [], rowCount: 0, instances: [] };
    table.instances.push(instance);
    tables.set(name, table);
  }
  for (const table of tables.values()) {
    table.instances.sort((a, b) => a.id.localeCompare(b.id));
    table.columns = table.instances[0]?.columns ?? [];
    const parts = new Map<string, number>();
    for (const i of table.instances) {
      const label = shardLabel(i.shard);
      if (!parts.has(label)) parts.set(label, i.rowCount);
    }
    table.rowCount = [...parts.values()].reduce((a, b) => a + b, 0);
  }
  return [...tables.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Every instance answers within `stallMs` of the previous answer, or the listing ends. */
export async function discoverTables(nc: NatsConnection, stallMs = 300): Promise<DiscoveredTable[]> {
  const found: { table: string; instance: DiscoveredInstance }[] = [];
  try {
    const infos = await new Svcm(nc)
      .client({ strategy: 'stall', stall: stallMs, maxWait: 5_000 })
      .info(SERVICE_NAME);
    for await (const info of infos) {
      const meta = info.metadata ?? {};
      if (!meta.table) continue;
      found.push({
        table: meta.table,
        instance: {
          id: info.id,
          shard: claimedShard(meta.shard),
          version: meta.version ?? '',
          columns: parseColumns(meta.columns),
          rowCount: Number(meta.row_count ?? 0),
          columnRanges: {},
        },
      });
    }
  } catch (err) {
    if (!(err instanceof NoRespondersError)) throw err;
  }
  return tablesOf(found);
}

/** `$SRV.INFO` says `I/N`; a container older than split tables says nothing of it (or a bare label). */
function claimedShard(text: string | undefined): ShardSpec {
  try {
    return text === undefined ? UNSPLIT : parseShard(text);
  } catch {
    return UNSPLIT;
  }
}

function parseColumns(json: string | undefined): TableColumn[] {
  try {
    const columns = tableColumnSchema.array().safeParse(JSON.parse(json ?? '[]'));
    return columns.success ? columns.data : [];
  } catch {
    return [];
  }
}
