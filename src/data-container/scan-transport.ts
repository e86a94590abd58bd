/**
 * A scan over NATS, sender side. Frames go to the request's reply subject; the receiver
 * sends acks, cancel and a dynamic filter to `duckdb.<table>.control.<id>`, which is
 * subscribed before anything else happens, so a cancel is honoured from the moment the
 * request arrives. At most `window` data frames travel beyond the last ack, so a slow reader
 * throttles the scan instead of being cut off by the server as a slow consumer. A cancel,
 * the deadline, or no ack for `ackTimeoutMs` stops the scan; heartbeats tell the receiver
 * that a scan with nothing to send yet is alive.
 */
import { type Msg, type NatsConnection, nuid, type Subscription } from '@nats-io/transport-node';
import { QueryError } from '../errors.js';
import type { Logger } from '../log.js';
import { decode, detectEncoding, type Encoding, encode } from '../protocol/codec.js';
import { columnPacking, DataFrameEncoder, returnFrameBuffers } from '../protocol/data-frame-encoder.js';
import { splitFrame } from '../protocol/frame-parts.js';
import {
  type ColumnSchema,
  type ControlMessage,
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_WINDOW,
  type Frame,
  type ParsedScanRequest,
  type ScanFilter,
  ScanFilterSchema,
} from '../protocol/frames.js';
import { controlSubject } from '../protocol/subjects.js';
import { issuesText } from '../zod-issues.js';
import { executeScan, type FrameSink } from './scan.js';
import { Heartbeats, ScanDeadline } from './scan-liveness.js';
import { errorFrame, parseScanRequest } from './scan-request.js';
import type { LoadedTable } from './table.js';

/**
 * Answers one scan request. Never throws: every failure goes to the requester as an error frame.
 * `instance` (the service instance id) goes in the end frame: which replica served the scan.
 */
export async function serveNatsScan(
  nc: NatsConnection,
  msg: Msg,
  table: LoadedTable,
  log: Logger,
  queryTimeoutMs: number,
  instance?: string,
): Promise<void> {
  const reply = msg.reply;
  if (!reply) {
    log.warn('scan request without a reply subject ignored', { subject: msg.subject });
    return;
  }
  const encoding = detectEncoding(msg.data);
  let request: ParsedScanRequest;
  try {
    request = parseScanRequest(msg.data, encoding);
  } catch (err) {
    refuseNatsScan(nc, msg, err, log);
    return;
  }
  const sink = new NatsFrameSink(nc, reply, encoding, request, table.name, log, instance);
  const deadline = new ScanDeadline(request.timeoutMs, queryTimeoutMs, (err) => sink.fail(err));
  try {
    await executeScan(table, request, encoding, sink, sink.signal);
  } finally {
    deadline.stop();
    sink.close();
  }
}

/** Answers a scan request with one error frame (in the request's encoding) saying why not. */
export function refuseNatsScan(nc: NatsConnection, msg: Msg, err: unknown, log: Logger): void {
  if (!msg.reply) {
    log.warn('scan request without a reply subject ignored', { subject: msg.subject });
    return;
  }
  try {
    nc.publish(msg.reply, encode(errorFrame(0, err), detectEncoding(msg.data)));
  } catch (publishErr) {
    log.warn('could not publish a scan error', { error: publishErr });
  }
}

class NatsFrameSink implements FrameSink {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  private readonly control: string;
  private readonly subscription: Subscription;
  private readonly window: number;
  private readonly ackTimeoutMs: number;
  /** Highest data frame acked so far. */
  private acked = 0;
  /** The next numbered frame's seq: every frame before it was sent (heartbeats say so). */
  private nextSeq = 0;
  private wake: (() => void) | undefined;
  /**
   * The `filter` messages, once they have come (the awaited one, and the held rows' one):
   * checked only by a scan that waits for them.
   */
  private readonly filters = new Map<boolean, unknown>();
  private readonly dataFrames: DataFrameEncoder;
  /** Messages made but not yet published (see enqueue). */
  private queued: { seq: number; bytes: Uint8Array }[] = [];
  private readonly heartbeats: Heartbeats;
  /** Whether the receiver widens packed integer columns (ScanRequest.packIntegers). */
  private readonly packIntegers: boolean;
  /** The schema's columns, for packing (none where the receiver does not widen). */
  private packable: ColumnSchema[] = [];

  /** The server's max_payload (it counts headers; frames go without). */
  get maxFrameBytes(): number | undefined {
    return this.nc.info?.max_payload;
  }

  constructor(
    private readonly nc: NatsConnection,
    private readonly reply: string,
    private readonly encoding: Encoding,
    request: ParsedScanRequest,
    table: string,
    private readonly log: Logger,
    private readonly instance?: string,
  ) {
    this.window = request.window ?? DEFAULT_WINDOW;
    // A frame's buffer is written again window + 1 frames later: by then it was acked.
    this.dataFrames = new DataFrameEncoder(this.window + 1);
    this.ackTimeoutMs = request.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    this.packIntegers = request.packIntegers === true && encoding === 'msgpack';
    this.control = controlSubject(table, request.id ?? nuid.next());
    // Before anything is sent: a receiver that has heard from us may cancel.
    this.subscription = nc.subscribe(this.control, { callback: (_err, m) => this.onControl(m) });
    this.heartbeats = new Heartbeats(() => this.publishEncoded(this.nextSeq, this.heartbeat()));
    // A requester that chose the id knows the control subject: tell it at once that it may use it.
    if (request.id !== undefined) this.enqueue(0, this.heartbeat());
  }

  /** The schema frame names the control subject; the end frame, the instance that served the scan. */
  private withTransportFields(frame: Frame): Frame {
    if (frame.type === 'schema') return { ...frame, control: this.control };
    if (frame.type === 'end' && this.instance) return { ...frame, instance: this.instance };
    return frame;
  }

  private heartbeat(): Uint8Array {
    const instance = this.instance && { instance: this.instance };
    return encode({ type: 'heartbeat', seq: this.nextSeq, ...instance }, this.encoding);
  }

  async send(frame: Frame): Promise<void> {
    // Keys frames take slots of the data frames' buffers too: only acked slots are written again.
    if (frame.type === 'data' || frame.type === 'keys') await this.waitForCredit(frame.seq);
    if (this.signal.aborted) return;
    if (frame.type === 'schema' && this.packIntegers) this.packable = frame.columns;
    const bytes =
      this.encoding === 'msgpack' && frame.type === 'data' && frame.columns
        ? this.dataFrames.encode(
            { ...frame, columns: frame.columns },
            frame.columns.map((c, i) => columnPacking(c, frame.rows, this.packable[i])),
          )
        : this.encoding === 'msgpack' && frame.type === 'keys'
          ? this.dataFrames.encode(frame, [
              columnPacking(
                frame.values,
                frame.rows,
                this.packable.find((c) => c.name.toLowerCase() === frame.column.toLowerCase()),
              ),
            ])
          : encode(this.withTransportFields(frame), this.encoding);
    this.nextSeq = frame.seq + 1;
    const maxPayload = this.nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
    if (bytes.byteLength <= maxPayload) {
      this.enqueue(frame.seq, bytes);
      return;
    }
    // One row longer than a message: it goes in parts.
    for (const part of splitFrame(bytes, frame.seq, this.encoding, maxPayload)) this.enqueue(frame.seq, part);
  }

  /**
   * Messages made in one turn of the event loop are published together, at its end, and so
   * leave in one write to the socket: a small result's schema, data and end frames wake
   * nats-server and the receiver once, not three times (~0.3 ms each on an idle VM core).
   */
  private enqueue(seq: number, bytes: Uint8Array): void {
    this.heartbeats.touch();
    this.queued.push({ seq, bytes });
    if (this.queued.length === 1) setImmediate(() => this.publishQueued());
  }

  private publishQueued(): void {
    const queued = this.queued;
    this.queued = [];
    for (const { seq, bytes } of queued) if (!this.publishEncoded(seq, bytes)) return;
  }

  /** Publishes at once (heartbeats, and queued messages in order); false when the scan stopped. */
  private publishEncoded(seq: number, bytes: Uint8Array): boolean {
    if (this.queued.length > 0) this.publishQueued();
    try {
      this.nc.publish(this.reply, bytes);
      return true;
    } catch (err) {
      this.log.warn('scan stopped: could not publish a frame', { seq, error: err });
      this.controller.abort(err);
      return false;
    }
  }

  /**
   * The `filter` control message (`held`: the one for the held rows of a keysFirst request),
   * checked; rejects after ackTimeoutMs without one, when the scan stops, or when it is not a
   * valid filter.
   */
  async awaitFilter(held = false): Promise<ScanFilter> {
    while (!this.filters.has(held) && !this.signal.aborted) {
      if (!(await this.nextControl())) {
        const after = held ? 'the held frame of a keysFirst request' : 'an awaitFilter request';
        throw new QueryError(
          'timeout',
          `no filter came on the control subject within ${this.ackTimeoutMs} ms of ${after}`,
        );
      }
    }
    if (!this.filters.has(held)) throw this.signal.reason;
    const parsed = ScanFilterSchema.safeParse(this.filters.get(held));
    if (!parsed.success) {
      throw new QueryError('bad_request', `invalid scan filter: ${issuesText(parsed.error, 'filter')}`);
    }
    return parsed.data;
  }

  close(): void {
    this.heartbeats.stop();
    this.publishQueued();
    this.subscription.unsubscribe();
    this.wake?.();
    const buffers = this.dataFrames.release();
    // nats.js holds a frame's bytes until it has written them to the socket: once the server
    // has answered a flush, it holds none of them. (Closed connection: left to the GC.)
    if (buffers.length > 0 && !this.nc.isClosed()) {
      this.nc.flush().then(
        () => returnFrameBuffers(buffers),
        () => undefined,
      );
    }
  }

  /** Data frame `seq` may go once every frame up to `seq - window` is acked. */
  private async waitForCredit(seq: number): Promise<void> {
    while (seq - this.acked > this.window && !this.signal.aborted) {
      if (!(await this.nextControl())) {
        this.fail(
          new QueryError(
            'timeout',
            `no ack from the receiver for ${this.ackTimeoutMs} ms after frame ${this.acked}; the scan stopped`,
          ),
        );
      }
    }
  }

  /** Resolves true on the next control message (or abort), false after ackTimeoutMs without one. */
  private nextControl(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve(false);
      }, this.ackTimeoutMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(true);
      };
    });
  }

  private onControl(msg: Msg): void {
    let message: ControlMessage;
    try {
      message = decode(msg.data, detectEncoding(msg.data)) as ControlMessage;
    } catch (err) {
      this.log.warn('unreadable scan control message ignored', { error: err });
      return;
    }
    if (message?.type === 'ack' && typeof message.seq === 'number') {
      // Only frames that were sent can be acked: a larger ack would open the window.
      if (message.seq >= this.nextSeq) {
        this.log.warn('scan ack beyond the frames sent refused', {
          seq: message.seq,
          sent: this.nextSeq - 1,
        });
        return;
      }
      this.acked = Math.max(this.acked, message.seq);
    } else if (message?.type === 'cancel') {
      this.controller.abort(new QueryError('cancelled', message.reason ?? 'cancelled by the receiver'));
    } else if (message?.type === 'filter') {
      // A scan that sends its rows at once (awaitsFilter: false) never reads it.
      this.filters.set(message.held === true, message);
    } else {
      this.log.warn('unknown scan control message ignored', { type: String(message?.type) });
      return;
    }
    this.wake?.();
  }

  /** Tells the receiver why the scan stops (as the next frame), then stops it. */
  fail(err: QueryError): void {
    if (this.signal.aborted) return;
    this.log.warn('scan stopped', { error: err.message });
    this.enqueue(this.nextSeq, encode(errorFrame(this.nextSeq, err), this.encoding));
    this.controller.abort(err);
    this.wake?.();
  }
}
