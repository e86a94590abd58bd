import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { generatedTable } from '../../src/bench/generated-table.js';
import { startTableService, type TableService } from '../../src/data-container/nats-service.js';
import type { LoadedTable } from '../../src/data-container/table.js';
import { QueryError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { openNatsScan } from '../../src/scan-client/nats-scan.js';
import { PROBE_AFTER_MS } from '../../src/scan-client/replica-probe.js';
import { type ManagedProcess, startCliProcess } from '../../src/tools/local-cluster.js';
import { startBenchServer } from '../helpers/bench-server.js';
import { askCoordinator } from '../helpers/coordinator.js';
import { collectScan } from '../helpers/frames.js';
import { type NatsServer, startNatsServer } from '../helpers/nats.js';

const log = createLogger('test');
/** About 300 frames of 512 KiB. */
const WIDE = `SELECT i::BIGINT AS id, repeat(chr(97 + (i % 26)::INTEGER), 140) || i AS text FROM range(1000000) t(i)`;
let wide: LoadedTable;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  wide = await generatedTable('wide', WIDE);
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function natsServer(options: Parameters<typeof startNatsServer>[0] = {}): Promise<NatsServer> {
  const server = await startNatsServer(options);
  cleanup.push(() => server.dispose());
  return server;
}

async function client(url: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  cleanup.push(() => nc.close());
  return nc;
}

async function service(table: LoadedTable, url: string): Promise<TableService> {
  const started = await startTableService(table, { url }, log);
  cleanup.push(() => started.stop());
  return started;
}

/** Retries a small scan until it succeeds (after a restart, subscriptions take a moment). */
async function scanSoon(nc: NatsConnection, table: string, withinMs: number): Promise<number> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      const scan = await collectScan(
        openNatsScan(nc, table, { columns: ['id'], limit: 3 }, { idleTimeoutMs: 1_000 }),
      );
      return scan.rows.length;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

test('a slow reader of a large scan gets every row and is never cut off', async () => {
  // A server that cuts a client after 8 MiB pending: without flow control, this scan would.
  const server = await natsServer({ maxPending: 8 * 1024 * 1024 });
  await (await service(wide, server.url)).ready;
  const nc = await client(server.url);
  const statuses: string[] = [];
  void (async () => {
    for await (const s of nc.status()) statuses.push(s.type);
  })();
  let rows = 0;
  let frames = 0;
  let maxAhead = 0;
  const startBytes = nc.stats().inBytes;
  for await (const frame of openNatsScan(nc, 'wide', { columns: [] }, { idleTimeoutMs: 10_000 })) {
    if (frame.type !== 'data') continue;
    rows += frame.rows;
    frames++;
    // Bytes received beyond the frames consumed: bounded by the window (8 frames of ~600 KB).
    maxAhead = Math.max(maxAhead, nc.stats().inBytes - startBytes - frames * 700_000);
    // Slow in both ways: now and then the event loop blocked (the socket goes unread, so
    // the server's pending bytes for this client grow), and a little idle time per frame.
    if (frames % 25 === 0) {
      const until = Date.now() + 250;
      while (Date.now() < until);
    }
    await new Promise((r) => setTimeout(r, 3));
  }
  expect(maxAhead).toBeLessThan(10 * 700_000);
  expect(frames).toBeGreaterThan(200);
  expect(rows).toBe(1_000_000);
  expect(statuses.filter((s) => s === 'disconnect' || s === 'slowConsumer')).toEqual([]);
});

/** Scans `table` and sends `signal` to its container at the first data frame; the error and how long after. */
async function scanAndSignal(url: string, table: string, signal: NodeJS.Signals, idleTimeoutMs: number) {
  const { child } = await startBenchServer(url, table, 3_000_000, cleanup);
  const nc = await client(url);
  let rows = 0;
  let signalledAt = 0;
  const error = await (async () => {
    for await (const frame of openNatsScan(nc, table, { columns: [] }, { idleTimeoutMs })) {
      if (frame.type !== 'data') continue;
      rows += frame.rows;
      if (!signalledAt) {
        child.kill(signal);
        signalledAt = performance.now();
      }
    }
  })().catch((e: unknown) => e);
  if (signal === 'SIGSTOP') child.kill('SIGKILL');
  return { error, rows, waited: performance.now() - signalledAt };
}

test('a data container killed mid-scan is found gone well before the idle timeout', async () => {
  const server = await natsServer();
  const idleTimeoutMs = 5_000;
  const { error, rows, waited } = await scanAndSignal(server.url, 'victim', 'SIGKILL', idleTimeoutMs);
  expect(error).toBeInstanceOf(QueryError);
  expect(error).toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/"victim" is gone/) });
  expect(rows).toBeLessThan(3_000_000);
  // Silence for PROBE_AFTER_MS, then "no responders" on its instance subject.
  expect(waited).toBeLessThan(PROBE_AFTER_MS + 1_500);
});

test('a data container that hangs mid-scan (still connected) fails the reader at its idle timeout', async () => {
  const server = await natsServer();
  const idleTimeoutMs = 1_500;
  const { error, rows, waited } = await scanAndSignal(server.url, 'frozen', 'SIGSTOP', idleTimeoutMs);
  expect(error).toBeInstanceOf(QueryError);
  expect(error).toMatchObject({
    kind: 'unavailable',
    message: expect.stringMatching(/"frozen" sent nothing/),
  });
  expect(rows).toBeLessThan(3_000_000);
  expect(waited).toBeGreaterThanOrEqual(idleTimeoutMs - 100);
  expect(waited).toBeLessThan(idleTimeoutMs + 2_000);
});

test('after nats-server restarts, the same data container serves again', async () => {
  const server = await natsServer();
  await (await service(wide, server.url)).ready;
  const nc = await client(server.url);
  expect(await scanSoon(nc, 'wide', 1_000)).toBe(3);
  await server.restart();
  expect(await scanSoon(nc, 'wide', 15_000)).toBe(3);
});

test('a data container started while NATS is down registers once it is up', async () => {
  const server = await natsServer({ stopped: true });
  const started = await service(wide, server.url);
  let ready = false;
  void started.ready.then(() => {
    ready = true;
  });
  await new Promise((r) => setTimeout(r, 1_000));
  expect(ready).toBe(false);
  await server.start();
  await started.ready;
  const nc = await client(server.url);
  expect(await scanSoon(nc, 'wide', 5_000)).toBe(3);
});

test('a coordinator started while NATS is down serves at once and finds tables once NATS is up', async () => {
  const server = await natsServer({ stopped: true });
  const coordinator = await startCliProcess('coordinator', ['coordinator', '--nats', server.url], {
    LOG_LEVEL: 'silent',
  });
  cleanup.push(() => coordinator.stop());
  const ask = async () => {
    const response = await fetch(`${coordinator.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'SELECT count(*) AS n FROM wide' }),
    });
    return {
      status: response.status,
      body: (await response.json()) as { message?: string; results?: { n: number }[] },
    };
  };
  const early = await ask();
  expect(early.status).toBe(400);
  expect(early.body.message).toMatch(/not connected yet/);
  const listing = (await (await fetch(coordinator.url)).json()) as { nats: { connected: boolean } };
  expect(listing.nats.connected).toBe(false);
  await server.start();
  await (await service(wide, server.url)).ready;
  const deadline = Date.now() + 20_000;
  let answer = await ask();
  while (answer.status !== 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    answer = await ask();
  }
  expect(answer.body.results?.[0].n).toBe(wide.rowCount);
});

async function coordinatorOn(server: NatsServer): Promise<ManagedProcess> {
  const coordinator = await startCliProcess('coordinator', ['coordinator', '--nats', server.url], {
    LOG_LEVEL: 'silent',
  });
  cleanup.push(() => coordinator.stop());
  return coordinator;
}

test('a scan in flight when the NATS connection drops fails at once with a named 503', async () => {
  const server = await natsServer();
  await (await service(wide, server.url)).ready;
  const nc = await client(server.url);
  let stoppedAt = 0;
  const error = await (async () => {
    for await (const frame of openNatsScan(nc, 'wide', { columns: [] }, { idleTimeoutMs: 20_000 })) {
      if (frame.type === 'data' && !stoppedAt) {
        stoppedAt = performance.now();
        await server.stop();
      }
    }
  })().catch((e: unknown) => e);
  expect(error).toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/dropped.*"wide"/) });
  expect(performance.now() - stoppedAt).toBeLessThan(3_000);
});

test('a query running when nats-server goes down is a 503, not a 499 nor a hang', async () => {
  const server = await natsServer();
  await (await service(wide, server.url)).ready;
  const coordinator = await coordinatorOn(server);
  const asked = askCoordinator(coordinator, 'SELECT count(*) AS n FROM wide a, wide b, wide c');
  await new Promise((r) => setTimeout(r, 1_500));
  await server.stop();
  const stoppedAt = performance.now();
  const answer = await asked;
  expect(answer.status).toBe(503);
  expect(answer.message).toMatch(/wide/);
  expect(performance.now() - stoppedAt).toBeLessThan(5_000);
});

test('right after nats-server restarts, a query succeeds or fails fast, and succeeds within seconds', async () => {
  const server = await natsServer();
  await (await service(wide, server.url)).ready;
  const coordinator = await coordinatorOn(server);
  const sql = 'SELECT count(*) AS n FROM wide';
  expect((await askCoordinator(coordinator, sql)).status).toBe(200);
  await server.stop();
  await new Promise((r) => setTimeout(r, 3_000));
  await server.start();
  const restartedAt = performance.now();
  const first = await askCoordinator<unknown>(coordinator, sql);
  expect(performance.now() - restartedAt).toBeLessThan(6_000);
  if (first.status !== 200) {
    expect(first.status).toBe(503);
    expect(first.message).toMatch(/wide|NATS/);
  }
  let answer = first;
  while (answer.status !== 200 && performance.now() - restartedAt < 20_000) {
    await new Promise((r) => setTimeout(r, 250));
    answer = await askCoordinator(coordinator, sql);
  }
  expect(answer.results).toEqual([{ n: wide.rowCount }]);
  // The catalog looked again as soon as the connection was back, not at its next round.
  expect(performance.now() - restartedAt).toBeLessThan(6_000);
});
