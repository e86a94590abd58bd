/**
 * The correctness contract: through the coordinator, over real NATS, real S3 and real data
 * containers, every query answers exactly as one DuckDB holding all the tables does — with
 * pushdown on and with pushdown off — and 32 concurrent queries each get their own answer.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalCluster, type ManagedProcess, startLocalCluster } from '../../src/tools/local-cluster.js';
import { singleNodeDuckDB } from '../../src/tools/single-node.js';
import { askCoordinator } from '../helpers/coordinator.js';
import { canonicalRows, describeAgainstOracle, oracleAnswer } from '../helpers/oracle.js';
import { DIFF_QUERIES, OR_BRANCHES } from './differential-queries.js';

let cluster: LocalCluster;
let pushdownOn: ManagedProcess;
let pushdownOff: ManagedProcess;
let everyWait: ManagedProcess;
let oracle: DuckDBConnection;

async function ask(coordinator: ManagedProcess, sql: string) {
  const body = await askCoordinator(coordinator, sql);
  if (body.status !== 200) throw new Error(`HTTP ${body.status}: ${body.message}`);
  return body;
}

beforeAll(async () => {
  cluster = await startLocalCluster({ labels: 2_000 });
  // Every table is scanned (reference-tables.test.ts runs the corpus over the coordinator's copies).
  [pushdownOn, pushdownOff, everyWait] = await Promise.all([
    cluster.startCoordinator(['--reference-table-rows', '0']),
    cluster.startCoordinator(['--no-pushdown']),
    // Tables this small send their rows at once: here every reduced scan waits for its keys,
    // and every scan that may hold its rows for later scans' keys does, as large ones do.
    cluster.startCoordinator([
      '--reference-table-rows',
      '0',
      '--send-at-once-rows',
      '0',
      '--hold-above-rows',
      '0',
    ]),
  ]);
  oracle = await singleNodeDuckDB(cluster.sample.files);
}, 240_000);

afterAll(async () => {
  oracle?.closeSync();
  await cluster?.stop();
});

it('has enough queries to mean something', () => {
  expect(DIFF_QUERIES.length).toBeGreaterThanOrEqual(150);
});

describeAgainstOracle(
  'differential',
  DIFF_QUERIES,
  {
    'pushdown on': () => pushdownOn,
    'pushdown off': () => pushdownOff,
    'every scan waiting for keys and holding': () => everyWait,
  },
  () => oracle,
);

// Their answers are compared above, with every coordinator.
it("codes keys by an OR's branches in the corpus's ORs across two joined tables", async () => {
  const coded: string[] = [];
  for (const { sql } of OR_BRANCHES) {
    const body = await askCoordinator<{ tables: { table: string; dynamic_filter?: string }[] }>(
      everyWait,
      sql,
    );
    expect(body.status, sql).toBe(200);
    coded.push(
      ...body.stats.tables.flatMap((t) =>
        t.dynamic_filter?.match(/coded by \d+ branches/) ? [t.table] : [],
      ),
    );
  }
  expect(coded.length).toBeGreaterThanOrEqual(OR_BRANCHES.length / 2);
});

/** POSTs a query for ndjson through node:http, which (unlike fetch) hands over the trailers. */
function streamWithTrailers(
  url: string,
  sql: string,
): Promise<{ body: string; trailers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}/query`,
      { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (piece: string) => (body += piece));
        res.on('end', () => resolve({ body, trailers: res.trailers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ query: sql }));
  });
}

it('ends a streamed answer with a trailer: rows, time, and the stats of scans still running when the headers left', async () => {
  for (const sql of [
    'SELECT url_id, url FROM label_urls WHERE url_id <= 1000',
    'SELECT l.name, u.url FROM labels l JOIN label_urls u ON l.label_id = u.label_id WHERE u.url_id <= 1000',
  ]) {
    const { body, trailers } = await streamWithTrailers(pushdownOn.url, sql);
    const lines = body.trim().split('\n').length;
    const summary = JSON.parse(String(trailers['x-query-summary']));
    expect(summary.row_count).toBe(lines);
    expect(summary.row_count).toBe((await oracleAnswer(oracle, sql)).rows.length);
    expect(summary.execution_time_ms).toBeGreaterThan(0);
    const scanned = summary.stats.tables.reduce((n: number, t: { rows: number }) => n + t.rows, 0);
    expect(scanned).toBeGreaterThanOrEqual(summary.stats.pushed_whole ? lines : 1000);
  }
});

it('streams a pushed result too large to hold in memory whole, repeated names and all', async () => {
  // A self-join of one table runs whole in its container; 122,500 rows pass the rows the
  // coordinator holds in hand, so they spill to a TEMP table on the way.
  const sql = `SELECT a.url_id AS x, b.url_id AS x, a.url FROM label_urls a, label_urls b
    WHERE a.url_id <= 350 AND b.url_id <= 350`;
  const response = await fetch(`${pushdownOn.url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
    body: JSON.stringify({ query: sql }),
  });
  expect(response.status).toBe(200);
  expect(JSON.parse(response.headers.get('x-query-stats') ?? '{}').pushed_whole).toBe(true);
  const rows = (await response.text())
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const expected = await oracleAnswer(oracle, sql);
  expect(expected.columns).toEqual(['x', 'x:1', 'url']);
  expect(rows.length).toBe(122_500);
  expect(canonicalRows(expected.columns, rows, false)).toEqual(
    canonicalRows(expected.columns, expected.rows, false),
  );
});

it('writes a JSON answer of many chunks, in order, as the oracle has it', async () => {
  // A join (not pushed whole): the answer is written chunk by chunk as text.
  const sql = `SELECT s.sublabel_id AS id, u.url_id AS id, u.url, s.sublabel_name FROM label_sublabels s
    JOIN label_urls u ON s.label_id = u.label_id ORDER BY s.sublabel_id, u.url_id`;
  const expected = await oracleAnswer(oracle, sql);
  expect(expected.rows.length).toBeGreaterThan(3 * 2048);
  const actual = await ask(pushdownOn, sql);
  expect(actual.columns).toEqual(['id', 'id:1', 'url', 'sublabel_name']);
  expect(canonicalRows(actual.columns, actual.results, true)).toEqual(
    canonicalRows(expected.columns, expected.rows, true),
  );
});

it('pushes the filter and projection of the seed join down to labels', async () => {
  const answer = (await ask(
    pushdownOn,
    `SELECT l.label_id, s.sublabel_name FROM labels l JOIN label_sublabels s ON l.label_id = s.label_id WHERE l.name LIKE '%test%'`,
  )) as unknown as {
    stats: { tables: { table: string; where?: string; columns: string[]; rows: number }[] };
  };
  const labels = answer.stats.tables.find((t) => t.table === 'labels');
  expect(labels?.where).toBe(`("name" ~~ '%test%')`);
  // The container applies the LIKE: the coordinator's SQL leaves it out, and name stays there.
  expect(labels?.columns).toEqual(['label_id']);
  expect(labels?.rows).toBeLessThan(cluster.sample.rows.labels / 10);
});

it('scans the other side of the seed join only for the keys the filtered side found', async () => {
  const answer = (await ask(
    pushdownOn,
    `SELECT l.label_id, s.sublabel_name FROM labels l JOIN label_sublabels s ON l.label_id = s.label_id WHERE l.name LIKE '%test%'`,
  )) as unknown as {
    results: unknown[];
    stats: { tables: { table: string; dynamic_filter?: string; rows: number }[] };
  };
  const sublabels = answer.stats.tables.find((t) => t.table === 'label_sublabels');
  expect(sublabels?.dynamic_filter).toMatch(/^IN \d+ keys of labels\.label_id$/);
  expect(sublabels?.rows).toBe(answer.results.length);
  expect(sublabels?.rows).toBeLessThan(cluster.sample.rows.label_sublabels / 5);
});

it('scans an existential reference for its distinct rows, and only with pushdown', async () => {
  const sql = `SELECT count(*) AS n FROM labels l
    WHERE NOT EXISTS (SELECT * FROM label_urls u WHERE u.label_id = l.label_id)`;
  type Answer = {
    results: { n: number }[];
    stats: { tables: { table: string; distinct?: boolean; columns: string[]; rows: number }[] };
  };
  const urlsOf = (a: Answer) => a.stats.tables.find((t) => t.table === 'label_urls');
  const on = (await ask(pushdownOn, sql)) as unknown as Answer;
  const off = (await ask(pushdownOff, sql)) as unknown as Answer;
  const [expected] = (await oracleAnswer(oracle, sql)).rows as { n: number }[];
  expect(Number(on.results[0].n)).toBe(Number(expected.n));
  expect(Number(off.results[0].n)).toBe(Number(expected.n));
  const distinct = await oracleAnswer(
    oracle,
    'SELECT count(*) AS n FROM (SELECT DISTINCT label_id FROM label_urls)',
  );
  expect(urlsOf(on)).toMatchObject({ distinct: true, columns: ['label_id'] });
  expect(urlsOf(on)?.rows).toBeLessThanOrEqual(Number((distinct.rows[0] as { n: number }).n));
  expect(urlsOf(on)?.rows).toBeLessThan(cluster.sample.rows.label_urls / 2);
  expect(urlsOf(off)?.distinct).toBeUndefined();
  expect(urlsOf(off)?.rows).toBe(cluster.sample.rows.label_urls);
  const plan = (await ask(pushdownOn, `EXPLAIN ${sql}`)) as unknown as {
    results: { table: string; columns: string }[];
  };
  expect(plan.results.find((s) => s.table === 'label_urls')?.columns).toBe('DISTINCT label_id');
});

it('applies a filter the container applies exactly only there, and says so in EXPLAIN', async () => {
  const sql = `SELECT u.url FROM labels l JOIN label_urls u ON l.label_id = u.label_id
    WHERE l.category = 'music' AND u.url LIKE 'https%'`;
  const plan = (await ask(pushdownOn, `EXPLAIN ${sql}`)) as unknown as {
    results: { table: string; columns: string; filter: string; exact: string | null }[];
  };
  const labels = plan.results.find((s) => s.table === 'labels');
  expect(labels).toMatchObject({ columns: 'label_id', exact: labels?.filter });
  expect(plan.results.find((s) => s.table === 'label_urls')).toMatchObject({ columns: 'label_id, url' });
  const off = (await ask(pushdownOff, `EXPLAIN ${sql}`)) as unknown as typeof plan;
  expect(off.results.every((s) => s.exact === null)).toBe(true);
});

it('gathers again with the SQL as written where a container declines a filter left out of it', async () => {
  // The analysis does not bind functions: the container declines what its DuckDB cannot bind,
  // and the coordinator's SQL must not then have left the conjunct out (rows would pass).
  const sql = `SELECT l.name FROM labels l JOIN label_urls u ON l.label_id = u.label_id
    WHERE no_such_function(l.category) > 1`;
  const plan = (await ask(pushdownOn, `EXPLAIN ${sql}`)) as unknown as {
    results: { table: string; exact: string | null }[];
  };
  expect(plan.results.find((s) => s.table === 'labels')?.exact).toMatch(/no_such_function/);
  const answer = await askCoordinator(pushdownOn, sql);
  expect(answer.status).toBe(400);
  expect(answer.message).toMatch(/no_such_function does not exist/);
});

it('gathers again with the SQL as written where a container cannot compute a column it was asked for', async () => {
  // Every name ends in its label_id. The container computes the cast over every row of its
  // scan (the OR with random() is not pushed), and fails on the odd ids ending in 1; DuckDB
  // computes it only over the even ids the WHERE keeps, as the SQL as written does.
  const sql = `SELECT CAST(CASE WHEN l.name LIKE '%1' THEN 'x' ELSE '1' END AS INTEGER) AS one, u.url
    FROM labels l JOIN label_urls u ON u.label_id = l.label_id
    WHERE l.label_id % 2 = 0 OR random() > 2`;
  const plan = (await ask(pushdownOn, `EXPLAIN ${sql}`)) as unknown as {
    results: { table: string; columns: string | null }[];
  };
  expect(plan.results.find((s) => s.table === 'labels')?.columns).toMatch(/CAST\(.* AS __computed_0$/);
  const answer = (await ask(pushdownOn, sql)) as unknown as {
    columns: string[];
    results: Record<string, unknown>[];
    stats: unknown;
  };
  const expected = await oracleAnswer(oracle, sql);
  expect(expected.rows.length).toBeGreaterThan(100);
  expect(canonicalRows(answer.columns, answer.results, false)).toEqual(
    canonicalRows(expected.columns, expected.rows, false),
  );
  expect(JSON.stringify(answer.stats)).toMatch(
    /could not compute a column.*gathered again with the SQL as written/,
  );
});

it('says in stats what a scan computed', async () => {
  const sql = `SELECT upper(l.name) AS n, u.url FROM labels l JOIN label_urls u ON u.label_id = l.label_id
    WHERE l.score < 10`;
  const answer = (await ask(pushdownOn, sql)) as unknown as {
    stats: { tables: { table: string; columns: string[]; computed?: string[] }[] };
  };
  const labels = answer.stats.tables.find((t) => t.table === 'labels');
  expect(labels?.computed).toEqual([expect.stringMatching(/^upper\("?name"?\) AS (__computed_\d+)$/)]);
  expect(labels?.columns).toContain(labels?.computed?.[0].split(' AS ')[1]);
  expect(labels?.columns).not.toContain('name');
});

it('runs a single-table aggregate whole in the container, moving one row', async () => {
  const answer = (await ask(pushdownOn, 'SELECT count(*) AS n FROM labels')) as unknown as {
    results: { n: number }[];
    stats: { pushed_whole: boolean; tables: { rows: number }[] };
  };
  expect(answer.results[0].n).toBe(cluster.sample.rows.labels);
  expect(answer.stats.pushed_whole).toBe(true);
  expect(answer.stats.tables[0].rows).toBe(1);
});

it('answers 32 concurrent queries, each as the oracle does', async () => {
  const queries = DIFF_QUERIES.filter((_, i) => i % 5 === 0).slice(0, 32);
  expect(queries.length).toBe(32);
  const answers = await Promise.all(queries.map((q) => ask(pushdownOn, q.sql)));
  for (const [i, q] of queries.entries()) {
    const expected = await oracleAnswer(oracle, q.sql);
    expect(canonicalRows(answers[i].columns, answers[i].results, !!q.ordered)).toEqual(
      canonicalRows(expected.columns, expected.rows, !!q.ordered),
    );
  }
});
