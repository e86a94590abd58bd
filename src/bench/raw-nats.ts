/**
 * What NATS itself moves between two processes on this machine: 1 MiB messages from a sender
 * to a receiver, with just enough flow control (acks every few messages) that the server
 * never drops the receiver as a slow consumer.
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { newInbox } from '../nats/connect.js';

export const RAW_SUBJECT = 'bench.raw';
export const RAW_MESSAGE_BYTES = 1024 * 1024;
/** Messages in flight before the sender waits for an ack; the receiver acks every ACK_EVERY. */
const RAW_WINDOW = 32;
const ACK_EVERY = 4;

interface RawRequest {
  messages: number;
  /** Where the receiver acks, as JSON `{received: n}`. */
  ack: string;
}

/** Sender: answers one RAW_SUBJECT request with `messages` 1 MiB messages to its reply subject. */
export async function sendRaw(nc: NatsConnection, msg: Msg): Promise<void> {
  const { messages, ack } = msg.json<RawRequest>();
  const payload = new Uint8Array(RAW_MESSAGE_BYTES).fill(42);
  let received = 0;
  let wake: (() => void) | undefined;
  const acks = nc.subscribe(ack, {
    callback: (_err, m) => {
      received = m.json<{ received: number }>().received;
      wake?.();
    },
  });
  await nc.flush();
  for (let i = 0; i < messages; i++) {
    while (i - received >= RAW_WINDOW) await new Promise<void>((resolve) => (wake = resolve));
    nc.publish(msg.reply as string, payload);
  }
  acks.unsubscribe();
}

/** Receiver: asks the sender for `messages` 1 MiB messages; resolves with the ms they took. */
export async function receiveRaw(nc: NatsConnection, messages: number): Promise<number> {
  const inbox = newInbox(nc);
  const ack = newInbox(nc);
  const subscription = nc.subscribe(inbox);
  await nc.flush();
  const started = performance.now();
  nc.publish(RAW_SUBJECT, JSON.stringify({ messages, ack } satisfies RawRequest), { reply: inbox });
  let received = 0;
  for await (const m of subscription) {
    if (m.data.byteLength !== RAW_MESSAGE_BYTES) throw new Error(`raw message of ${m.data.byteLength} bytes`);
    received++;
    if (received === messages) break;
    if (received % ACK_EVERY === 0) nc.publish(ack, JSON.stringify({ received }));
  }
  return performance.now() - started;
}
