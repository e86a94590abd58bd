/** Admission control: slots, a bounded queue, deadlines, clients that leave, shutdown. */
import { describe, expect, it } from 'vitest';
import { Admission } from '../../src/admission.js';
import type { QueryError } from '../../src/errors.js';

const never = new AbortController().signal;

describe('Admission', () => {
  it('runs up to maxRunning at once, queues up to maxQueued, and refuses the rest with a Retry-After', async () => {
    const admission = new Admission({ maxRunning: 2, maxQueued: 1 });
    const first = await admission.enter(1_000, never);
    await admission.enter(1_000, never);
    const waiting = admission.enter(1_000, never);
    expect(admission.counts()).toEqual({ running: 2, queued: 1, max_running: 2, max_queued: 1 });
    const refused = (await admission.enter(1_000, never).catch((e) => e)) as QueryError;
    expect(refused).toMatchObject({ kind: 'overloaded', status: 503 });
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    // A released slot goes to the one waiting, not to a newcomer.
    first.release();
    first.release();
    const third = await waiting;
    expect(admission.counts()).toMatchObject({ running: 2, queued: 0 });
    expect(third.waitedMs).toBeGreaterThanOrEqual(0);
  });

  it('gives up waiting at the deadline with a timeout, and when the client leaves', async () => {
    const admission = new Admission({ maxRunning: 1, maxQueued: 4 });
    await admission.enter(1_000, never);
    await expect(admission.enter(50, never)).rejects.toMatchObject({ kind: 'timeout' });
    const leave = new AbortController();
    const waiting = admission.enter(10_000, leave.signal);
    leave.abort();
    await expect(waiting).rejects.toMatchObject({ kind: 'cancelled' });
    expect(admission.counts()).toMatchObject({ running: 1, queued: 0 });
  });

  it('refuses waiting and new queries once closed, and aborts its signal', async () => {
    const admission = new Admission({ maxRunning: 1, maxQueued: 4 });
    await admission.enter(1_000, never);
    const waiting = admission.enter(10_000, never);
    admission.close();
    expect(admission.closed.aborted).toBe(true);
    await expect(waiting).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(admission.enter(1_000, never)).rejects.toMatchObject({ kind: 'unavailable' });
  });
});
