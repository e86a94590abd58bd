/**
 * What every scan receiver checks, whatever the transport: frames come numbered 0, 1, 2...,
 * schema first, and an end frame whose counts match what arrived closes the stream. A gap,
 * a late frame, or silence for longer than the idle timeout is an error, never a short result.
 */
import { type ErrorKind, errorKindStatus, QueryError } from '../errors.js';
import { decode, type Encoding } from '../protocol/codec.js';
import type { Frame } from '../protocol/frames.js';

export interface ScanStreamOptions {
  /** Fail when no frame arrives for this long. */
  idleTimeoutMs: number;
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

  /** `source` names the sender in messages, e.g. `table "labels"`. */
  constructor(
    private readonly source: string,
    private readonly encoding: Encoding,
  ) {}

  /** The frame in `bytes`, checked; an error frame is thrown as the QueryError it carries. */
  accept(bytes: Uint8Array): Frame {
    let frame: Frame;
    try {
      frame = decode(bytes, this.encoding) as Frame;
    } catch (err) {
      throw new QueryError(
        'protocol_error',
        `unreadable scan frame from ${this.source}: ${(err as Error).message}`,
      );
    }
    if (
      typeof frame !== 'object' ||
      frame === null ||
      typeof frame.type !== 'string' ||
      typeof frame.seq !== 'number'
    ) {
      throw new QueryError('protocol_error', `malformed scan frame from ${this.source}`);
    }
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
    if (frame.type === 'data') {
      this.rows += frame.rows;
      this.frames++;
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
    const timer = setTimeout(() => settle(() => reject(onIdle())), ms);
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
