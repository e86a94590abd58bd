/**
 * A replica that dies mid-scan (SIGKILL, a lost machine) stops heartbeating, and silence alone
 * would tell only after SILENCE_MS. NATS knows sooner: a dead process's subscriptions go with
 * its connection. So a scan that hears nothing for PROBE_AFTER_MS asks the replica's instance
 * subject (nats/trusted-discovery.ts), which only that replica subscribes, and asks again while
 * the silence lasts: "no responders" means it is gone, and its part can be asked of another
 * replica at once. Only that answer counts: a replica that is alive but slow to answer the
 * probe is left to the silence timeout.
 */
import { type NatsConnection, RequestError } from '@nats-io/transport-node';
import { QueryError } from '../errors.js';
import { instanceSubject } from '../nats/trusted-discovery.js';
import { HEARTBEAT_MS } from '../protocol/frames.js';

/**
 * Far less than a heartbeat: while rows flow, frames come much more often, and a probe costs
 * the replica one small answer. (A failover's time is mostly this plus the part's scan again.)
 */
export const PROBE_AFTER_MS = 300;
const PROBE_TIMEOUT_MS = HEARTBEAT_MS;

export interface ReplicaWatch {
  /** A message came from the replica. */
  heard(): void;
  stop(): void;
}

/** Calls `onGone` once when the replica `instance()` names no longer subscribes to NATS. */
export function watchReplica(
  nc: NatsConnection,
  table: string,
  instance: () => string | undefined,
  onGone: (err: QueryError) => void,
): ReplicaWatch {
  let last = performance.now();
  let probing = false;
  const probe = async (id: string) => {
    probing = true;
    try {
      await nc.request(instanceSubject(table, id), '', { timeout: PROBE_TIMEOUT_MS });
    } catch (err) {
      if (err instanceof RequestError && err.isNoResponders()) {
        stop();
        onGone(
          new QueryError(
            'unavailable',
            `the data container (replica ${id}) serving table "${table}" is gone: it no longer subscribes to NATS`,
          ),
        );
      }
    } finally {
      probing = false;
    }
  };
  const timer = setInterval(() => {
    const id = instance();
    if (!probing && id && !nc.isClosed() && performance.now() - last >= PROBE_AFTER_MS) void probe(id);
  }, PROBE_AFTER_MS / 3);
  timer.unref();
  const stop = () => clearInterval(timer);
  return {
    heard: () => {
      last = performance.now();
    },
    stop,
  };
}
