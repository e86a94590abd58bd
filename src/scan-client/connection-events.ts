/**
 * A NATS connection's disconnects and reconnects, read once per connection (nats.js's
 * `status()`) and handed to every listener: scans in flight fail at once when the connection
 * drops, and the catalog looks again for containers when it is back.
 */
import type { NatsConnection } from '@nats-io/transport-node';

export type ConnectionEvent = 'disconnect' | 'reconnect';
type Listener = (event: ConnectionEvent) => void;

interface Watched {
  connected: boolean;
  listeners: Set<Listener>;
}

const watched = new WeakMap<NatsConnection, Watched>();

function watch(nc: NatsConnection): Watched {
  let state = watched.get(nc);
  if (state) return state;
  const created: Watched = { connected: !nc.isClosed(), listeners: new Set() };
  watched.set(nc, created);
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type !== 'disconnect' && status.type !== 'reconnect') continue;
      created.connected = status.type === 'reconnect';
      for (const listener of [...created.listeners]) listener(status.type);
    }
  })().catch(() => undefined);
  state = created;
  return state;
}

/** Calls `listener` on every disconnect and reconnect of `nc` until the returned function is called. */
export function onConnectionEvent(nc: NatsConnection, listener: Listener): () => void {
  const state = watch(nc);
  state.listeners.add(listener);
  return () => state.listeners.delete(listener);
}

/** False between a disconnect and the reconnect that follows it (or once closed). */
export function isConnected(nc: NatsConnection): boolean {
  return !nc.isClosed() && watch(nc).connected;
}

/** Resolves true once `nc` is connected, false if it is not within `ms`. */
export function connectedWithin(nc: NatsConnection, ms: number): Promise<boolean> {
  if (isConnected(nc)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const stop = onConnectionEvent(nc, (event) => {
      if (event !== 'reconnect') return;
      clearTimeout(timer);
      stop();
      resolve(true);
    });
    const timer = setTimeout(() => {
      stop();
      resolve(false);
    }, ms);
  });
}
