/**
 * Dynamic filters on a join whose both sides have a predicate, at a scale where one side can
 * outgrow a key filter: the other side waits for the keys of a small filtered side, and goes
 * at once when that side proves large, or when its own predicate keeps few rows; a table
 * joined to several filtered sides gets all their keys, intersected. Either way the answer is
 * the oracle's.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalCluster, type ManagedProcess, startLocalCluster } from '../../src/tools/local-cluster.js';
import { singleNodeDuckDB } from '../../src/tools/single-node.js';
import { askCoordinator } from '../helpers/coordinator.js';
import { canonicalRows, oracleAnswer } from '../helpers/oracle.js';

interface TableStats {
  table: string;
  rows: number;
  dynamic_filter?: string;
  timeline: { requested: number; keys_sent?: number; schema: number; first_rows?: number; end: number };
}

let cluster: LocalCluster;
let coordinator: ManagedProcess;
let oracle: DuckDBConnection;

beforeAll(async () => {
  // 250,000 rows in label_sublabels: more than a filtered side the other waits for.
  cluster = await startLocalCluster({ labels: 50_000 });
  coordinator = await cluster.startCoordinator();
  oracle = await singleNodeDuckDB(cluster.sample.files);
}, 240_000);

afterAll(async () => {
  oracle?.closeSync();
  await cluster?.stop();
});

async function askAndCompare(sql: string): Promise<TableStats[]> {
  const body = await askCoordinator<{ tables: TableStats[] }>(coordinator, sql);
  expect(body.status, body.message).toBe(200);
  const expected = await oracleAnswer(oracle, sql);
  expect(body.columns).toEqual(expected.columns);
  expect(canonicalRows(body.columns, body.results, false)).toEqual(
    canonicalRows(expected.columns, expected.rows, false),
  );
  return body.stats.tables;
}

const statsOf = (tables: TableStats[], name: string) => tables.find((t) => t.table === name) as TableStats;

it('narrows a filtered side by the keys of a small filtered side', async () => {
  const tables = await askAndCompare(`SELECT s.sublabel_id, s.sublabel_name, u.url
    FROM label_sublabels s JOIN label_urls u ON s.label_id = u.label_id
    WHERE s.sublabel_id % 100 = 0 AND u.url_id % 2 = 0`);
  const sublabels = statsOf(tables, 'label_sublabels');
  const urls = statsOf(tables, 'label_urls');
  expect(sublabels.rows).toBe(2_500);
  expect(urls.dynamic_filter).toMatch(/^IN \d+ keys of label_sublabels\.label_id$/);
  // Without the keys, url_id % 2 = 0 alone keeps 125,000 rows.
  expect(urls.rows).toBeLessThan(15_000);
  // Both asked at once; the keys follow once the source's end came, then the rows.
  for (const { timeline } of [sublabels, urls]) {
    expect(timeline.requested).toBeLessThanOrEqual(timeline.schema);
    expect(timeline.schema).toBeLessThanOrEqual(timeline.first_rows as number);
    expect(timeline.first_rows).toBeLessThanOrEqual(timeline.end);
  }
  expect(sublabels.timeline.keys_sent).toBeUndefined();
  expect(urls.timeline.requested).toBeLessThan(sublabels.timeline.end);
  expect(urls.timeline.keys_sent).toBeGreaterThanOrEqual(sublabels.timeline.end);
  expect(urls.timeline.first_rows).toBeGreaterThanOrEqual(urls.timeline.keys_sent as number);
});

it('sends at once a filtered side whose own predicate keeps few rows', async () => {
  const tables = await askAndCompare(`SELECT s.sublabel_id, s.sublabel_name, u.url
    FROM label_sublabels s JOIN label_urls u ON s.label_id = u.label_id
    WHERE s.sublabel_id % 100 = 0 AND u.url_id % 7 = 0`);
  const urls = statsOf(tables, 'label_urls');
  expect(urls.dynamic_filter).toMatch(/^none: label_urls's own predicate keeps at most 100000 rows/);
  expect(urls.rows).toBe(35_714);
});

it('does not wait for the keys of a filtered side that proves large', async () => {
  // label_sublabels' predicate keeps 240,000 rows, label_urls' 245,000: the first goes first.
  const tables =
    await askAndCompare(`SELECT count(*) AS n, sum(s.sublabel_id) AS s, count(DISTINCT u.url_id) AS u
    FROM label_sublabels s JOIN label_urls u ON s.label_id = u.label_id
    WHERE s.sublabel_id > 10000 AND u.url_id % 50 <> 0`);
  const sublabels = statsOf(tables, 'label_sublabels');
  const urls = statsOf(tables, 'label_urls');
  expect(sublabels.rows).toBeGreaterThan(200_000);
  expect(urls.dynamic_filter).toMatch(/^none: label_sublabels passed 200000 rows/);
  expect(urls.rows).toBe(245_000);
});

it('still waits for a large side when the other has no predicate of its own', async () => {
  const tables = await askAndCompare(`SELECT count(*) AS n, count(DISTINCT u.url) AS urls
    FROM label_sublabels s JOIN label_urls u ON s.label_id = u.label_id
    WHERE s.sublabel_id > 10000`);
  expect(statsOf(tables, 'label_urls').dynamic_filter).toMatch(/of label_sublabels\.label_id$/);
});

it('intersects the keys of every source a table joins', async () => {
  const labels = "l.name LIKE 'test%'";
  const sublabels = "s.sublabel_name LIKE 'sub_1%'";
  for (const own of ['', ' AND u.url_id % 2 = 0']) {
    const tables = await askAndCompare(`SELECT u.url_id, u.url, l.name, s.sublabel_name
      FROM label_urls u JOIN labels l ON u.label_id = l.label_id
      JOIN label_sublabels s ON u.sublabel_id = s.sublabel_id WHERE ${labels} AND ${sublabels}${own}`);
    const urls = statsOf(tables, 'label_urls');
    expect(urls.dynamic_filter).toMatch(/keys of labels\.label_id/);
    expect(urls.dynamic_filter).toMatch(/keys of label_sublabels\.sublabel_id/);
    // Exactly the rows that match both key sets: neither alone.
    const [[both]] = (
      await oracle.runAndReadAll(`SELECT count(*)::INTEGER FROM label_urls u
        WHERE u.label_id IN (SELECT l.label_id FROM labels l WHERE ${labels})
        AND u.sublabel_id IN (SELECT s.sublabel_id FROM label_sublabels s WHERE ${sublabels})${own}`)
    ).getRows();
    expect(urls.rows).toBe(both);
  }
});

it('also takes the keys of a later side that its container sends at once', async () => {
  // The order gathers labels, then label_sublabels by its keys (expected to keep fewer rows
  // than label_urls' own predicate), then label_urls by theirs; but label_urls' own predicate
  // keeps 83,333 rows, sent at once, so label_sublabels waits for them too.
  const labels = "l.name LIKE 'test%'";
  const urls = 'u.url_id % 3 = 0';
  const tables = await askAndCompare(`SELECT s.sublabel_id, s.sublabel_name, u.url, l.name
    FROM labels l JOIN label_sublabels s ON s.label_id = l.label_id
    JOIN label_urls u ON u.sublabel_id = s.sublabel_id WHERE ${labels} AND ${urls}`);
  expect(statsOf(tables, 'label_urls').dynamic_filter).toMatch(/sent at once/);
  const sublabels = statsOf(tables, 'label_sublabels');
  expect(sublabels.dynamic_filter).toMatch(
    /keys of labels\.label_id AND IN \d+ keys of label_urls\.sublabel_id/,
  );
  const [[both]] = (
    await oracle.runAndReadAll(`SELECT count(*)::INTEGER FROM label_sublabels s
      WHERE s.label_id IN (SELECT l.label_id FROM labels l WHERE ${labels})
      AND s.sublabel_id IN (SELECT u.sublabel_id FROM label_urls u WHERE ${urls})`)
  ).getRows();
  expect(sublabels.rows).toBe(both);
});
