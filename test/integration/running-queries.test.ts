/**
 * The coordinator's running queries and metrics: every answer carries its query id, GET
 * /queries lists what runs, DELETE /queries/<id> cancels one (the client gets a clear
 * error, the containers go idle), and /metrics on the coordinator and the containers
 * counts what was sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, type ManagedProcess, startLocalCluster } from '../../src/tools/local-cluster.js';
import { SAMPLE_TABLES } from '../../src/tools/sample-data.js';
import { metrics } from '../helpers/metrics.js';

let cluster: LocalCluster;
let coordinator: ManagedProcess;

beforeAll(async () => {
  cluster = await startLocalCluster({ labels: 2_000 });
  coordinator = await cluster.startCoordinator();
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

function post(sql: string, accept = 'application/json'): Promise<Response> {
  return fetch(`${coordinator.url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept },
    body: JSON.stringify({ query: sql }),
  });
}

/** Sample values of a Prometheus text exposition, keyed `name{labels}` as written. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('running queries', () => {
  it('gives every answer its id, in the JSON answer and as x-query-id', async () => {
    const response = await post('SELECT label_id FROM labels WHERE label_id < 4');
    const id = response.headers.get('x-query-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(((await response.json()) as { query_id: string }).query_id).toBe(id);
    const streamed = await post('SELECT 1 AS one FROM labels LIMIT 1', 'application/x-ndjson');
    expect(streamed.headers.get('x-query-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(streamed.headers.get('x-query-id')).not.toBe(id);
    await streamed.text();
  });

  it('lists a long query and cancels it through DELETE /queries/<id>, scans included', async () => {
    const sql =
      'SELECT count(*) FROM labels a, label_urls b, label_sublabels c WHERE a.score + b.url_id + c.sublabel_id < 0';
    const answer = post(sql);
    const listed = await until('the query in GET /queries', async () => {
      const body = (await (await fetch(`${coordinator.url}/queries`)).json()) as {
        queries: { query_id: string; query: string; started: string; tables: Record<string, number> }[];
      };
      return body.queries.find((q) => q.query === sql);
    });
    expect(Date.parse(listed.started)).toBeLessThanOrEqual(Date.now());
    const cancel = await fetch(`${coordinator.url}/queries/${listed.query_id}`, { method: 'DELETE' });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toEqual({ query_id: listed.query_id, cancelled: true });
    const response = await answer;
    expect(response.status).toBe(499);
    const error = (await response.json()) as { error: string; message: string };
    expect(error.error).toBe('cancelled');
    expect(error.message).toContain(`DELETE /queries/${listed.query_id}`);
    expect(response.headers.get('x-query-id')).toBe(listed.query_id);
    const after = (await (await fetch(`${coordinator.url}/queries`)).json()) as { queries: unknown[] };
    expect(after.queries).toEqual([]);
    const again = await fetch(`${coordinator.url}/queries/${listed.query_id}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: string }).error).toBe('not_found');
    // Every container is idle again.
    for (const table of SAMPLE_TABLES) {
      await until(`${table} idle`, async () => {
        const m = await metrics(cluster.containers[table].url);
        return m.get(`duckdb_s3_scans_in_flight{table="${table}"}`) === 0 ? true : undefined;
      });
    }
  });
});

describe('GET /metrics', () => {
  it('counts the queries sent, by status and kind, with their latency and the rows gathered per table', async () => {
    const before = await metrics(coordinator.url);
    const labelsBefore = await metrics(cluster.containers.labels.url);
    for (const sql of ['SELECT * FROM labels WHERE label_id <= 10', 'SELECT count(*) FROM label_urls']) {
      expect((await post(sql)).status).toBe(200);
    }
    const streamed = await post('SELECT label_id FROM labels WHERE label_id <= 7', 'application/x-ndjson');
    await streamed.text();
    expect((await post('SELEC nonsense')).status).toBe(400);
    const after = await metrics(coordinator.url);
    const moved = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
    expect(moved('duckdb_s3_queries_total{status="ok",kind="json"}')).toBe(2);
    expect(moved('duckdb_s3_queries_total{status="ok",kind="ndjson"}')).toBe(1);
    expect(moved('duckdb_s3_queries_total{status="error",kind="json"}')).toBe(1);
    expect(moved('duckdb_s3_query_duration_seconds_count{status="ok",kind="json"}')).toBe(2);
    expect(moved('duckdb_s3_gathered_rows_total{table="labels"}')).toBe(17);
    expect(moved('duckdb_s3_gathered_bytes_total{table="labels"}')).toBeGreaterThan(0);
    expect(after.get('duckdb_s3_query_queue_depth')).toBe(0);
    expect(after.get('duckdb_s3_queries_running')).toBe(0);
    expect(after.get('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect([...after.keys()].some((k) => k.startsWith('duckdb_memory_bytes{tag='))).toBe(true);

    const labels = await metrics(cluster.containers.labels.url);
    expect(labels.get('duckdb_s3_table_rows{table="labels"}')).toBe(2_000);
    expect(labels.get('duckdb_s3_table_load_seconds{table="labels"}')).toBeGreaterThan(0);
    const scans = (m: Map<string, number>) => m.get('duckdb_s3_scans_total{table="labels",status="ok"}') ?? 0;
    expect(scans(labels) - scans(labelsBefore)).toBe(2);
    const rows = (m: Map<string, number>) => m.get('duckdb_s3_scan_rows_total{table="labels"}') ?? 0;
    expect(rows(labels) - rows(labelsBefore)).toBe(17);
    expect(labels.get('duckdb_memory_bytes{tag="IN_MEMORY_TABLE"}')).toBeGreaterThan(0);
  });
});
