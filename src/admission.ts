/**
 * Admission control: at most `maxRunning` queries run at once in a process, up to
 * `maxQueued` more wait their turn (first come, first served), and any beyond that are
 * refused at once with 503 `overloaded` and a Retry-After. A query's wait counts against its
 * deadline. Why it matters here: every running DuckDB call holds one thread of libuv's pool
 * (4 unless UV_THREADPOOL_SIZE says otherwise), which parsing, appends and /health need too;
 * unbounded, a burst of heavy queries left even `SELECT 1` waiting for seconds.
 */
import { availableParallelism } from 'node:os';
import { QueryError } from './errors.js';

export interface AdmissionLimits {
  maxRunning: number;
  maxQueued: number;
}

/** What /health reports. */
export interface AdmissionCounts {
  running: number;
  queued: number;
  max_running: number;
  max_queued: number;
}

/** A turn to run: `release()` gives it back (more calls do nothing). */
export interface Turn {
  release(): void;
  /** Milliseconds spent waiting for the turn. */
  waitedMs: number;
}

interface Waiter {
  admit(): void;
  refuse(err: QueryError): void;
}

const RETRY_AFTER_SECONDS = 2;

/**
 * The default of --max-concurrent-queries: the cores, but leaving two threads of libuv's pool
 * free for what must not wait behind a heavy query (parsing, appends, /health).
 */
export function defaultMaxRunning(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(availableParallelism(), pool - 2));
}

export class Admission {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private readonly closing = new AbortController();

  constructor(private readonly limits: AdmissionLimits) {}

  /** Aborts when the process shuts down: running queries are interrupted with it. */
  get closed(): AbortSignal {
    return this.closing.signal;
  }

  counts(): AdmissionCounts {
    return {
      running: this.running,
      queued: this.waiting.length,
      max_running: this.limits.maxRunning,
      max_queued: this.limits.maxQueued,
    };
  }

  /**
   * Waits for a turn: at once while fewer than maxRunning run, else in the queue for at most
   * `deadlineMs` (504 `timeout`) or until `signal` aborts (499 `cancelled`). A full queue is
   * 503 `overloaded` at once, and so is a process that is shutting down.
   */
  async enter(deadlineMs: number, signal: AbortSignal): Promise<Turn> {
    const started = performance.now();
    if (this.closing.signal.aborted) throw shuttingDown();
    if (this.running < this.limits.maxRunning) {
      this.running++;
      return this.turn(started);
    }
    if (this.waiting.length >= this.limits.maxQueued) {
      throw new QueryError(
        'overloaded',
        `this server is busy: ${this.limits.maxRunning} queries run and ${this.limits.maxQueued} wait ` +
          `(--max-concurrent-queries, --max-queued-queries); try again in ${RETRY_AFTER_SECONDS} s`,
        { retryAfterSeconds: RETRY_AFTER_SECONDS },
      );
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        admit: () => {
          done();
          resolve();
        },
        refuse: (err) => {
          done();
          reject(err);
        },
      };
      const timer = setTimeout(
        () =>
          waiter.refuse(
            new QueryError(
              'timeout',
              `the query waited ${deadlineMs} ms for a turn and was not run: ${this.limits.maxRunning} queries ` +
                'were running all that time (--max-concurrent-queries); try again later, or raise --timeout-ms',
            ),
          ),
        deadlineMs,
      );
      const onAbort = () =>
        waiter.refuse(new QueryError('cancelled', 'the client went away while the query waited'));
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
    return this.turn(started);
  }

  /** Refuses every waiting query and aborts `closed`, which interrupts the running ones. */
  close(): void {
    this.closing.abort();
    for (const waiter of [...this.waiting]) waiter.refuse(shuttingDown());
  }

  /** A turn already counted in `running`. */
  private turn(started: number): Turn {
    let released = false;
    return {
      waitedMs: performance.now() - started,
      release: () => {
        if (released) return;
        released = true;
        const next = this.waiting.shift();
        // The slot passes straight to the next in line, so that no newcomer takes it first.
        if (next) next.admit();
        else this.running--;
      },
    };
  }
}

function shuttingDown(): QueryError {
  return new QueryError('unavailable', 'this server is shutting down; send the query again', {
    retryAfterSeconds: 1,
  });
}
