/**
 * Discovery that believes only what a table's own containers say. Any client allowed to
 * answer `$SRV.INFO` (any data container) could claim any table there, with other columns
 * or another shard label, and so take a table offline or change its columns. So a `$SRV`
 * answer is only a claim: each instance it names is asked on `duckdb.<table>.instance.<id>`,
 * a subject only that table's containers may subscribe to (deploy/nats/permissions.conf),
 * and the table's columns, rows, shard, version and column ranges come from that answer
 * (protocol/table-metadata.ts). A claim nobody answers is dropped. Answers are kept per instance while it stays listed: a loaded table does not change.
 * An instance missing from a `$SRV.INFO` round is asked directly: a container busy streaming
 * a large scan can answer discovery late, and its table must not turn into a 503 for that.
 * Only "no responders" (nobody subscribes to its subject any more) drops it at once; one that
 * stays silent is dropped after a few rounds.
 */
import { type NatsConnection, RequestError } from '@nats-io/transport-node';
import { isValidTableName } from '../protocol/subjects.js';
import { type InstanceMetadata, instanceMetadataSchema } from '../protocol/table-metadata.js';
import { type DiscoveredTable, discoverTables, tablesOf } from '../scan-client/discovery.js';

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
  return tablesOf(
    [...now].map(([key, { metadata }]) => ({
      table: metadata.view_name,
      instance: {
        id: key.slice(key.indexOf('/') + 1),
        shard: metadata.shard,
        version: metadata.version,
        columns: metadata.columns,
        rowCount: metadata.row_count,
        columnRanges: metadata.column_ranges,
      },
    })),
  );
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
export async function askInstance(
  nc: NatsConnection,
  table: string,
  id: string,
): Promise<InstanceMetadata | undefined> {
  if (!isValidTableName(table) || !INSTANCE_ID.test(id)) return undefined;
  try {
    const reply = await nc.request(instanceSubject(table, id), '', { timeout: VERIFY_TIMEOUT_MS });
    const parsed = instanceMetadataSchema.safeParse(reply.json());
    return parsed.success && parsed.data.view_name === table ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
