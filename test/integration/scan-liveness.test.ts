import { setTimeout as sleep } from 'node:timers/promises';
import { connect, createInbox, type NatsConnection, nuid } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { benchTableSql, generatedTable } from '../../src/bench/generated-table.js';
import { startTableService, type TableService } from '../../src/data-container/nats-service.js';
import type { LoadedTable } from '../../src/data-container/table.js';
import { QueryError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { decode, encode } from '../../src/protocol/codec.js';
import type { ReplyMessage } from '../../src/protocol/frames.js';
import { controlSubject } from '../../src/protocol/subjects.js';
import { openNatsScan } from '../../src/scan-client/nats-scan.js';
import { type ManagedProcess, startCliProcess } from '../../src/tools/local-cluster.js';
import { type BenchServer, startBenchServer } from '../helpers/bench-server.js';
import { askCoordinator } from '../helpers/coordinator.js';
import { collectScan } from '../helpers/frames.js';
import { type NatsServer, startNatsServer } from '../helpers/nats.js';
import { cpuOver } from '../helpers/processes.js';

const log = createLogger('test');
/** Runs for hours: the cross product of three copies of a table. */
const ENDLESS = (t: string) => `SELECT count(*) AS n FROM ${t} a, ${t} b, ${t} c`;
const cleanup: (() => Promise<unknown>)[] = [];
let server: NatsServer;

beforeAll(async () => {
  server = await startNatsServer();
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

afterAll(async () => {
  await server?.dispose();
});

/** A data container in its own process. */
function benchServer(table: string, rows: number): Promise<BenchServer> {
  return startBenchServer(server.url, table, rows, cleanup);
}

async function coordinator(timeoutMs: number): Promise<ManagedProcess> {
  const started = await startCliProcess(
    'coordinator',
    ['coordinator', '--nats', server.url, '--timeout-ms', String(timeoutMs)],
    { LOG_LEVEL: 'silent' },
  );
  cleanup.push(() => started.stop());
  return started;
}

/** CPU seconds this process uses over the next `ms` (DuckDB's threads included). */
async function ownCpuOver(ms: number): Promise<number> {
  const before = process.cpuUsage();
  await sleep(ms);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

describe('a container killed mid-query', () => {
  test.each([
    ['a query pushed whole, before its first frame', ENDLESS('victim')],
    [
      'a join whose scan of it runs long',
      'SELECT count(*) AS n FROM victim a JOIN other b ON a.id = b.id WHERE length(repeat(a.name, 20000)) > 3',
    ],
  ])('%s: 503 naming the table within seconds', async (_label, sql) => {
    const victim = await benchServer('victim', 300_000);
    await benchServer('other', 1_000);
    const coord = await coordinator(40_000);
    const asked = askCoordinator(coord, sql);
    await sleep(1_500);
    victim.child.kill('SIGKILL');
    const killedAt = performance.now();
    const answer = await asked;
    const waited = performance.now() - killedAt;
    expect(answer.status).toBe(503);
    expect(answer.message).toMatch(/victim/);
    expect(waited).toBeLessThan(15_000);
  });
});

test('after a 504 on a query pushed whole, the container goes idle within a second', async () => {
  const items = await benchServer('items', 200_000);
  const coord = await coordinator(2_000);
  const answer = await askCoordinator(coord, ENDLESS('items'));
  expect(answer.status).toBe(504);
  await sleep(1_000);
  const pid = items.child.pid as number;
  expect(await cpuOver(pid, 1_000)).toBeLessThan(0.1);
});

test('POST /query on a container stops when its client leaves', async () => {
  const items = await benchServer('items', 200_000);
  const leaving = new AbortController();
  const asked = fetch(`${items.httpUrl}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: ENDLESS('items') }),
    signal: leaving.signal,
  }).catch((err: unknown) => err);
  const pid = items.child.pid as number;
  // Busy (the machine is shared: a fraction of a core is all it may get)…
  expect(await cpuOver(pid, 1_000)).toBeGreaterThan(0.1);
  leaving.abort();
  await asked;
  await sleep(1_000);
  // …then idle.
  expect(await cpuOver(pid, 1_000)).toBeLessThan(0.1);
});

describe('in-process container', () => {
  let table: LoadedTable;
  let service: TableService;
  let nc: NatsConnection;
  beforeAll(async () => {
    table = await generatedTable('spin', benchTableSql(200_000));
    service = await startTableService(table, { url: server.url }, log, { timeoutMs: 60_000, maxRows: 1000 });
    await service.ready;
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await service?.stop();
  });

  test.each([
    ['after its heartbeat', 700],
    ['before anything came back', 0],
  ])('a cancel sent %s, before the schema frame, stops the scan', async (_label, afterMs) => {
    const stop = new AbortController();
    const frames: string[] = [];
    const scan = (async () => {
      const options = { idleTimeoutMs: 10_000, signal: stop.signal };
      for await (const frame of openNatsScan(nc, 'spin', { columns: [], query: ENDLESS('spin') }, options)) {
        frames.push(frame.type);
      }
    })().catch((err: unknown) => err);
    await sleep(afterMs);
    stop.abort();
    expect(await scan).toMatchObject({ kind: 'cancelled' });
    expect(frames).toEqual([]);
    await sleep(1_000);
    expect(await ownCpuOver(1_000)).toBeLessThan(0.3);
  });

  test("the request's deadline stops a query pushed whole, with a timeout error frame", async () => {
    const started = performance.now();
    const error = await collectScan(
      openNatsScan(
        nc,
        'spin',
        { columns: [], query: ENDLESS('spin') },
        { idleTimeoutMs: 10_000, deadline: performance.now() + 1_000 },
      ),
    ).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(QueryError);
    expect(error).toMatchObject({ kind: 'timeout', message: expect.stringMatching(/deadline of \d+ ms/) });
    expect(performance.now() - started).toBeLessThan(5_000);
    await sleep(500);
    expect(await ownCpuOver(1_000)).toBeLessThan(0.3);
  });

  test('an ack beyond the frames sent is refused: the window stays shut', async () => {
    const id = nuid.next();
    const inbox = createInbox();
    const received: ReplyMessage[] = [];
    const sub = nc.subscribe(inbox, {
      callback: (_err, msg) => {
        received.push(decode(msg.data, 'msgpack') as ReplyMessage);
      },
    });
    const control = controlSubject('spin', id);
    try {
      nc.publish('duckdb.spin.scan', encode({ columns: [], id, window: 2 }, 'msgpack'), { reply: inbox });
      await sleep(300);
      expect(received[0]).toMatchObject({ type: 'heartbeat', seq: 0 });
      nc.publish(control, encode({ type: 'ack', seq: 1_000_000 }, 'msgpack'));
      await sleep(1_500);
      // The schema frame and the window's two data frames; nothing was acked.
      expect(received.filter((m) => m.type === 'data')).toHaveLength(2);
      nc.publish(control, encode({ type: 'ack', seq: 2 }, 'msgpack'));
      await sleep(500);
      expect(received.filter((m) => m.type === 'data').length).toBeGreaterThan(2);
    } finally {
      nc.publish(control, encode({ type: 'cancel' }, 'msgpack'));
      sub.unsubscribe();
    }
  });
});
