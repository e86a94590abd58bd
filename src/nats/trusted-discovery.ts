/**
 * Discovery that believes only what a table's own containers say. Any client allowed to
 * answer `$SRV.INFO` (any data container) could claim any table there, with other columns
 * or another shard label, and so take a table offline or change its columns. So a `$SRV`
 * answer is only a claim: each instance it names is asked on `duckdb.<table>.instance.<id>`,
 * a subject only that table's containers may subscribe to (deploy/nats/permissions.conf),
 * and the table's columns, rows and shard come from that answer. A claim nobody answers is
 * dropped. Answers are kept per instance while it stays listed: a loaded table does not change.
 * An instance missing from a `$SRV.INFO` round is asked directly: a container busy streaming
 * a large scan can answer discovery late, and its table must not turn into a 503 for that.
 * Only "no responders" (nobody subscribes to its subject any more) drops it at once; one that
 * stays silent is dropped after a few rounds.
 */
import { type NatsConnection, RequestError } from '@nats-io/transport-node';
import type { TableColumn } from '../data-container/table.js';
import { type ShardSpec, shardLabel } from '../protocol/shards.js';
import { isValidTableName } from '../protocol/subjects.js';
import { type DiscoveredTable, discoverTables } from '../scan-client/discovery.js';

/** What an instance endpoint answers: the table's metadata (data-container/metadata.ts). */
interface InstanceMetadata {
  view_name: string;
  shard: ShardSpec;
  columns: TableColumn[];
  row_count: number;
}

const VERIFY_TIMEOUT_MS = 2_000;
/** Micro service instance ids are nuids. */
const INSTANCE_ID = /^[A-Za-z0-9]{1,64}$/;

export function instanceSubject(table: string, id: string): string {
  return `duckdb.${table}.instance.${id}`;
}

/** Discovery rounds an instance may miss before it is dropped. */
const MAX_MISSED_ROUNDS = 3;

interface VerifiedInstance {
  metadata: InstanceMetadata;
  /** Consecutive discovery rounds that did not list it. */
  missed: number;
}

/** Verified answers per connection, by `<table>/<instance id>`. */
const verified = new WeakMap<NatsConnection, Map<string, VerifiedInstance>>();

export async function discoverTrustedTables(nc: NatsConnection): Promise<DiscoveredTable[]> {
  const claims = await discoverTables(nc);
  const before = verified.get(nc) ?? new Map<string, VerifiedInstance>();
  const now = new Map<string, VerifiedInstance>();
  await Promise.all(
    claims.flatMap((table) =>
      table.instances.map(async ({ id }) => {
        const key = `${table.name}/${id}`;
        const metadata = before.get(key)?.metadata ?? (await askInstance(nc, table.name, id));
        if (metadata) now.set(key, { metadata, missed: 0 });
      }),
    ),
  );
  await Promise.all(
    [...before].map(async ([key, instance]) => {
      if (now.has(key) || instance.missed + 1 >= MAX_MISSED_ROUNDS) return;
      const id = key.slice(key.indexOf('/') + 1);
      if (await stillSubscribed(nc, instance.metadata.view_name, id))
        now.set(key, { metadata: instance.metadata, missed: instance.missed + 1 });
    }),
  );
  verified.set(nc, now);
  const tables = new Map<string, DiscoveredTable>();
  for (const [key, { metadata }] of now) {
    const id = key.slice(key.indexOf('/') + 1);
    const table = tables.get(metadata.view_name) ?? {
      name: metadata.view_name,
      columns: metadata.columns,
      rowCount: 0,
      instances: [],
    };
    table.instances.push({ id, shard: shardLabel(metadata.shard), rowCount: metadata.row_count });
    tables.set(metadata.view_name, table);
  }
  for (const table of tables.values()) {
    const shards = new Map(table.instances.map((i) => [i.shard, i.rowCount]));
    table.rowCount = [...shards.values()].reduce((a, b) => a + b, 0);
    table.instances.sort((a, b) => a.id.localeCompare(b.id));
  }
  return [...tables.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** False only when NATS says nobody subscribes to the instance's subject any more. */
async function stillSubscribed(nc: NatsConnection, table: string, id: string): Promise<boolean> {
  try {
    await nc.request(instanceSubject(table, id), '', { timeout: VERIFY_TIMEOUT_MS });
    return true;
  } catch (err) {
    return !(err instanceof RequestError && err.isNoResponders());
  }
}

/** The instance's own metadata, or undefined when nobody allowed to serve `table` answers for it. */
async function askInstance(
  nc: NatsConnection,
  table: string,
  id: string,
): Promise<InstanceMetadata | undefined> {
  if (!isValidTableName(table) || !INSTANCE_ID.test(id)) return undefined;
  try {
    const reply = await nc.request(instanceSubject(table, id), '', { timeout: VERIFY_TIMEOUT_MS });
    const metadata = reply.json<InstanceMetadata>();
    const ok =
      metadata?.view_name === table &&
      Number.isInteger(metadata.shard?.index) &&
      Number.isInteger(metadata.shard?.count) &&
      Array.isArray(metadata.columns) &&
      typeof metadata.row_count === 'number';
    return ok ? metadata : undefined;
  } catch {
    return undefined;
  }
}
