/**
 * A scan over NATS, receiver side: publishes the request with its own inbox as reply subject
 * (requestMany's maxWait is a total deadline, so it is not used), yields schema, data...,
 * end in order, and acks each data frame once the consumer has taken it, so a slow consumer
 * slows the sender instead of overflowing. Leaving early (return, throw, abort) sends cancel.
 */
import { createInbox, type NatsConnection } from '@nats-io/transport-node';
import { QueryError } from '../errors.js';
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
  const inbox = createInbox();
  const subscription = nc.subscribe(inbox);
  const messages = subscription[Symbol.asyncIterator]();
  const sequence = new FrameSequence(`table "${table}"`, encoding);
  let control: string | undefined;
  const tell = (message: ControlMessage) => {
    if (control && !nc.isClosed()) nc.publish(control, encode(message, encoding));
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
      if (frame.type === 'data') tell({ type: 'ack', seq: frame.seq });
      if (frame.type === 'end') return;
    }
  } finally {
    subscription.unsubscribe();
    if (!sequence.complete) tell({ type: 'cancel', reason: 'the receiver stopped' });
  }
}
