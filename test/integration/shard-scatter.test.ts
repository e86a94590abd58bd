/**
 * A table split 3 ways (part 0 with 2 replicas) beside an unsplit one, served by real
 * containers from s3rver over a real NATS: queries through the coordinator equal single-node
 * DuckDB over the same objects; a replica killed mid-scan is failed over; a part with no
 * replica left is a 503 naming it; `scan` reads every part, or one.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteLiteral } from '../../src/duckdb/sql.js';
import { decode, encode } from '../../src/protocol/codec.js';
import type { ScanRequest } from '../../src/protocol/frames.js';
import { partSubject } from '../../src/protocol/shards.js';
import { QUEUE_GROUP } from '../../src/protocol/subjects.js';
import { openHttpScan } from '../../src/scan-client/http-scan.js';
import { type ManagedProcess, startCliProcess } from '../../src/tools/local-cluster.js';
import { S3_EMULATOR_ENV } from '../../src/tools/s3-emulator.js';
import { askCoordinator } from '../helpers/coordinator.js';
import { type NatsServer, startNatsServer } from '../helpers/nats.js';
import { canonicalRows, oracleAnswer } from '../helpers/oracle.js';
import { CLI, cpuSeconds, killChildren, type ServeProcess, startServe } from '../helpers/processes.js';
import { gzip, startTestS3, type TestS3 } from '../helpers/s3.js';

const BUCKET = 'shards';
/** Rows of each part of `events`: ids are consecutive across parts, so their ranges do not overlap. */
const PART_ROWS = [100_000, 20_000, 5_000];
const USERS = 1_000;
const KINDS = ['click', 'view', 'purchase', 'signup', 'share'];

interface PartStats {
  part: number;
  replica?: string;
  rows: number;
  tries: number;
  skipped?: string;
}
interface TableStats {
  table: string;
  rows: number;
  dynamic_filter?: string;
  partial_aggregate?: string;
  parts?: PartStats[];
}

let s3: TestS3;
let nats: NatsServer;
let dir: string;
let oracle: DuckDBConnection;
let coordinator: ManagedProcess;
let noPushdown: ManagedProcess;
/** The containers of each part of `events`. */
const parts: ServeProcess[][] = [[], [], []];

function eventsCsv(from: number, rows: number): string {
  const lines = ['id,user_id,kind,amount,day'];
  for (let id = from; id < from + rows; id++) {
    const day = new Date(Date.UTC(2024, 0, 1) + Math.floor(id / 1_000) * 86_400_000)
      .toISOString()
      .slice(0, 10);
    lines.push(
      `${id},${(id * 7919) % USERS},${KINDS[(id * 31) % 5]},${((id * 37) % 10_000) / 100 + 0.01},${day}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function usersCsv(): string {
  const countries = ['NL', 'DE', 'FR', 'US', 'JP', 'BR', 'IN', 'ZA'];
  const lines = ['user_id,name,country'];
  for (let id = 0; id < USERS; id++)
    lines.push(`${id},user ${id},${countries[(id * 13) % countries.length]}`);
  return `${lines.join('\n')}\n`;
}

/** Uploads `csv` gzipped and keeps a local copy for the oracle; its s3:// URL. */
async function object(key: string, csv: string): Promise<{ url: string; file: string }> {
  const file = join(dir, key);
  await writeFile(file, csv);
  return { url: await s3.put(BUCKET, `${key}.gz`, gzip(csv)), file };
}

function serve(url: string, table: string, shard?: string): Promise<ServeProcess> {
  const args = [url, '--table-name', table, '--nats', nats.url, '--s3-endpoint', s3.endpoint];
  return startServe(shard ? [...args, '--shard', shard] : args, { ...S3_EMULATOR_ENV, LOG_LEVEL: 'warn' });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shard-scatter-'));
  [s3, nats] = await Promise.all([startTestS3(), startNatsServer()]);
  await s3.createBucket(BUCKET);
  const starts = PART_ROWS.map((_, i) => PART_ROWS.slice(0, i).reduce((a, b) => a + b, 0));
  const events = await Promise.all(
    PART_ROWS.map((rows, i) => object(`events-${i}.csv`, eventsCsv(starts[i], rows))),
  );
  const users = await object('users.csv', usersCsv());
  const replicas = [0, 0, 1, 2];
  await Promise.all([
    serve(users.url, 'users'),
    ...replicas.map(async (part) => {
      parts[part].push(await serve(events[part].url, 'events', `${part}/3`));
    }),
  ]);
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  const files = events.map((e) => quoteLiteral(e.file)).join(', ');
  await con.run(`CREATE TABLE events AS SELECT * FROM read_csv([${files}])`);
  await con.run(`CREATE TABLE users AS SELECT * FROM read_csv(${quoteLiteral(users.file)})`);
  oracle = con;
  const env = { LOG_LEVEL: 'warn' };
  [coordinator, noPushdown] = await Promise.all([
    startCliProcess('coordinator', ['coordinator', '--nats', nats.url], env),
    startCliProcess('coordinator', ['coordinator', '--nats', nats.url, '--no-pushdown'], env),
  ]);
  // Both coordinators' discovery has seen every part.
  for (const c of [coordinator, noPushdown])
    await waitFor(async () => (await askCoordinator(c, 'SELECT count(*) AS n FROM events')).status === 200);
}, 120_000);

afterAll(async () => {
  oracle?.closeSync();
  await Promise.all([coordinator?.stop(), noPushdown?.stop()]);
  await killChildren();
  await Promise.all([s3?.stop(), nats?.dispose()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function waitFor(ok: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not so within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The coordinator's answer, checked against the oracle's; its tables' stats. */
async function askAndCompare(target: ManagedProcess, sql: string, ordered = false): Promise<TableStats[]> {
  const answer = await askCoordinator<{ tables: TableStats[] }>(target, sql);
  expect(answer.status, answer.message).toBe(200);
  const expected = await oracleAnswer(oracle, sql);
  expect(answer.columns).toEqual(expected.columns);
  expect(canonicalRows(answer.columns, answer.results, ordered)).toEqual(
    canonicalRows(expected.columns, expected.rows, ordered),
  );
  return answer.stats.tables;
}

const eventsStats = (tables: TableStats[]) => tables.find((t) => t.table === 'events') as TableStats;

const QUERIES: { sql: string; ordered?: boolean }[] = [
  { sql: 'SELECT count(*) AS n, sum(id) AS ids, min(day) AS d0, max(day) AS d1 FROM events' },
  { sql: 'SELECT kind, count(*) AS n, sum(user_id) AS u, max(amount) AS top FROM events GROUP BY kind' },
  { sql: 'SELECT * FROM events WHERE id BETWEEN 100500 AND 100600' },
  { sql: "SELECT id, kind FROM events WHERE day >= DATE '2024-04-25' AND amount > 50" },
  { sql: 'SELECT id, amount FROM events WHERE id > 10000000' },
  { sql: "SELECT * FROM events WHERE kind = 'share' ORDER BY id DESC LIMIT 7", ordered: true },
  {
    sql: `SELECT e.id, u.name FROM events e JOIN users u ON e.user_id = u.user_id
      WHERE u.country = 'NL' AND e.kind = 'click'`,
  },
  {
    sql: `SELECT u.country, count(*) AS n, sum(e.id) AS ids FROM events e JOIN users u ON e.user_id = u.user_id
      WHERE u.name LIKE 'user 1%' GROUP BY u.country`,
  },
  {
    sql: `SELECT count(*) AS n FROM users u
      WHERE u.user_id IN (SELECT user_id FROM events WHERE id % 997 = 0 AND id >= 100000)`,
  },
  {
    sql: `SELECT e.day, count(*) AS n FROM events e JOIN events f ON e.id = f.id + 1
      WHERE f.id BETWEEN 99990 AND 120010 GROUP BY e.day`,
  },
];

describe.each([
  ['pushdown', () => coordinator],
  ['no pushdown', () => noPushdown],
])('split with unsplit, %s: the oracle answer', (_mode, target) => {
  it.each(QUERIES.map((q) => [q.sql.replace(/\s+/g, ' ').slice(0, 80), q] as const))('%s', async (_l, q) => {
    const tables = await askAndCompare(target(), q.sql, q.ordered);
    const events = eventsStats(tables);
    expect(events.parts?.map((p) => p.part)).toEqual([0, 1, 2]);
    expect(events.rows).toBe(events.parts?.reduce((n, p) => n + p.rows, 0));
  });
});

it('every part asked reports its replica, rows and one try', async () => {
  // median() does not decompose: every part sends its rows.
  const sql = 'SELECT median(id) AS m, count(DISTINCT kind) AS kinds FROM events';
  const events = eventsStats(await askAndCompare(coordinator, sql));
  expect(events.rows).toBe(125_000);
  expect(events.parts).toEqual(
    PART_ROWS.map((rows, part) => ({
      part,
      replica: expect.any(String),
      rows,
      bytes: expect.any(Number),
      ms: expect.any(Number),
      tries: 1,
    })),
  );
});

it('an aggregate runs in the parts: they send a row per group, merged here', async () => {
  const sql =
    'SELECT kind, count(*) AS n, avg(id) AS a, count(DISTINCT day) AS days FROM events GROUP BY kind';
  const events = eventsStats(await askAndCompare(coordinator, sql));
  expect(events.partial_aggregate).toMatch(/group by 1 key/);
  const reader = await oracle.runAndReadAll('SELECT count(DISTINCT (kind, day)) FROM events');
  const groups = Number(reader.getRows()[0][0]);
  // Each part sends at most a row per (kind, day) it holds: the DISTINCT argument is a key there.
  expect(events.rows).toBeLessThanOrEqual(PART_ROWS.length * groups);
  expect(events.rows).toBeLessThan(PART_ROWS[0]);
});

it('dynamic filters reach every part', async () => {
  const events = eventsStats(
    await askAndCompare(
      coordinator,
      `SELECT e.id, u.name FROM events e JOIN users u ON e.user_id = u.user_id WHERE u.name LIKE 'user 1_'`,
    ),
  );
  expect(events.dynamic_filter).toMatch(/keys of users\.user_id/);
  // 10 users of 1,000: each part sends about 1% of its rows.
  for (const p of events.parts ?? []) expect(p.rows).toBeLessThan(PART_ROWS[p.part] / 50);
});

it('a filter outside a part’s range skips it, and one outside all of them skips them all', async () => {
  const some = eventsStats(
    await askAndCompare(coordinator, 'SELECT * FROM events WHERE id BETWEEN 100500 AND 100600'),
  );
  expect(some.parts?.filter((p) => p.skipped).map((p) => p.part)).toEqual([0, 2]);
  expect(some.parts?.find((p) => p.part === 1)).toMatchObject({ rows: 101, tries: 1 });
  const none = eventsStats(await askAndCompare(coordinator, 'SELECT id, day FROM events WHERE id < 0'));
  expect(none.parts?.every((p) => p.skipped && p.tries === 0)).toBe(true);
  expect(none.rows).toBe(0);
});

it.each([
  ['EXPLAIN', /part 1 duckdb\.events\.1\.scan \(1 replica\)/],
  ['EXPLAIN ANALYZE', /part 1: 101 rows in [\d.]+ ms from \w+/],
])('%s lists the parts of a split table', async (explain, part1) => {
  const sql = `${explain} SELECT * FROM events WHERE id BETWEEN 100500 AND 100600`;
  const answer = await askCoordinator(coordinator, sql);
  expect(answer.status, answer.message).toBe(200);
  const step = (answer.results as { table: string | null; detail: string | null }[]).find(
    (s) => s.table === 'events',
  );
  expect(step?.detail).toMatch(/^split in 3 parts/);
  expect(step?.detail).toMatch(part1);
  expect(step?.detail).toMatch(/part 0 skipped: id range/);
});

it('EXPLAIN of an aggregate over a split table shows the part query and the merge', async () => {
  const answer = await askCoordinator(
    coordinator,
    'EXPLAIN SELECT kind, count(*) AS n FROM events GROUP BY kind',
  );
  expect(answer.status, answer.message).toBe(200);
  const steps = answer.results as { runs: string; detail: string | null }[];
  expect(steps[0].detail).toMatch(/each part runs: SELECT .*GROUP BY/);
  expect(steps[0].detail).toMatch(/split in 3 parts/);
  expect(steps[1]).toMatchObject({ runs: 'coordinator' });
  expect(steps[1].detail).toMatch(/^merges the parts' rows: SELECT .*__partials/);
});

const run = promisify(execFile);

async function scanCli(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, 'scan', ...args, '--nats', nats.url], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout;
}

describe('scan TABLE', () => {
  const columns = ['id', 'user_id', 'kind', 'day'];
  const parse = (ndjson: string) =>
    ndjson
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('reads every part of a split table into one output', async () => {
    const rows = parse(await scanCli(['events', '--columns', columns.join(',')]));
    const expected = await oracleAnswer(oracle, `SELECT ${columns.join(', ')} FROM events`);
    expect(canonicalRows(columns, rows, false)).toEqual(canonicalRows(columns, expected.rows, false));
    const csv = await scanCli([
      'events',
      '--columns',
      'id,kind',
      '--format',
      'csv',
      '--where',
      'id % 1000 = 0',
    ]);
    const lines = csv.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('id,'))).toHaveLength(1);
    expect(lines).toHaveLength(1 + 125);
    // A limit over the parts: the 100 rows of part 0, then 10 of part 1's 20.
    const limited = parse(
      await scanCli(['events', '--columns', 'id', '--where', 'id % 1000 = 0', '--limit', '110']),
    ).map((r) => Number(r.id));
    expect(limited).toHaveLength(110);
    expect(new Set(limited).size).toBe(110);
    expect(limited.filter((id) => id % 1000 === 0 && id < 100_000)).toHaveLength(100);
    expect(limited.filter((id) => id % 1000 === 0 && id >= 100_000 && id < 120_000)).toHaveLength(10);
  });

  it('--shard I reads part I alone', async () => {
    const rows = parse(await scanCli(['events', '--columns', columns.join(','), '--shard', '1']));
    const expected = await oracleAnswer(
      oracle,
      `SELECT ${columns.join(', ')} FROM events WHERE id >= 100000 AND id < 120000`,
    );
    expect(canonicalRows(columns, rows, false)).toEqual(canonicalRows(columns, expected.rows, false));
  });

  it('fails with exit 1 when a part cannot be read', async () => {
    const failed = await run(process.execPath, [
      CLI,
      'scan',
      'events',
      '--shard',
      '7',
      '--nats',
      nats.url,
    ]).catch((err: { code: number; stderr: string }) => err);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringMatching(/duckdb\.events\.7\.scan/) });
  });
});

describe('faults', () => {
  it('an error every replica would give fails the query at once, naming the part', async () => {
    // Valid SQL that fails only on the rows (a kind is not a number), in every part.
    const answer = await askCoordinator(coordinator, 'SELECT id FROM events WHERE CAST(kind AS INTEGER) > 0');
    expect(answer.status, answer.message).toBe(400);
    expect(answer.message).toMatch(/table events, part \d of 3 \(duckdb\.events\.\d\.scan\): .*kind/);
    expect(answer.message).not.toMatch(/asked/);
  });

  it('a replica that fails after sending rows: they are dropped, and the part is asked again', async () => {
    const nc = await connect({ servers: nats.url });
    try {
      // Beside part 1's container, in its queue group: relays the first frames of that
      // container's own answer (over HTTP), then fails as a replica whose DuckDB broke would.
      const flaky = () => {
        const hit = { yes: false };
        const sub = nc.subscribe(partSubject('events', 1, 'scan'), { queue: QUEUE_GROUP, max: 1 });
        void (async () => {
          for await (const msg of sub) {
            hit.yes = true;
            const { id: _id, ...request } = decode(msg.data, 'msgpack') as ScanRequest;
            let seq = 0;
            for await (const frame of openHttpScan(parts[1][0].url, request, { idleTimeoutMs: 5_000 })) {
              msg.respond(encode(frame, 'msgpack'));
              seq = frame.seq + 1;
              if (frame.type === 'data') break;
            }
            const error = { type: 'error', seq, error: 'internal', message: 'the replica broke' };
            msg.respond(encode(error, 'msgpack'));
          }
        })();
        return { hit, sub };
      };
      const sql = 'SELECT median(id) AS m, sum(id) AS ids, count(DISTINCT kind) AS kinds FROM events';
      // NATS picks one member of the queue group: asked until it picks the flaky one.
      for (let round = 0; round < 20; round++) {
        const { hit, sub } = flaky();
        await nc.flush();
        const part1 = eventsStats(await askAndCompare(coordinator, sql)).parts?.find((p) => p.part === 1);
        sub.unsubscribe();
        if (!hit.yes) continue;
        expect(part1).toMatchObject({ rows: PART_ROWS[1], tries: 2 });
        return;
      }
      throw new Error('the flaky replica was never asked in 20 queries');
    } finally {
      await nc.close();
    }
  });

  it('a replica killed mid-scan: its part is asked again, and the answer is still right', async () => {
    // The pushed predicate, true of every row, keeps part 0's container busy for seconds
    // before its first row; the oracle is spared it.
    const join = `SELECT count(*) AS n, sum(e.id) AS ids FROM events e JOIN users u ON e.user_id = u.user_id
      WHERE u.country <> 'XX'`;
    const sql = `${join} AND length(repeat(e.kind, 1000)) > 3`;
    const expected = await oracleAnswer(oracle, join);
    // Planned first (the analysis is kept per SQL): the planner's estimate of what the
    // predicate keeps, asked of every part (and stopped past its time), is then over before
    // the replica at work is picked out by its CPU.
    await askCoordinator(coordinator, `EXPLAIN ${sql}`);
    await new Promise((r) => setTimeout(r, 500));
    const pids = parts[0].map((p) => p.process.pid as number);
    const before = pids.map(cpuSeconds);
    const asked = askCoordinator<{ tables: TableStats[] }>(coordinator, sql);
    // The replica that took the scan is the one that works (by CPU since the query began: a
    // loaded machine gives it only a slice).
    let busy: ServeProcess | undefined;
    const deadline = Date.now() + 20_000;
    while (!busy && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const used = pids.map((pid, i) => cpuSeconds(pid) - before[i]);
      const most = used.indexOf(Math.max(...used));
      if (used[most] >= 0.05 && used[most] > 3 * used[1 - most]) busy = parts[0][most];
    }
    if (!busy) await asked;
    expect(busy, 'neither replica of part 0 got busy').toBeDefined();
    busy?.process.kill('SIGKILL');
    const answer = await asked;
    expect(answer.status, answer.message).toBe(200);
    expect(canonicalRows(answer.columns, answer.results, false)).toEqual(
      canonicalRows(expected.columns, expected.rows, false),
    );
    const part0 = eventsStats(answer.stats.tables).parts?.find((p) => p.part === 0);
    expect(part0?.tries).toBeGreaterThan(1);
    // All its rows, or, where the planner knows users' keys narrow nothing (its estimates came
    // in time) and aggregates events below the join, a row per user of the part: all of them.
    const users = await oracleAnswer(
      oracle,
      `SELECT count(DISTINCT user_id) AS n FROM events WHERE id < ${PART_ROWS[0]}`,
    );
    expect([PART_ROWS[0], Number((users.rows[0] as { n: unknown }).n)]).toContain(part0?.rows);
  }, 60_000);

  it('every replica of a part gone: 503 naming the table and the part', async () => {
    for (const p of parts[2]) p.process.kill('SIGKILL');
    await Promise.all(parts[2].map((p) => p.exited));
    const answer = await askCoordinator(coordinator, 'SELECT count(*) AS n FROM events');
    expect(answer.status).toBe(503);
    expect(answer.message).toMatch(/events/);
    expect(answer.message).toMatch(/part 2/);
  });
});
