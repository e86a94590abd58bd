/**
 * Split tables end to end (issue 16), over real S3 (s3rver), NATS and `serve --shard I/N`
 * processes: the three sample tables each in 3 parts with 2 replicas per part — labels as a
 * prefix of objects of very different sizes (one header-only), label_sublabels as 2 objects
 * over 3 parts (one part empty), label_urls as one object per part (the last header-only) —
 * answer the differential corpus and every aggregate, decomposable or not, exactly as one
 * DuckDB over the same data does, with pushdown on and off. Then the faults: a replica killed
 * mid-scan, every replica of a part gone, a replica that comes back, replicas with different
 * data, containers that disagree on N. One cluster for the whole file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupedTableSql } from '../../src/bench/generated-table.js';
import { firstScanning } from '../../src/bench/scans-in-flight.js';
import type { ManagedProcess } from '../../src/tools/local-cluster.js';
import { type SampleData, writeSampleData } from '../../src/tools/sample-data.js';
import { singleNodeDuckDB } from '../../src/tools/single-node.js';
import { splitIntoObjects } from '../../src/tools/split-objects.js';
import { type BenchServer, startBenchServer } from '../helpers/bench-server.js';
import { askCoordinator } from '../helpers/coordinator.js';
import { canonicalRows, type DiffQuery, describeAgainstOracle, oracleAnswer } from '../helpers/oracle.js';
import { gzip } from '../helpers/s3.js';
import { type SplitCluster, startSplitCluster } from '../helpers/split-cluster.js';
import { DIFF_QUERIES } from './differential-queries.js';
import { SHARD_AGGREGATES } from './shard-aggregates.js';

const LABELS = 2_000;
const PARTS = 3;
const REPLICAS = 2;
/** The fault table: generated in bench-server processes, large enough to kill one mid-scan. */
const FAULTY = 'faulty';
const FAULTY_ROWS = 1_500_000;
/** A median does not decompose: every part sends its filtered rows. */
const LONG_SCAN = `SELECT median(amount) AS m, count(*) AS n, sum(id) AS s, max(name) AS last FROM ${FAULTY} WHERE id % 2 = 0`;

interface PartStats {
  part: number;
  replica?: string;
  rows: number;
  tries?: number;
  skipped?: string;
}
interface Stats {
  tables: { table: string; rows: number; parts?: PartStats[]; partial_aggregate?: string; query?: string }[];
}

interface ContainerMetadata {
  row_count: number;
  shard: { index: number; count: number };
  version: string;
}

let dir: string;
let sample: SampleData;
let cluster: SplitCluster;
let pushdownOn: ManagedProcess;
let pushdownOff: ManagedProcess;
let oracle: DuckDBConnection;
const cleanup: (() => Promise<unknown>)[] = [];
/** The fault table's replicas, by part. */
const faulty: BenchServer[][] = [];

function startFaultyReplica(part: number): Promise<BenchServer> {
  return startBenchServer(cluster.nats.url, FAULTY, FAULTY_ROWS, cleanup, [
    '--grouped',
    '--shard',
    `${part}/${PARTS}`,
  ]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asks until `done(answer)` holds (discovery and the catalog take a moment to see a change). */
async function askUntil(
  coordinator: ManagedProcess,
  sql: string,
  done: (answer: Awaited<ReturnType<typeof askCoordinator<Stats>>>) => boolean,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await askCoordinator<Stats>(coordinator, sql);
    if (done(answer) || Date.now() > deadline) return answer;
    await sleep(250);
  }
}

async function expectOracleAnswer(coordinator: ManagedProcess, sql: string): Promise<void> {
  const expected = await oracleAnswer(oracle, sql);
  const actual = await askCoordinator(coordinator, sql);
  expect(actual.status, actual.message).toBe(200);
  expect(canonicalRows(actual.columns, actual.results, false)).toEqual(
    canonicalRows(expected.columns, expected.rows, false),
  );
}

/** Tiny tables of their own, served from S3 by real containers. */
async function tinyObjects(table: string, bodies: Record<string, string>): Promise<Record<string, string>> {
  const files = await Promise.all(
    Object.entries(bodies).map(async ([name, body]) => {
      const file = join(dir, `${table}-${name}.csv.gz`);
      await writeFile(file, gzip(body));
      return file;
    }),
  );
  const urls = await cluster.upload(table, files);
  return Object.fromEntries(Object.keys(bodies).map((name, i) => [name, urls[i]]));
}

/**
 * The tables the coordinator must refuse: `mismatch`, whose part 0 has two replicas with
 * different data, and `disagree`, whose containers say 2 and 3 parts. Started beside the rest,
 * so that discovery has seen them by the time their tests ask. The versions of mismatch's
 * part 0 replicas.
 */
async function startRefusedTables(): Promise<{ versions: string[] }> {
  const m = await tinyObjects('mismatch', {
    a: 'id,v\n1,a\n2,b\n',
    b: 'id,v\n1,a\n2,b\n3,c\n',
    c: 'id,v\n10,x\n',
  });
  const d = await tinyObjects('disagree', { a: 'id\n1\n', b: 'id\n2\n', c: 'id\n3\n' });
  const [replicaA, replicaB] = await Promise.all([
    cluster.serve('mismatch 0/2 #1', [m.a, '--table-name', 'mismatch', '--shard', '0/2']),
    cluster.serve('mismatch 0/2 #2', [m.b, '--table-name', 'mismatch', '--shard', '0/2']),
    cluster.serve('mismatch 1/2 #1', [m.c, '--table-name', 'mismatch', '--shard', '1/2']),
    cluster.serve('disagree 0/2', [d.a, '--table-name', 'disagree', '--shard', '0/2']),
    cluster.serve('disagree 1/2', [d.b, '--table-name', 'disagree', '--shard', '1/2']),
    cluster.serve('disagree 2/3', [d.c, '--table-name', 'disagree', '--shard', '2/3']),
  ]);
  const versions = await Promise.all(
    [replicaA, replicaB].map(
      async (r) => ((await (await fetch(`${r.url}/metadata`)).json()) as ContainerMetadata).version,
    ),
  );
  return { versions };
}
let refused: Promise<{ versions: string[] }>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shards-test-'));
  sample = await writeSampleData(join(dir, 'data'), { labels: LABELS });
  const [labels, sublabels, urls] = await Promise.all([
    splitIntoObjects(sample.files.labels, join(dir, 'labels'), [8, 1, 1, 0, 1, 1]),
    splitIntoObjects(sample.files.label_sublabels, join(dir, 'label_sublabels'), [1, 1]),
    splitIntoObjects(sample.files.label_urls, join(dir, 'label_urls'), [9, 1, 0]),
  ]);
  cluster = await startSplitCluster({
    labels: { objects: labels, parts: PARTS, replicas: REPLICAS },
    label_sublabels: { objects: sublabels, parts: PARTS, replicas: REPLICAS },
    label_urls: { objects: urls, parts: PARTS, replicas: REPLICAS, objectPerPart: true },
  });
  refused = startRefusedTables();
  // Awaited by the tests that need it; a failure shows there.
  refused.catch(() => undefined);
  for (let part = 0; part < PARTS; part++) {
    faulty.push(await Promise.all(Array.from({ length: REPLICAS }, () => startFaultyReplica(part))));
  }
  [pushdownOn, pushdownOff] = await Promise.all([
    cluster.startCoordinator(),
    cluster.startCoordinator(['--no-pushdown']),
  ]);
  oracle = await singleNodeDuckDB(sample.files);
  await oracle.run(`CREATE TABLE ${FAULTY} AS ${groupedTableSql(0, FAULTY_ROWS)}`);
  // Every part of every table found by both coordinators before the comparisons start.
  const counts = { ...sample.rows, [FAULTY]: FAULTY_ROWS };
  for (const coordinator of [pushdownOn, pushdownOff]) {
    for (const [table, rows] of Object.entries(counts)) {
      const answer = await askUntil(
        coordinator,
        `SELECT count(*) AS n FROM ${table}`,
        (a) => a.status === 200 && Number((a.results[0] as { n: number }).n) === rows,
      );
      expect(answer.message ?? answer.results, `${table} whole`).toEqual([{ n: rows }]);
    }
  }
}, 240_000);

afterAll(async () => {
  oracle?.closeSync();
  for (const c of cleanup.reverse()) await c();
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('parts as served', () => {
  it('each container holds its part; replicas agree; the parts add up to the table; some parts are empty or small', async () => {
    const byTable = new Map<string, Map<number, ContainerMetadata[]>>();
    const sampleTables = [...cluster.containers].filter(([name]) => name.split(' ')[0] in sample.rows);
    for (const [name, proc] of sampleTables) {
      const metadata = (await (await fetch(`${proc.url}/metadata`)).json()) as ContainerMetadata;
      const table = name.split(' ')[0];
      expect(metadata.shard.count, name).toBe(PARTS);
      expect(name).toContain(`${metadata.shard.index}/${PARTS}`);
      const parts = byTable.get(table) ?? new Map<number, ContainerMetadata[]>();
      parts.set(metadata.shard.index, [...(parts.get(metadata.shard.index) ?? []), metadata]);
      byTable.set(table, parts);
    }
    const partRows: Record<string, number[]> = {};
    for (const [table, parts] of byTable) {
      expect([...parts.keys()].sort()).toEqual([0, 1, 2]);
      for (const replicas of parts.values()) {
        expect(replicas).toHaveLength(REPLICAS);
        expect(new Set(replicas.map((r) => r.version)).size, `${table}: replicas agree`).toBe(1);
        expect(new Set(replicas.map((r) => r.row_count)).size).toBe(1);
      }
      partRows[table] = [0, 1, 2].map((i) => parts.get(i)![0].row_count);
      const total = partRows[table].reduce((a, b) => a + b, 0);
      expect(total, table).toBe(sample.rows[table as keyof SampleData['rows']]);
    }
    expect(partRows.label_urls[2]).toBe(0);
    expect(partRows.label_sublabels.filter((n) => n === 0)).toHaveLength(1);
    expect(Math.max(...partRows.labels)).toBeGreaterThanOrEqual(3 * Math.min(...partRows.labels));
    expect(Math.min(...partRows.labels)).toBeGreaterThan(0);
  });

  it("scans every part that may hold rows, and stats name each part's replica and rows", async () => {
    const sql = 'SELECT url_id, url FROM label_urls WHERE url_id % 7 = 0';
    const answer = await askCoordinator<Stats>(pushdownOn, sql);
    expect(answer.status, answer.message).toBe(200);
    const parts = answer.stats.tables.find((t) => t.table === 'label_urls')?.parts ?? [];
    expect(parts.map((p) => p.part).sort()).toEqual([0, 1, 2]);
    const asked = parts.filter((p) => !p.skipped);
    expect(asked.map((p) => p.part).sort()).toEqual([0, 1]);
    expect(parts.find((p) => p.part === 2)?.skipped).toMatch(/empty/);
    for (const p of asked) expect(p.replica, `part ${p.part}`).toBeTruthy();
    expect(asked.reduce((n, p) => n + p.rows, 0)).toBe(answer.results.length);
    expect(answer.results.length).toBe((await oracleAnswer(oracle, sql)).rows.length);
  });

  it("an aggregating subquery of a split table in a join is aggregated in the table's parts", async () => {
    const sql =
      'SELECT l.category, count(*) AS labels, sum(x.n) AS urls FROM labels l JOIN (SELECT label_id, count(*) AS n FROM label_urls GROUP BY label_id) x USING (label_id) GROUP BY l.category';
    const answer = await askCoordinator<Stats>(pushdownOn, sql);
    expect(answer.status, answer.message).toBe(200);
    const urls = answer.stats.tables.find((t) => t.table === 'label_urls');
    expect(urls?.partial_aggregate).toMatch(/group by 1 key/);
    const distinct = await oracleAnswer(oracle, 'SELECT count(DISTINCT label_id) AS g FROM label_urls');
    const groups = Number((distinct.rows[0] as { g: unknown }).g);
    // A row per label and part holding it, never a row per url.
    expect(urls?.rows).toBeLessThanOrEqual(2 * groups);
    await expectOracleAnswer(pushdownOn, sql);
  });

  it("plans with each filtered split table's estimate: the sum of its parts' counts", async () => {
    const labels = "l.name LIKE '%test%'";
    const urls = 'u.url_id % 3 = 0';
    const response = await fetch(`${pushdownOn.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `EXPLAIN SELECT l.name, u.url FROM labels l JOIN label_urls u ON l.label_id = u.label_id WHERE ${labels} AND ${urls}`,
      }),
    });
    expect(response.status).toBe(200);
    const steps = ((await response.json()) as { results: { table: string; estimated_rows: number | null }[] })
      .results;
    const count = async (sql: string) =>
      Number(Object.values((await oracleAnswer(oracle, sql)).rows[0] as object)[0]);
    // Every part is smaller than the sample: each counts all its rows, so the sums are exact.
    expect(steps.find((s) => s.table === 'labels')?.estimated_rows).toBe(
      await count(`SELECT count(*) FROM labels l WHERE ${labels}`),
    );
    expect(steps.find((s) => s.table === 'label_urls')?.estimated_rows).toBe(
      await count(`SELECT count(*) FROM label_urls u WHERE ${urls}`),
    );
  });

  it('skips parts whose ranges cannot match the filter, and still answers right', async () => {
    const sql = 'SELECT * FROM labels WHERE label_id <= 10';
    const answer = await askCoordinator<Stats>(pushdownOn, sql);
    expect(answer.status, answer.message).toBe(200);
    const parts = answer.stats.tables.find((t) => t.table === 'labels')?.parts ?? [];
    expect(parts.filter((p) => p.skipped).length).toBeGreaterThanOrEqual(1);
    await expectOracleAnswer(pushdownOn, sql);
  });
});

const corpus: DiffQuery[] = [...DIFF_QUERIES, ...SHARD_AGGREGATES];
describeAgainstOracle(
  'split tables',
  corpus,
  { 'pushdown on': () => pushdownOn, 'pushdown off': () => pushdownOff },
  () => oracle,
);

describe('faults', () => {
  it('a replica SIGKILLed mid-scan: the query still answers right, its part asked again', async () => {
    const expected = await oracleAnswer(oracle, LONG_SCAN);
    let finished = false;
    const pending = askCoordinator<Stats>(pushdownOn, LONG_SCAN).finally(() => {
      finished = true;
    });
    const replicas = faulty.flat();
    const busy = await firstScanning(
      replicas.map((r) => r.httpUrl),
      () => finished,
    );
    expect(busy, 'a replica was seen scanning before the answer came').toBeDefined();
    replicas[busy!].child.kill('SIGKILL');
    const answer = await pending;
    expect(answer.status, answer.message).toBe(200);
    expect(canonicalRows(answer.columns, answer.results, false)).toEqual(
      canonicalRows(expected.columns, expected.rows, false),
    );
    const parts = answer.stats.tables.find((t) => t.table === FAULTY)?.parts ?? [];
    expect(Math.max(...parts.map((p) => p.tries ?? 1))).toBeGreaterThan(1);
    // Started again for the tests that follow.
    const part = faulty.findIndex((rs) => rs.includes(replicas[busy!]));
    faulty[part][faulty[part].indexOf(replicas[busy!])] = await startFaultyReplica(part);
  });

  it('every replica of one part gone: 503 naming the table and the part', async () => {
    for (const replica of faulty[1]) replica.child.kill('SIGKILL');
    const answer = await askUntil(
      pushdownOn,
      `SELECT count(*) AS n FROM ${FAULTY}`,
      (a) => a.status !== 200,
      15_000,
    );
    expect(answer.status, JSON.stringify(answer.results)).toBe(503);
    expect(answer.message).toMatch(new RegExp(FAULTY));
    expect(answer.message).toMatch(/part 1\b/);
  });

  it('a replica that comes back: queries over the table answer again', async () => {
    faulty[1] = [await startFaultyReplica(1)];
    const sql = `SELECT grp, count(*) AS n, sum(amount) AS total FROM ${FAULTY} GROUP BY grp`;
    const answer = await askUntil(pushdownOn, sql, (a) => a.status === 200);
    expect(answer.status, answer.message).toBe(200);
    await expectOracleAnswer(pushdownOn, sql);
  });

  it('replicas of one part with different data: refused, naming them', async () => {
    const { versions } = await refused;
    expect(versions[0]).not.toBe(versions[1]);
    const answer = await askUntil(pushdownOn, 'SELECT count(*) FROM mismatch', (a) => a.status === 503);
    expect(answer.status, answer.message).toBe(503);
    expect(answer.message).toMatch(/mismatch/);
    expect(answer.message).toMatch(/part 0\b/);
    for (const version of versions) expect(answer.message).toContain(version.slice(0, 16));
  });

  it('containers that disagree on N: refused, naming the counts', async () => {
    await refused;
    const answer = await askUntil(pushdownOn, 'SELECT count(*) FROM disagree', (a) => a.status === 503);
    expect(answer.status, answer.message).toBe(503);
    expect(answer.message).toMatch(/disagree/);
    expect(answer.message).toMatch(/\b2\b[\s\S]*\b3\b|\b3\b[\s\S]*\b2\b/);
  });
});
