/**
 * A scan over NATS, receiver side: publishes the request with its own inbox as reply subject
 * (requestMany's maxWait is a total deadline, so it is not used), yields schema, data...,
 * end in order, and acks data frames once the consumer has taken them, so a slow consumer
 * slows the sender instead of overflowing. Leaving early (return, throw, abort) sends cancel.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { QueryError } from '../errors.js';
import { newInbox } from '../nats/connect.js';
import { encode } from '../protocol/codec.js';
import type { ControlMessage, Frame, ScanFilter, ScanRequest } from '../protocol/frames.js';
import { subjectFor } from '../protocol/subjects.js';
import { FrameSequence, type ScanStreamOptions, withIdleTimeout } from './scan-stream.js';

const NO_RESPONDERS = 503;

export interface NatsScanOptions extends ScanStreamOptions {
  /**
   * For a request with `awaitFilter`: makes the filter, sent once it is known and the
   * sender's control subject is. Not called where the sender says it does not wait.
   */
  filter?: () => Promise<ScanFilter>;
}

export async function* openNatsScan(
  nc: NatsConnection,
  table: string,
  request: ScanRequest,
  options: NatsScanOptions,
): AsyncGenerator<Frame> {
  const encoding = options.encoding ?? 'msgpack';
  const subject = subjectFor(table, 'scan');
  const inbox = newInbox(nc);
  const subscription = nc.subscribe(inbox);
  const messages = subscription[Symbol.asyncIterator]();
  const sequence = new FrameSequence(`table "${table}"`, encoding);
  let control: string | undefined;
  const tell = (message: ControlMessage) => {
    if (control && !nc.isClosed()) nc.publish(control, encode(message, encoding));
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
  try {
    try {
      nc.publish(subject, encode(request, encoding), { reply: inbox });
    } catch (err) {
      throw new QueryError('unavailable', `cannot send the scan of "${table}": ${(err as Error).message}`);
    }
    for (;;) {
      const next = await withIdleTimeout(messages.next(), options.idleTimeoutMs, options.signal, idle);
      if (next.done)
        throw new QueryError('unavailable', `the NATS connection closed during the scan of "${table}"`);
      if (next.value.headers?.code === NO_RESPONDERS) {
        throw new QueryError(
          'unavailable',
          `no data container serves table "${table}" (nobody answers ${subject})`,
        );
      }
      const frame = sequence.accept(next.value.data);
      if (frame.type === 'schema') {
        control = frame.control;
        if (frame.awaitsFilter !== false) options.filter?.().then(tell, () => undefined);
      }
      yield frame;
      if (frame.type === 'data') ack(frame.seq);
      if (frame.type === 'end') return;
    }
  } finally {
    if (sequence.complete) {
      // Nothing more can come: the UNSUB waits for the end of this turn, not to hold up the
      // answer by a write to the socket.
      setImmediate(() => subscription.unsubscribe());
    } else {
      subscription.unsubscribe();
      tell({ type: 'cancel', reason: 'the receiver stopped' });
    }
  }
}
