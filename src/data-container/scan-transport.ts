/**
 * A scan over NATS, sender side. Frames go to the request's reply subject; the receiver acks
 * data frames on a control inbox announced in the schema frame. At most `window` data frames
 * travel beyond the last ack, so a slow reader throttles the scan instead of being cut off by
 * the server as a slow consumer. A cancel, or no ack for `ackTimeoutMs`, stops the scan.
 */
import { type Msg, type NatsConnection, nuid, type Subscription } from '@nats-io/transport-node';
import { QueryError } from '../errors.js';
import type { Logger } from '../log.js';
import { decode, detectEncoding, type Encoding, encode } from '../protocol/codec.js';
import { DataFrameEncoder, returnFrameBuffers } from '../protocol/data-frame-encoder.js';
import {
  type ControlMessage,
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_WINDOW,
  type Frame,
  type ParsedScanRequest,
  type ScanFilter,
  ScanFilterSchema,
} from '../protocol/frames.js';
import { issuesText } from '../zod-issues.js';
import { executeScan, type FrameSink } from './scan.js';
import { errorFrame, parseScanRequest } from './scan-request.js';
import type { LoadedTable } from './table.js';

/** Answers one scan request. Never throws: every failure goes to the requester as an error frame. */
export async function serveNatsScan(
  nc: NatsConnection,
  msg: Msg,
  table: LoadedTable,
  log: Logger,
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
    publishFrame(nc, reply, errorFrame(0, err), encoding, log);
    return;
  }
  // Under the table's own subjects, which only its containers may subscribe to (deploy/nats).
  const control = `${msg.subject.replace(/\.scan$/, '')}.control.${nuid.next()}`;
  const sink = new NatsFrameSink(nc, reply, encoding, request, log, control);
  try {
    await executeScan(table, request, encoding, sink, sink.signal);
  } finally {
    sink.close();
  }
}

function publishFrame(
  nc: NatsConnection,
  subject: string,
  frame: Frame,
  encoding: Encoding,
  log: Logger,
): void {
  try {
    nc.publish(subject, encode(frame, encoding));
  } catch (err) {
    log.warn('could not publish a scan frame', { subject, seq: frame.seq, error: err });
  }
}

class NatsFrameSink implements FrameSink {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  /** Made with the schema frame that announces its subject. */
  private subscription: Subscription | undefined;
  private readonly window: number;
  private readonly ackTimeoutMs: number;
  /** Highest data frame acked so far. */
  private acked = 0;
  private wake: (() => void) | undefined;
  /** The `filter` message, once it has come: checked only by a scan that waits for it. */
  private filter: unknown;
  private readonly dataFrames: DataFrameEncoder;
  /** Frames sent but not yet published (see enqueue). */
  private queued: { frame: Pick<Frame, 'type' | 'seq'>; bytes: Uint8Array }[] = [];

  /** Half the server's max_payload leaves room for the DuckDB chunk that may overshoot the target. */
  get maxFrameBytes(): number | undefined {
    const maxPayload = this.nc.info?.max_payload;
    return maxPayload ? Math.floor(maxPayload / 2) : undefined;
  }

  constructor(
    private readonly nc: NatsConnection,
    private readonly reply: string,
    private readonly encoding: Encoding,
    request: ParsedScanRequest,
    private readonly log: Logger,
    private readonly control: string,
  ) {
    this.window = request.window ?? DEFAULT_WINDOW;
    // A frame's buffer is written again window + 1 frames later: by then it was acked.
    this.dataFrames = new DataFrameEncoder(this.window + 1);
    this.ackTimeoutMs = request.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
  }

  async send(frame: Frame): Promise<void> {
    if (frame.type === 'data') await this.waitForCredit(frame.seq);
    if (this.signal.aborted) return;
    const bytes =
      this.encoding === 'msgpack' && frame.type === 'data' && frame.columns
        ? this.dataFrames.encode({ ...frame, columns: frame.columns })
        : encode(frame.type === 'schema' ? { ...frame, control: this.control } : frame, this.encoding);
    const maxPayload = this.nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
    if (bytes.byteLength > maxPayload) {
      this.fail(
        new QueryError(
          'internal',
          `scan frame ${frame.seq} is ${bytes.byteLength} bytes, over the NATS server's max_payload of ${maxPayload}: the data container sized its frames wrong`,
        ),
        frame.seq,
      );
      return;
    }
    this.enqueue(frame, bytes);
  }

  /**
   * Frames made in one turn of the event loop are published together, at its end, and so
   * leave in one write to the socket: a small result's schema, data and end frames wake
   * nats-server and the receiver once, not three times (~0.3 ms each on an idle VM core).
   */
  private enqueue(frame: Pick<Frame, 'type' | 'seq'>, bytes: Uint8Array): void {
    this.queued.push({ frame, bytes });
    if (this.queued.length === 1) setImmediate(() => this.publishQueued());
  }

  private publishQueued(): void {
    const queued = this.queued;
    this.queued = [];
    for (const { frame, bytes } of queued) {
      try {
        // Subscribed with the frame that announces the subject: the SUB leaves in the same write.
        if (frame.type === 'schema') {
          this.subscription = this.nc.subscribe(this.control, { callback: (_err, m) => this.onControl(m) });
        }
        this.nc.publish(this.reply, bytes);
      } catch (err) {
        this.log.warn('scan stopped: could not publish a frame', { seq: frame.seq, error: err });
        this.controller.abort(err);
        return;
      }
    }
  }

  /**
   * The `filter` control message, checked; rejects after ackTimeoutMs without one, when the
   * scan stops, or when it is not a valid filter.
   */
  async awaitFilter(): Promise<ScanFilter> {
    while (!this.filter && !this.signal.aborted) {
      if (!(await this.nextControl())) {
        throw new QueryError(
          'timeout',
          `no filter came on the control subject within ${this.ackTimeoutMs} ms of an awaitFilter request`,
        );
      }
    }
    if (!this.filter) throw this.signal.reason;
    const parsed = ScanFilterSchema.safeParse(this.filter);
    if (!parsed.success) {
      throw new QueryError('bad_request', `invalid scan filter: ${issuesText(parsed.error, 'filter')}`);
    }
    return parsed.data;
  }

  close(): void {
    this.publishQueued();
    this.subscription?.unsubscribe();
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
          seq,
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
      this.acked = Math.max(this.acked, message.seq);
    } else if (message?.type === 'cancel') {
      this.controller.abort(new QueryError('cancelled', message.reason ?? 'cancelled by the receiver'));
    } else if (message?.type === 'filter') {
      // A scan that sends its rows at once (awaitsFilter: false) never reads it.
      this.filter = message;
    } else {
      this.log.warn('unknown scan control message ignored', { type: String(message?.type) });
      return;
    }
    this.wake?.();
  }

  /** Tells the receiver why the scan stops (as frame `seq`), then stops it. */
  private fail(err: QueryError, seq: number): void {
    this.log.warn('scan stopped', { error: err.message });
    const frame = errorFrame(seq, err);
    this.enqueue(frame, encode(frame, this.encoding));
    this.controller.abort(err);
    this.wake?.();
  }
}
