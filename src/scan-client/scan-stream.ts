/**
 * What every scan receiver checks, whatever the transport: frames come numbered 0, 1, 2...,
 * schema first, and an end frame whose counts match what arrived closes the stream. A gap,
 * a late frame, or silence for longer than the idle timeout is an error, never a short result.
 * Heartbeats are taken as signs of life (and say which frames were sent before them); the
 * parts of a frame too large for one message are joined here, and packed integer columns
 * widened (integer-pack.ts), so that what follows reads every column in the schema's layout.
 */
import { type ErrorKind, errorKindStatus, QueryError } from '../errors.js';
import { decode, type Encoding } from '../protocol/codec.js';
import { PartJoiner } from '../protocol/frame-parts.js';
import type { ColumnSchema, Frame, ReplyMessage, ScanRequest, WireColumn } from '../protocol/frames.js';
import { packableType, unpackColumn } from '../protocol/integer-pack.js';

export interface ScanStreamOptions {
  /** Fail when nothing (frame or heartbeat) arrives for this long: SILENCE_MS, or less. */
  idleTimeoutMs: number;
  /** performance.now() past which the requester no longer waits: sent as the request's `timeoutMs`. */
  deadline?: number;
  signal?: AbortSignal;
  /** msgpack (columnar data frames) by default; JSON gets rows of JSON values. */
  encoding?: Encoding;
}

export class FrameSequence {
  private expected = 0;
  private rows = 0;
  private frames = 0;
  /** An end or error frame arrived: the sender is done. */
  complete = false;
  /** A message came from the sender: its heartbeat, or a frame or part of one. */
  heard = false;
  /** The sender's instance id, from its heartbeats (NATS only). */
  instance: string | undefined;
  private readonly parts = new PartJoiner();
  /** The schema frame's columns, which packed columns are widened to. */
  private columns: ColumnSchema[] = [];

  /** `source` names the sender in messages, e.g. `table "labels"`. */
  constructor(
    private readonly source: string,
    private readonly encoding: Encoding,
  ) {}

  /**
   * The frame in `bytes`, checked; undefined for a heartbeat or a part of a frame not yet
   * complete. An error frame is thrown as the QueryError it carries.
   */
  accept(bytes: Uint8Array): Frame | undefined {
    let message: ReplyMessage;
    try {
      message = decode(bytes, this.encoding) as ReplyMessage;
    } catch (err) {
      throw new QueryError(
        'protocol_error',
        `unreadable scan frame from ${this.source}: ${(err as Error).message}`,
      );
    }
    this.heard = true;
    if (!isMessage(message))
      throw new QueryError('protocol_error', `malformed scan frame from ${this.source}`);
    if (message.type === 'heartbeat') {
      if (typeof message.instance === 'string') this.instance = message.instance;
      // Everything sent before it has arrived (one sender, one subject: NATS keeps the order).
      if (message.seq !== this.expected || this.parts.pending) throw this.lost(message.seq);
      return undefined;
    }
    if (message.type !== 'part') return this.check(message);
    let joined: unknown;
    try {
      joined = this.parts.add(message, this.encoding);
    } catch (err) {
      throw new QueryError('protocol_error', `scan of ${this.source}: ${(err as Error).message}`);
    }
    if (joined === undefined) return undefined;
    if (
      !isMessage(joined) ||
      joined.seq !== message.seq ||
      joined.type === 'part' ||
      joined.type === 'heartbeat'
    ) {
      throw new QueryError(
        'protocol_error',
        `scan of ${this.source}: the parts of frame ${message.seq} make no frame`,
      );
    }
    return this.check(joined);
  }

  private lost(seq: number): QueryError {
    return new QueryError(
      'protocol_error',
      `scan of ${this.source}: the sender had sent ${seq} frames where ${this.expected} arrived; frames were lost, so the result would be incomplete`,
    );
  }

  private check(frame: Frame): Frame {
    if (frame.type === 'error') {
      this.complete = true;
      const kind = errorKindStatus(frame.error as ErrorKind) ? (frame.error as ErrorKind) : 'internal';
      throw new QueryError(kind, `${this.source}: ${frame.message}`);
    }
    if (frame.seq !== this.expected) {
      throw new QueryError(
        'protocol_error',
        `scan of ${this.source}: frame ${frame.seq} arrived where ${this.expected} was due; frames were lost, so the result would be incomplete`,
      );
    }
    if ((this.expected === 0) !== (frame.type === 'schema')) {
      throw new QueryError(
        'protocol_error',
        `scan of ${this.source}: unexpected ${frame.type} frame ${frame.seq}`,
      );
    }
    this.expected++;
    if (frame.type === 'schema') {
      this.columns = Array.isArray(frame.columns) ? frame.columns : [];
    } else if (frame.type === 'data') {
      this.rows += frame.rows;
      this.frames++;
      if (Array.isArray(frame.columns) && frame.columns.some(isPacked)) {
        const columns = frame.columns.map((c, i) => this.widened(c, frame.rows, this.columns[i]));
        return { ...frame, columns };
      }
    } else if (frame.type === 'keys' && isPacked(frame.values)) {
      const name = String(frame.column).toLowerCase();
      const schema = this.columns.find((c) => c.name.toLowerCase() === name);
      return { ...frame, values: this.widened(frame.values, frame.rows, schema) };
    } else if (frame.type === 'end') {
      if (frame.rows !== this.rows || frame.frames !== this.frames) {
        throw new QueryError(
          'protocol_error',
          `scan of ${this.source}: the end frame counts ${frame.rows} rows in ${frame.frames} frames, but ${this.rows} rows in ${this.frames} frames arrived`,
        );
      }
      this.complete = true;
    }
    return frame;
  }

  /** A packed column widened to its schema column's layout; unpacked ones as they are. */
  private widened(column: WireColumn, rows: number, schema: ColumnSchema | undefined): WireColumn {
    if (!isPacked(column)) return column;
    const type = schema && packableType(schema);
    const widened = type
      ? unpackColumn(column, rows, type, column.pack)
      : 'its column is not a packable integer column';
    if (typeof widened === 'string')
      throw new QueryError(
        'protocol_error',
        `scan of ${this.source}: a packed column${schema ? ` (${schema.name})` : ''} is malformed: ${widened}`,
      );
    return widened;
  }
}

/** Whether a column came packed (integer-pack.ts). */
function isPacked(column: WireColumn | undefined): boolean {
  return column?.pack !== undefined;
}

function isMessage(value: unknown): value is ReplyMessage {
  const message = value as ReplyMessage | null;
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof message.type === 'string' &&
    typeof message.seq === 'number'
  );
}

/**
 * `next`, unless `ms` pass first (then `onIdle()` is thrown) or `signal` aborts (then a
 * `cancelled` QueryError).
 */
export function withIdleTimeout<T>(
  next: Promise<T>,
  ms: number,
  signal: AbortSignal | undefined,
  onIdle: () => QueryError,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(cancelled(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => settle(() => reject(cancelled(signal)));
    // Checked once more after the poll phase: when this process's own event loop was held up,
    // a message may be waiting in the socket while the timer fires first.
    const timer = setTimeout(() => setImmediate(() => settle(() => reject(onIdle()))), ms);
    const settle = (fn: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    next.then(
      (value) => settle(() => resolve(value)),
      (err: unknown) => settle(() => reject(err)),
    );
  });
}

function cancelled(signal: AbortSignal | undefined): QueryError {
  const reason = signal?.reason;
  return reason instanceof QueryError ? reason : new QueryError('cancelled', 'the scan was cancelled');
}

/** The request with the requester's remaining time (`timeoutMs`), when it has a deadline. */
export function withDeadline(request: ScanRequest, deadline: number | undefined): ScanRequest {
  if (deadline === undefined) return request;
  return { ...request, timeoutMs: Math.max(1, Math.round(deadline - performance.now())) };
}
