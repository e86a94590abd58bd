/**
 * Registers a loaded table as a NATS micro service `duckdb-table` (DESIGN.md, NATS section):
 * endpoints duckdb.<table>.scan|metadata|query in queue group `q`, so replicas share requests
 * and `$SRV.PING|INFO|STATS` answer. Part I of a split table answers duckdb.<table>.<I>.…
 * instead (protocol/shards.ts), and its table's own scan and query subjects say so. The connection reconnects forever, and subscriptions come
 * back with it; a container started while NATS is down keeps trying until it is up.
 */
import { type ServiceMsg, Svcm } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsOptions } from '../config.js';
import { asQueryError, QueryError } from '../errors.js';
import type { Logger } from '../log.js';
import { connectNats, NatsOptionsError } from '../nats/connect.js';
import { instanceSubject } from '../nats/trusted-discovery.js';
import { isSplit, partSubject, servedSubject, shardLabel } from '../protocol/shards.js';
import {
  type EndpointName,
  QUEUE_GROUP,
  SERVICE_NAME,
  SERVICE_VERSION,
  subjectFor,
} from '../protocol/subjects.js';
import { redactUrl } from '../redact.js';
import { msSince } from '../timing.js';
import { tableMetadata } from './metadata.js';
import { DEFAULT_QUERY_LIMITS, type QueryLimits, runQuery } from './query.js';
import { refuseNatsScan, serveNatsScan } from './scan-transport.js';
import type { LoadedTable } from './table.js';

export interface TableService {
  /**
   * Resolves once the service is registered (at once when NATS is up, else when it comes up),
   * or when stop() comes first. Rejects only if registration itself fails.
   */
  ready: Promise<void>;
  stop(): Promise<void>;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;

export async function startTableService(
  table: LoadedTable,
  nats: NatsOptions,
  log: Logger,
  limits: QueryLimits = DEFAULT_QUERY_LIMITS,
): Promise<TableService> {
  const stopping = new AbortController();
  let nc: NatsConnection | undefined;
  const ready = (async () => {
    nc = await connectUntilUp(nats, `duckdb-table ${table.name}`, log, stopping.signal);
    if (!nc) return;
    logStatus(nc, log);
    await registerService(nc, table, log, limits);
    log.info('registered NATS service', { table: table.name, server: nc.getServer() });
  })();
  ready.catch((err: unknown) => log.error('NATS service registration failed', { error: err }));
  return {
    ready,
    stop: async () => {
      stopping.abort();
      await ready.catch(() => undefined);
      // Drain fails on a connection that is down: closed then.
      if (nc && !nc.isClosed()) await nc.drain().catch(() => nc?.close());
    },
  };
}

/** connect() fails at once when no server listens: try again with backoff until one does. */
async function connectUntilUp(
  nats: NatsOptions,
  name: string,
  log: Logger,
  signal: AbortSignal,
): Promise<NatsConnection | undefined> {
  for (let wait = FIRST_RETRY_MS, attempt = 1; !signal.aborted; attempt++) {
    try {
      const nc = await connectNats(nats, {
        role: 'serve',
        name,
        log,
        connection: { reconnectTimeWait: 500 },
      });
      if (!signal.aborted) return nc;
      await nc.close();
    } catch (err) {
      if (err instanceof NatsOptionsError) throw err;
      if (attempt === 1)
        log.warn('NATS not reachable yet, retrying in the background', {
          url: redactUrl(nats.url),
          error: err,
        });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      wait = Math.min(wait * 2, MAX_RETRY_MS);
    }
  }
  return undefined;
}

function logStatus(nc: NatsConnection, log: Logger): void {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect') {
        log.info(`NATS ${status.type}`, { server: status.server });
      }
    }
  })();
}

async function registerService(
  nc: NatsConnection,
  table: LoadedTable,
  log: Logger,
  limits: QueryLimits,
): Promise<void> {
  const service = await new Svcm(nc).add({
    name: SERVICE_NAME,
    version: SERVICE_VERSION,
    description: `DuckDB table ${table.name}`,
    queue: QUEUE_GROUP,
    metadata: {
      table: table.name,
      shard: shardLabel(table.shard),
      version: table.version,
      columns: JSON.stringify(table.columns),
      row_count: String(table.rowCount),
    },
  });
  const instance = service.info().id;
  const endpoint = (name: string, subject: string, handle: (msg: ServiceMsg) => unknown) =>
    service.addEndpoint(name, {
      subject,
      queue: QUEUE_GROUP,
      handler: (err, msg) => {
        if (err) log.error(`NATS ${name} endpoint failed`, { error: err });
        else handle(msg);
      },
    });
  const served = (name: EndpointName) => servedSubject(table.name, table.shard, name);
  endpoint('scan', served('scan'), (msg) => {
    const started = performance.now();
    return serveNatsScan(nc, msg, table, log, limits.timeoutMs, instance).finally(() =>
      log.info('scan served', {
        subject: msg.subject,
        request_bytes: msg.data.byteLength,
        ms: msSince(started),
      }),
    );
  });
  endpoint('metadata', served('metadata'), (msg) => msg.respond(JSON.stringify(tableMetadata(table))));
  endpoint('query', served('query'), (msg) => answerQuery(nc, msg, table, limits));
  if (isSplit(table.shard)) {
    // The table's own subjects: a requester that does not know the table is split learns how
    // to reach its parts instead of getting one part's rows as if they were the table's.
    const error = new QueryError('bad_request', splitTableMessage(table.name, table.shard.count));
    endpoint('table-scan', subjectFor(table.name, 'scan'), (msg) => refuseNatsScan(nc, msg, error, log));
    endpoint('table-query', subjectFor(table.name, 'query'), (msg) => respondError(msg, error));
    endpoint('table-metadata', subjectFor(table.name, 'metadata'), (msg) =>
      msg.respond(JSON.stringify(tableMetadata(table))),
    );
  }
  // Proves to discovery that this instance serves this table (src/nats/trusted-discovery.ts).
  service.addEndpoint('instance', {
    subject: instanceSubject(table.name, instance),
    handler: (err, msg) => err || msg.respond(JSON.stringify(tableMetadata(table))),
  });
  // Registered means served: the server has the endpoints' subscriptions once it answers a flush.
  await nc.flush();
}

/** What the plain subjects of a split table answer: where its parts are. */
function splitTableMessage(table: string, count: number): string {
  const first = partSubject(table, 0, 'scan');
  const last = partSubject(table, count - 1, 'scan');
  return (
    `table ${table} is split into ${count} parts, each served on its own subjects ` +
    `${first} … ${last} (and .query, .metadata): the coordinator or \`scan ${table}\` gathers them all`
  );
}

function respondError(msg: ServiceMsg, err: unknown): void {
  const error = asQueryError(err);
  msg.respondError(error.status, error.message, JSON.stringify(error.toJSON()));
}

/** `{"query": "SELECT ..."}` in, the same JSON as POST /query out (errors as service errors). */
async function answerQuery(
  nc: NatsConnection,
  msg: ServiceMsg,
  table: LoadedTable,
  limits: QueryLimits,
): Promise<void> {
  try {
    const { query, timeoutMs } = queryOf(msg);
    const answer = Buffer.from(JSON.stringify(await runQuery(table, query, limits, { timeoutMs })));
    const maxPayload = nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
    if (answer.byteLength > maxPayload) {
      throw new QueryError(
        'result_too_large',
        `the answer is ${answer.byteLength} bytes, over the NATS server's max_payload of ${maxPayload}: add a LIMIT or an aggregate, or use ${servedSubject(table.name, table.shard, 'scan')}`,
      );
    }
    msg.respond(answer);
  } catch (err) {
    respondError(msg, err);
  }
}

/** `{"query": "...", "timeoutMs"?: N}`: the SQL, and the requester's remaining time. */
function queryOf(msg: ServiceMsg): { query: string; timeoutMs?: number } {
  let body: unknown;
  try {
    body = msg.json();
  } catch {
    body = undefined;
  }
  const { query, timeoutMs } = (body ?? {}) as { query?: unknown; timeoutMs?: unknown };
  if (typeof query !== 'string' || query.length === 0) {
    throw new QueryError('bad_request', 'send {"query": "SELECT ... FROM <table>"} as JSON');
  }
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && (timeoutMs as number) > 0)) {
    throw new QueryError('bad_request', 'timeoutMs, when given, must be a positive integer (milliseconds)');
  }
  return { query, timeoutMs: timeoutMs as number | undefined };
}
