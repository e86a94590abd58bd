/**
 * Aggregating subqueries of one table run in its container (subquery-pushdown.ts), through
 * the real coordinator (real NATS, S3 API, data containers): the answers equal single-node
 * DuckDB's with pushdown on and off, and with pushdown on the subquery's table sends its
 * groups (stats.tables shows the query) instead of its rows, where the SQL reads it nowhere
 * else.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, type ManagedProcess, startLocalCluster } from '../../src/tools/local-cluster.js';
import { singleNodeDuckDB } from '../../src/tools/single-node.js';
import { askCoordinator } from '../helpers/coordinator.js';
import { type DiffQuery, describeAgainstOracle, oracleAnswer } from '../helpers/oracle.js';

let cluster: LocalCluster;
let pushdownOn: ManagedProcess;
let pushdownOff: ManagedProcess;
let oracle: DuckDBConnection;

beforeAll(async () => {
  cluster = await startLocalCluster({ labels: 2_000 });
  // The scans' stats are asserted here: no table is served from a coordinator's copy
  // (reference-tables.test.ts covers those).
  [pushdownOn, pushdownOff, oracle] = await Promise.all([
    cluster.startCoordinator(['--reference-table-rows', '0']),
    cluster.startCoordinator(['--no-pushdown']),
    singleNodeDuckDB(cluster.sample.files),
  ]);
}, 240_000);

afterAll(async () => {
  oracle?.closeSync();
  await cluster?.stop();
});

/** Each with the table whose subquery is pushed (none where the SQL reads it elsewhere too). */
const QUERIES: (DiffQuery & { pushed?: string; readElsewhere?: boolean })[] = [
  {
    sql: `SELECT l.name, x.n FROM labels l JOIN (SELECT label_id, count(*) AS n FROM label_urls
      WHERE url LIKE '%example.com%' GROUP BY label_id) x USING (label_id)`,
    pushed: 'label_urls',
  },
  {
    sql: `WITH x AS (SELECT label_id, count(DISTINCT sublabel_name) AS n FROM label_sublabels GROUP BY label_id)
      SELECT l.category, sum(x.n) AS subs, count(*) AS labels FROM labels l LEFT JOIN x USING (label_id)
      GROUP BY l.category ORDER BY l.category NULLS FIRST`,
    pushed: 'label_sublabels',
    ordered: true,
  },
  {
    // TPC-H Q18's shape: IN (SELECT key … GROUP BY key HAVING …).
    sql: `SELECT l.label_id, l.name, u.n FROM labels l JOIN (SELECT label_id, count(*) AS n FROM label_urls
      GROUP BY label_id HAVING count(*) > 3) u ON u.label_id = l.label_id
      WHERE l.label_id IN (SELECT label_id FROM (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 3) big)
      ORDER BY u.n DESC, l.label_id LIMIT 20`,
    pushed: 'label_urls',
    ordered: true,
  },
  {
    sql: `SELECT count(*) AS n, sum(d.c) AS c FROM label_urls lu
      JOIN (SELECT label_id, count(*) AS c FROM label_sublabels GROUP BY label_id) d USING (label_id)
      WHERE lu.url LIKE '%7%'`,
    pushed: 'label_sublabels',
  },
  {
    // The table is read elsewhere too: it is gathered anyway, with all the subquery needs.
    sql: `SELECT lu.label_id, count(*) AS n, max(m.c) AS c FROM label_urls lu
      JOIN (SELECT label_id, count(*) AS c FROM label_urls GROUP BY label_id) m USING (label_id)
      JOIN labels l USING (label_id) WHERE l.name LIKE '%test%' GROUP BY lu.label_id`,
    readElsewhere: true,
  },
  {
    // TPC-H Q18's IN shape: the keys of the groups kept, from the container.
    sql: `SELECT l.category, count(*) AS n FROM labels l JOIN label_sublabels s USING (label_id)
      WHERE l.label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 5)
      GROUP BY l.category`,
    pushed: 'label_urls',
  },
  {
    // TPC-H Q13's shape: label_urls aggregated below its join (eager-aggregation.ts), then pushed.
    sql: `SELECT n, count(*) AS custdist FROM (SELECT l.label_id, count(u.url_id) FROM labels l
      LEFT OUTER JOIN label_urls u ON l.label_id = u.label_id AND u.url NOT LIKE '%7%'
      GROUP BY l.label_id) AS c (label_id, n) GROUP BY n ORDER BY custdist DESC, n DESC`,
    pushed: 'label_urls',
    ordered: true,
  },
  {
    // Correlated: not pushed, answered as before.
    sql: `SELECT l.label_id, t.n FROM labels l, LATERAL (SELECT count(*) AS n FROM label_urls u
      WHERE u.label_id = l.label_id) t WHERE l.name LIKE '%test%'`,
  },
];

describeAgainstOracle(
  'subquery pushdown',
  QUERIES,
  { 'pushdown on': () => pushdownOn, 'pushdown off': () => pushdownOff },
  () => oracle,
);

interface Scan {
  table: string;
  rows: number;
  query?: string;
}

describe('subquery pushdown moves groups, not rows', () => {
  it.each(QUERIES.filter((q) => q.pushed).map((q) => [q.sql.slice(0, 80), q] as const))(
    '%s',
    async (_label, q) => {
      const on = await askCoordinator<{ tables: Scan[] }>(pushdownOn, q.sql);
      expect(on.status, on.message).toBe(200);
      const pushed = on.stats.tables.filter((t) => t.query !== undefined);
      expect(pushed.map((t) => t.table)).toContain(q.pushed);
      const scans = on.stats.tables.filter((t) => t.table === q.pushed && t.query === undefined);
      expect(scans.length).toBe(0);
      // What the container sent is the subquery's answer: fewer rows than its table has.
      const total = await oracleAnswer(oracle, `SELECT count(*) AS n FROM ${q.pushed}`);
      const sent = pushed.filter((t) => t.table === q.pushed).reduce((n, t) => n + t.rows, 0);
      expect(sent).toBeLessThan(Number((total.rows[0] as { n: number }).n));
    },
  );

  it('a subquery of a table the SQL reads elsewhere too is not pushed: the table is gathered once', async () => {
    const q = QUERIES.find((x) => x.readElsewhere) as DiffQuery;
    const on = await askCoordinator<{ tables: Scan[] }>(pushdownOn, q.sql);
    expect(on.status, on.message).toBe(200);
    expect(on.stats.tables.filter((t) => t.table === 'label_urls').map((t) => t.query)).toEqual([undefined]);
  });

  it("an IN subquery of a table read elsewhere too runs in its container, and its result's keys reduce the other scans", async () => {
    const sub = 'SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 3';
    const sql = `SELECT l.label_id, count(*) AS n FROM labels l JOIN label_urls u USING (label_id)
      WHERE l.label_id IN (${sub}) GROUP BY l.label_id`;
    const on = await askCoordinator<{ tables: (Scan & { dynamic_filter?: string })[] }>(pushdownOn, sql);
    expect(on.status, on.message).toBe(200);
    const count = async (q: string) => Number(((await oracleAnswer(oracle, q)).rows[0] as { n: number }).n);
    const pushed = on.stats.tables.filter((t) => t.query !== undefined);
    expect(pushed.map((t) => [t.table, t.rows])).toEqual([
      ['label_urls', await count(`SELECT count(*) AS n FROM (${sub})`)],
    ]);
    const labels = on.stats.tables.find((t) => t.table === 'labels');
    expect(labels?.dynamic_filter).toMatch(/keys of __subquery_0\.label_id/);
    expect(labels?.rows).toBe(await count(`SELECT count(*) AS n FROM labels WHERE label_id IN (${sub})`));
    const urls = on.stats.tables.find((t) => t.table === 'label_urls' && t.query === undefined);
    expect(urls?.rows).toBe(
      await count(
        `SELECT count(*) AS n FROM label_urls WHERE label_id IN (SELECT label_id FROM labels WHERE label_id IN (${sub}))`,
      ),
    );
    expect(urls?.rows).toBeLessThan(await count('SELECT count(*) AS n FROM label_urls'));
  });

  it('pushdown off gathers every table whole', async () => {
    const off = await askCoordinator<{ tables: Scan[] }>(pushdownOff, QUERIES[0].sql);
    expect(off.status, off.message).toBe(200);
    expect(off.stats.tables.every((t) => t.query === undefined)).toBe(true);
  });
});

interface ExplainStep {
  runs: string;
  table: string | null;
  detail: string | null;
  dynamic_filter: string | null;
  after: string | null;
  rows?: number;
}

/** The steps of an EXPLAIN [ANALYZE] through the coordinator with pushdown on. */
async function explainSteps(explain: string): Promise<ExplainStep[]> {
  const response = await fetch(`${pushdownOn.url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: explain }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { results: ExplainStep[] }).results;
}

describe('EXPLAIN of a pushed subquery', () => {
  it('shows an IN subquery result as the source of keys of the scans after it', async () => {
    const sql = `SELECT l.label_id, count(*) AS n FROM labels l JOIN label_urls u USING (label_id)
      WHERE l.label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 3) GROUP BY l.label_id`;
    const steps = await explainSteps(`EXPLAIN ${sql}`);
    const containers = steps.filter((s) => s.runs === 'container');
    expect(containers.map((s) => [s.table, s.after])).toEqual([
      ['label_urls', null],
      ['labels', '__subquery_0'],
      ['label_urls', 'labels'],
    ]);
    expect(containers[0].detail).toMatch(/^runs the subquery .*\(__subquery_0\) replace it/);
    expect(containers[1].dynamic_filter).toBe(
      'label_id IN (keys of the subquery result __subquery_0.label_id)',
    );
  });

  it('lists the subquery its container runs, and EXPLAIN ANALYZE the groups it sent', async () => {
    const sql = QUERIES[0].sql;
    const steps = await explainSteps(`EXPLAIN ANALYZE ${sql}`);
    const subquery = steps.filter((s) => s.detail?.startsWith('runs the subquery '));
    expect(subquery.map((s) => s.table)).toEqual(['label_urls']);
    expect(subquery[0].detail).toMatch(/GROUP BY label_id/);
    const scans = steps.filter((s) => s.runs === 'container' && !s.detail?.startsWith('runs the subquery '));
    expect(scans.map((s) => s.table)).toEqual(['labels']);
    const answer = await askCoordinator<{ tables: Scan[] }>(pushdownOn, sql);
    const sent = answer.stats.tables.find((t) => t.query !== undefined);
    expect(subquery[0].rows).toBe(sent?.rows);
    expect(scans[0].rows).toBe(answer.stats.tables.find((t) => t.table === 'labels')?.rows);
  });
});

describe('EXPLAIN of eager aggregation', () => {
  it("lists the pre-aggregation its table's container runs, and the coordinator's rewritten SQL", async () => {
    const sql = QUERIES.find((q) => q.sql.includes('custdist'))?.sql as string;
    const steps = await explainSteps(`EXPLAIN ${sql}`);
    const subquery = steps.filter((s) => s.detail?.startsWith('runs the subquery '));
    expect(subquery.map((s) => s.table)).toEqual(['label_urls']);
    expect(subquery[0].detail).toMatch(/count\(u\.url_id\) AS __eager_0 FROM label_urls AS u WHERE/);
    const coordinator = steps.find((s) => s.runs === 'coordinator');
    expect(coordinator?.detail).toMatch(
      /eager aggregation: label_urls aggregated below its join; runs .*sum\(u\.__eager_0\)/,
    );
  });
});
