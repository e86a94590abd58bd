/**
 * The planner through the real coordinator (real NATS, S3 API, data containers): the shapes
 * people write move no more rows than their `JOIN … ON` form and answer as the oracle does,
 * and EXPLAIN shows the distributed plan (EXPLAIN ANALYZE with what each scan moved).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, type ManagedProcess, startLocalCluster } from '../../src/tools/local-cluster.js';
import { singleNodeDuckDB } from '../../src/tools/single-node.js';
import { askCoordinator } from '../helpers/coordinator.js';
import { canonicalRows, oracleAnswer } from '../helpers/oracle.js';

let cluster: LocalCluster;
let coordinator: ManagedProcess;
let oracle: DuckDBConnection;

beforeAll(async () => {
  cluster = await startLocalCluster({ labels: 5_000 });
  // What scans move is measured here: no table is served from a coordinator's copy
  // (reference-tables.test.ts covers those).
  coordinator = await cluster.startCoordinator(['--reference-table-rows', '0']);
  oracle = await singleNodeDuckDB(cluster.sample.files);
}, 240_000);

afterAll(async () => {
  oracle?.closeSync();
  await cluster?.stop();
});

interface Scan {
  table: string;
  rows: number;
  where?: string;
  dynamic_filter?: string;
}

/** The rows each table's scan moved, after checking the answer against the oracle. */
async function rowsMoved(sql: string): Promise<Record<string, number>> {
  const answer = await askCoordinator<{ tables: Scan[] }>(coordinator, sql);
  expect(answer.status, answer.message).toBe(200);
  const expected = await oracleAnswer(oracle, sql);
  expect(canonicalRows(answer.columns, answer.results, false)).toEqual(
    canonicalRows(expected.columns, expected.rows, false),
  );
  return Object.fromEntries(answer.stats.tables.map((t) => [t.table, t.rows]));
}

const ON = `SELECT l.label_id, l.name, lu.url FROM labels l JOIN label_urls lu ON l.label_id = lu.label_id
  WHERE l.name LIKE '%test%'`;
const ON3 = `SELECT l.label_id, l.name, ls.sublabel_name, lu.url FROM labels l
  JOIN label_sublabels ls ON l.label_id = ls.label_id JOIN label_urls lu ON l.label_id = lu.label_id
  WHERE l.name LIKE '%test%'`;

/** Each shape of issue 15 and the JOIN … ON form it must not move more rows than. */
const SHAPES: { name: string; sql: string; on: string }[] = [
  {
    name: 'JOIN … USING',
    sql: `SELECT l.label_id, l.name, lu.url FROM labels l JOIN label_urls lu USING (label_id) WHERE l.name LIKE '%test%'`,
    on: ON,
  },
  {
    name: 'a join through a CTE',
    sql: `WITH l AS (SELECT * FROM labels) SELECT l.label_id, l.name, lu.url FROM l
      JOIN label_urls lu ON l.label_id = lu.label_id WHERE l.name LIKE '%test%'`,
    on: ON,
  },
  {
    name: 'a filter through IN (SELECT …)',
    sql: `SELECT lu.label_id, lu.url FROM label_urls lu
      WHERE lu.label_id IN (SELECT label_id FROM labels WHERE name LIKE '%test%')`,
    on: ON,
  },
  {
    name: 'GROUP BY ALL in a multi-table query',
    sql: `SELECT l.label_id, l.name, count(*) AS n FROM labels l
      JOIN label_sublabels ls ON l.label_id = ls.label_id JOIN label_urls lu ON l.label_id = lu.label_id
      WHERE l.name LIKE '%test%' GROUP BY ALL`,
    on: ON3,
  },
  {
    name: 'QUALIFY in a multi-table query',
    sql: `${ON3} QUALIFY row_number() OVER (PARTITION BY l.label_id ORDER BY ls.sublabel_name, lu.url) = 1`,
    on: ON3,
  },
];

describe('shapes move no more rows than their JOIN … ON form', () => {
  for (const shape of SHAPES) {
    it(shape.name, async () => {
      const on = await rowsMoved(shape.on);
      const moved = await rowsMoved(shape.sql);
      for (const [table, rows] of Object.entries(moved)) {
        expect(rows, `${table}: ${JSON.stringify({ moved, on })}`).toBeLessThanOrEqual(on[table] ?? 0);
      }
      // Narrowed, not whole: label_urls moves a small share of its rows.
      expect(moved.label_urls).toBeLessThan(cluster.sample.rows.label_urls / 5);
    });
  }
});

interface ExplainStep {
  step: number;
  runs: string;
  table: string | null;
  scan: string | null;
  filter: string | null;
  estimated_rows: number | null;
  dynamic_filter: string | null;
  after: string | null;
  detail: string | null;
  rows?: number;
  ms?: number;
  timeline?: string;
}

async function explain(body: Record<string, unknown>) {
  const response = await fetch(`${coordinator.url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as {
    results: ExplainStep[];
    stats: Record<string, unknown>;
    plan: { references: { table: string; binding: string; filter?: string }[]; coordinator_plan: string };
  };
}

describe('EXPLAIN', () => {
  it('answers the distributed plan without running the query', async () => {
    for (const body of [{ query: `EXPLAIN ${ON}` }, { query: ON, explain: true }]) {
      const answer = await explain(body);
      const [labels, urls, coordinatorStep] = answer.results;
      expect(labels).toMatchObject({ runs: 'container', table: 'labels', filter: `("name" ~~ '%test%')` });
      expect(urls).toMatchObject({ runs: 'container', table: 'label_urls', after: 'labels' });
      expect(urls.dynamic_filter).toMatch(/label_id IN \(keys of labels\.label_id\)/);
      expect(coordinatorStep.runs).toBe('coordinator');
      expect(coordinatorStep.detail).toMatch(/JOIN/);
      expect(labels.rows).toBeUndefined();
      expect(answer.stats).toEqual({});
      expect(answer.plan.references).toEqual([
        { table: 'labels', binding: 'l', filter: `("name" ~~ '%test%')` },
        { table: 'label_urls', binding: 'lu' },
      ]);
    }
  });

  it('EXPLAIN ANALYZE runs it and adds rows and milliseconds per step', async () => {
    const answer = await explain({ query: `EXPLAIN ANALYZE ${ON}` });
    const on = await rowsMoved(ON);
    const [labels, urls] = answer.results;
    expect(labels.rows).toBe(on.labels);
    expect(urls.rows).toBe(on.label_urls);
    // The container counted labels' predicate at planning: on all of its rows, fewer than a sample's.
    expect(labels.estimated_rows).toBe(on.labels);
    expect(urls.estimated_rows).toBeNull();
    expect(urls.dynamic_filter).toMatch(/keys/);
    for (const step of answer.results) expect(step.ms).toBeGreaterThanOrEqual(0);
    expect(urls.timeline).toMatch(
      /^requested [\d.]+, schema [\d.]+, keys sent [\d.]+, first rows [\d.]+, end [\d.]+ ms$/,
    );
    expect(answer.stats.result_rows).toBeGreaterThan(0);
  });

  it('says when a query runs whole in its container', async () => {
    const answer = await explain({ query: 'EXPLAIN SELECT count(*) FROM labels' });
    expect(answer.results).toHaveLength(1);
    expect(answer.results[0].detail).toMatch(/whole query runs in this container/);
  });

  it('refuses EXPLAIN without a query, clearly', async () => {
    const response = await fetch(`${coordinator.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'EXPLAIN ' }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/EXPLAIN needs a query/);
  });
});

describe('references of one table that want different rows', () => {
  // Q21's shape: u2 and u3 are reduced by the keys of u1's scan, and share one scan (the OR of
  // their filters: u2 has none, and u3's is applied again in the coordinator).
  const SQL = `SELECT u1.label_id, count(*) AS n FROM label_urls u1 JOIN labels l ON l.label_id = u1.label_id
    WHERE l.name LIKE '%test%' AND u1.url_id % 100 = 0
      AND EXISTS (SELECT * FROM label_urls u2 WHERE u2.label_id = u1.label_id AND u2.url_id <> u1.url_id)
      AND NOT EXISTS (SELECT * FROM label_urls u3 WHERE u3.label_id = u1.label_id
        AND u3.url_id <> u1.url_id AND u3.url LIKE 'http:%')
    GROUP BY u1.label_id`;

  it('u1 and u2/u3 get scans of their own, named in stats and EXPLAIN ANALYZE, and the unfiltered one moves a part of the table', async () => {
    const answer = await askCoordinator<{ tables: (Scan & { scan?: string; references?: string[] })[] }>(
      coordinator,
      SQL,
    );
    expect(answer.status, answer.message).toBe(200);
    const expected = await oracleAnswer(oracle, SQL);
    expect(canonicalRows(answer.columns, answer.results, false)).toEqual(
      canonicalRows(expected.columns, expected.rows, false),
    );
    const byScan = (a?: string | null, b?: string | null) => String(a).localeCompare(String(b));
    const scans = answer.stats.tables
      .filter((t) => t.table === 'label_urls')
      .sort((a, b) => byScan(a.scan, b.scan));
    expect(scans.map((t) => [t.scan, t.references])).toEqual([
      ['label_urls', ['u1']],
      ['label_urls#2', ['u2', 'u3']],
    ]);
    // u2 has no predicate of its own: it waits for the keys of u1's scan.
    expect(scans[1].dynamic_filter).toMatch(/label_urls\.label_id/);
    // One scan for the three would have been the whole table (u2 has no filter).
    expect(scans[1].rows).toBeLessThan(cluster.sample.rows.label_urls / 10);

    const explained = await explain({ query: `EXPLAIN ANALYZE ${SQL}` });
    const steps = explained.results
      .filter((s) => s.table === 'label_urls')
      .sort((a, b) => byScan(a.scan, b.scan));
    expect(steps.map((s) => s.scan)).toEqual(['label_urls for u1', 'label_urls#2 for u2, u3']);
    for (const step of steps) expect(step.rows).toBeGreaterThanOrEqual(0);
    // u1's keys, and labels' through u1 (chained: u2.label_id = u1.label_id = l.label_id).
    const after = steps.find((s) => s.scan === 'label_urls#2 for u2, u3')?.after;
    expect(after?.split(', ').sort()).toEqual(['label_urls', 'labels']);
  });
});
