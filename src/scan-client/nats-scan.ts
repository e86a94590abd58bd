/**
 * A scan over NATS, receiver side: publishes the request with its own inbox as reply subject
 * (requestMany's maxWait is a total deadline, so it is not used), yields schema, data...,
 * end in order, and acks data frames once the consumer has taken them, so a slow consumer
 * slows the sender instead of overflowing. The request carries a random id, so the control
 * subject is known from the start: leaving early (return, throw, abort) sends cancel there,
 * whether or not the first frame came. Silence past the idle timeout (the sender heartbeats)
 * or a dropped connection fails the scan at once with `unavailable`.
 */
import { type Msg, type NatsConnection, nuid } from '@nats-io/transport-node';
import { QueryError } from '../errors.js';
import { newInbox } from '../nats/connect.js';
import { encode } from '../protocol/codec.js';
import type { ControlMessage, Frame, ScanFilter, ScanRequest } from '../protocol/frames.js';
import { controlSubject, subjectFor } from '../protocol/subjects.js';
import { connectedWithin, onConnectionEvent } from './connection-events.js';
import { watchReplica } from './replica-probe.js';
import { FrameSequence, type ScanStreamOptions, withDeadline, withIdleTimeout } from './scan-stream.js';

const NO_RESPONDERS = 503;

export interface NatsScanOptions extends ScanStreamOptions {
  /**
   * For a request with `awaitFilter`: makes the filter, sent once it is known and the
   * sender's control subject is. Not called where the sender says it does not wait.
   */
  filter?: () => Promise<ScanFilter>;
  /**
   * For a request with `keysFirst`: makes the filter of the rows the sender holds, sent once
   * its `held` frame says they wait (after its keys frames).
   */
  heldFilter?: () => Promise<ScanFilter>;
  /**
   * Where to send the request: `duckdb.<table>.scan` by default; a part of a split table
   * answers on its own, `duckdb.<table>.<I>.scan`. The control subject stays the table's.
   */
  subject?: string;
}

export async function* openNatsScan(
  nc: NatsConnection,
  table: string,
  request: ScanRequest,
  options: NatsScanOptions,
): AsyncGenerator<Frame> {
  // Checked before subscribing: SUB and PUB then leave in one write to the socket, where a
  // wait between them would send each on its own.
  if (!(await connectedWithin(nc, options.idleTimeoutMs))) {
    throw new QueryError(
      'unavailable',
      `cannot scan table "${table}": the NATS connection is down (reconnecting)`,
    );
  }
  const encoding = options.encoding ?? 'msgpack';
  const subject = options.subject ?? subjectFor(table, 'scan');
  const id = nuid.next();
  const control = controlSubject(table, id);
  const inbox = newInbox(nc);
  const subscription = nc.subscribe(inbox);
  const messages = subscription[Symbol.asyncIterator]();
  const sequence = new FrameSequence(`table "${table}"`, encoding);
  const tell = (message: ControlMessage) => {
    try {
      if (!nc.isClosed()) nc.publish(control, encode(message, encoding));
    } catch {
      // The connection is going: the sender's deadline and ack timeout stop the scan.
    }
  };
  // Acks are cumulative: one per turn of the event loop, for the last frame taken, sent at its
  // end. Sent at once, each would be a write to the socket ahead of the frames already in
  // hand (a small result's end frame waited ~0.2 ms behind its data frame's ack).
  let taken = 0;
  const ack = (seq: number) => {
    if (taken === 0) {
      setImmediate(() => {
        if (!sequence.complete) tell({ type: 'ack', seq: taken });
        taken = 0;
      });
    }
    taken = seq;
  };
  const idle = () =>
    new QueryError(
      'unavailable',
      `the data container of table "${table}" sent nothing for ${options.idleTimeoutMs} ms (on ${subject}); it may have stopped`,
    );
  // A dropped connection ends the subscription, so that the loop stops waiting at once.
  let dropped = false;
  const stopWatching = onConnectionEvent(nc, (event) => {
    if (event !== 'disconnect') return;
    dropped = true;
    subscription.unsubscribe();
  });
  // A replica found gone ends the subscription too, so that its part can be asked again at once.
  let gone: QueryError | undefined;
  const replica = watchReplica(
    nc,
    table,
    () => sequence.instance,
    (err) => {
      gone = err;
      subscription.unsubscribe();
    },
  );
  // The message asked for and not come yet, when the loop stops waiting for it.
  let waiting: Promise<IteratorResult<Msg>> | undefined;
  try {
    try {
      nc.publish(subject, encode({ ...withDeadline(request, options.deadline), id }, encoding), {
        reply: inbox,
      });
    } catch (err) {
      throw new QueryError('unavailable', `cannot send the scan of "${table}": ${(err as Error).message}`);
    }
    for (;;) {
      waiting = messages.next();
      const next = await withIdleTimeout(waiting, options.idleTimeoutMs, options.signal, idle);
      waiting = undefined;
      if (next.done) {
        if (gone) throw gone;
        const what = dropped ? 'dropped' : 'closed';
        throw new QueryError(
          'unavailable',
          `the NATS connection ${what} during the scan of table "${table}"`,
        );
      }
      if (next.value.headers?.code === NO_RESPONDERS) {
        throw new QueryError(
          'unavailable',
          `no data container serves table "${table}" (nobody answers ${subject})`,
        );
      }
      replica.heard();
      const frame = sequence.accept(next.value.data);
      if (!frame) continue;
      if (frame.type === 'schema' && frame.awaitsFilter !== false)
        options.filter?.().then(tell, () => undefined);
      if (frame.type === 'held' && frame.waits)
        options.heldFilter?.().then(
          (f) => tell({ ...f, held: true }),
          () => undefined,
        );
      yield frame;
      // Keys and held frames take seqs in the sender's window as data frames do.
      if (frame.type !== 'schema') ack(frame.seq);
      if (frame.type === 'end') return;
    }
  } finally {
    stopWatching();
    replica.stop();
    if (sequence.complete) {
      // Nothing more can come: the UNSUB waits for the end of this turn, not to hold up the
      // answer by a write to the socket.
      setImmediate(() => subscription.unsubscribe());
    } else {
      const cancel = () => tell({ type: 'cancel', reason: 'the receiver stopped' });
      cancel();
      if (sequence.heard) subscription.unsubscribe();
      else void cancelOnceHeard(waiting ?? messages.next(), subscription, options.idleTimeoutMs, cancel);
    }
  }
}

/**
 * A cancel sent before the sender has said anything may reach its control subject before the
 * sender subscribes it: said again when the sender's first message comes (it subscribes
 * before it sends anything), or given up after `ms`.
 */
async function cancelOnceHeard(
  first: Promise<IteratorResult<unknown>>,
  subscription: { unsubscribe(): void },
  ms: number,
  cancel: () => void,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const heard = await Promise.race([
    first.then((m) => !m.done),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).catch(() => false);
  clearTimeout(timer);
  if (heard) cancel();
  subscription.unsubscribe();
}
