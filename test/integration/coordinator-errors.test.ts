/**
 * Bad input and failing parts: each gets a clear error with the right status, and the
 * coordinator keeps serving. Also the answer formats (streamed ndjson/CSV, the JSON row cap)
 * and tables reached over HTTP through config.json.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedTable } from '../../src/bench/generated-table.js';
import { startTableService } from '../../src/data-container/nats-service.js';
import { createLogger } from '../../src/log.js';
import {
  type LocalCluster,
  type ManagedProcess,
  startCliProcess,
  startLocalCluster,
} from '../../src/tools/local-cluster.js';
import { S3_EMULATOR_ENV } from '../../src/tools/s3-emulator.js';
import { singleNodeDuckDB } from '../../src/tools/single-node.js';
import { canonicalRows, oracleAnswer } from '../helpers/oracle.js';

let cluster: LocalCluster;
let coordinator: ManagedProcess;
let oracle: DuckDBConnection;

interface Answer {
  status: number;
  body: { error?: string; message?: string; results?: Record<string, unknown>[]; columns?: string[] };
}

async function post(
  target: ManagedProcess,
  body: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${target.url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const query = (target: ManagedProcess, sql: string) => post(target, JSON.stringify({ query: sql }));

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function stillServes(target: ManagedProcess): Promise<void> {
  const answer = await query(target, 'SELECT count(*) AS n FROM labels');
  expect(answer.status).toBe(200);
  expect(answer.body.results?.[0].n).toBe(cluster.sample.rows.labels);
}

beforeAll(async () => {
  cluster = await startLocalCluster({ labels: 2_000 });
  coordinator = await cluster.startCoordinator(['--max-json-rows', '1000']);
  oracle = await singleNodeDuckDB(cluster.sample.files);
}, 240_000);

afterAll(async () => {
  oracle?.closeSync();
  await cluster?.stop();
});

describe('bad SQL', () => {
  it.each([
    ['SELEC 1', 400, 'syntax_error', /position/],
    ['SELECT * FROM nope', 400, 'unknown_table', /label_sublabels.*label_urls.*labels|labels/],
    ['SELECT l.nope FROM labels l', 400, 'unknown_column', /nope/],
    ['SELECT nope FROM labels', 400, undefined, /nope/],
    ["INSERT INTO labels VALUES (1, 'x', 'y', 1.0, now())", 403, 'forbidden', /read-only|SELECT/i],
    ['DROP TABLE labels', 403, 'forbidden', /./],
    ["COPY labels TO '/tmp/x.csv'", 403, 'forbidden', /./],
    ["ATTACH '/tmp/x.db'", 403, 'forbidden', /./],
    ['INSTALL httpfs', 403, 'forbidden', /./],
    ["SET memory_limit = '1GB'", 403, 'forbidden', /./],
    ['PRAGMA version', 403, 'forbidden', /./],
    ['SELECT 1; SELECT 2', 403, 'forbidden', /./],
    ["SELECT * FROM read_csv('/etc/passwd')", 403, 'forbidden', /read_csv/],
    ["SELECT * FROM '/etc/passwd'", 403, 'forbidden', /./],
    ["SELECT * FROM read_text('/etc/hostname')", 403, 'forbidden', /./],
  ])('%s → %i', async (sql, status, kind, message) => {
    const answer = await query(coordinator, sql);
    expect(answer.status).toBe(status);
    if (kind) expect(answer.body.error).toBe(kind);
    expect(answer.body.message).toMatch(message);
  });

  it('keeps serving after all of them', async () => {
    await stillServes(coordinator);
  });
});

describe('bad bodies', () => {
  it.each([
    ['', 400],
    ['not json', 400],
    ['{}', 400],
    ['{"query": ""}', 400],
    ['{"query": 42}', 400],
    ['[1, 2]', 400],
  ])('%j → %i with a message', async (body, status) => {
    const answer = await post(coordinator, body);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toBeTypeOf('string');
    expect(answer.body.message?.length).toBeGreaterThan(10);
  });
});

describe('answer formats', () => {
  it('refuses a JSON answer beyond the row cap, naming the cap and the streaming way', async () => {
    const answer = await query(coordinator, 'SELECT * FROM label_urls');
    expect(answer.status).toBe(413);
    expect(answer.body.message).toMatch(/1000/);
    expect(answer.body.message).toMatch(/application\/x-ndjson/);
  });

  it('answers a result of exactly the row cap, and refuses one row more before any byte', async () => {
    const atCap = await query(coordinator, 'SELECT url_id FROM label_urls ORDER BY url_id LIMIT 1000');
    expect(atCap.status).toBe(200);
    expect(atCap.body.results?.length).toBe(1000);
    for (const sql of [
      'SELECT url_id FROM label_urls ORDER BY url_id LIMIT 1001',
      'SELECT u.url_id FROM label_urls u JOIN labels l ON l.label_id = u.label_id LIMIT 1001',
    ]) {
      const over = await query(coordinator, sql);
      expect(over.status).toBe(413);
      expect(over.body.error).toBe('result_too_large');
    }
  });

  // Runaway joins get their 413 at once, and the process that would have held them stays small.
  it.each([
    // One table, so it runs whole in the container: streamed there, and cut at the cap here.
    [
      'a self cross join of a trillion rows',
      'SELECT a.url, b.url FROM label_urls a, label_urls b, label_urls c',
      'container',
    ],
    // Two tables, so the join runs here, computed no more than one row past the cap.
    [
      'a cross join of two tables',
      'SELECT u.url, s.sublabel_name FROM label_urls u, label_sublabels s',
      'coordinator',
    ],
  ] as const)('refuses %s at once, and its process keeps its memory', async (_what, sql, where) => {
    const pid = (where === 'container' ? cluster.containers.label_urls : coordinator).child.pid as number;
    const rssBefore = await rssMb(pid);
    const started = performance.now();
    const over = await query(coordinator, sql);
    expect(over.status).toBe(413);
    expect(over.body.message).toMatch(/more than 1000 rows/);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(await rssMb(pid)).toBeLessThan(rssBefore + 200);
    await stillServes(coordinator);
  });

  it('sends a small JSON answer whole, with its length', async () => {
    const small = await fetch(`${coordinator.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'SELECT label_id FROM labels ORDER BY label_id LIMIT 5' }),
    });
    const text = await small.text();
    expect(Number(small.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(JSON.parse(text).row_count).toBe(5);
  });

  it('streams every row as ndjson', async () => {
    const response = await fetch(`${coordinator.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
      body: JSON.stringify({ query: 'SELECT url_id, url FROM label_urls' }),
    });
    expect(response.status).toBe(200);
    const lines = (await response.text()).trimEnd().split('\n');
    expect(lines.length).toBe(cluster.sample.rows.label_urls);
    expect(Object.keys(JSON.parse(lines[0]))).toEqual(['url_id', 'url']);
  });

  it('streams a trillion-row pushed query as it runs, and stops its container when the client leaves', async () => {
    const controller = new AbortController();
    const response = await fetch(`${coordinator.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
      body: JSON.stringify({ query: 'SELECT a.url_id, b.url FROM label_urls a, label_urls b, label_urls c' }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let bytes = 0;
    while (bytes < 4 * 1024 * 1024) bytes += ((await reader.read()).value as Uint8Array).byteLength;
    controller.abort();
    const pid = cluster.containers.label_urls.child.pid as number;
    const cpuTicks = async () => {
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
      return Number(fields[11]) + Number(fields[12]);
    };
    // The cancel reaches the container, whose query stops: it soon uses no CPU.
    let idle = false;
    for (let i = 0; i < 40 && !idle; i++) {
      const before = await cpuTicks();
      await new Promise((r) => setTimeout(r, 250));
      idle = (await cpuTicks()) - before <= 2;
    }
    expect(idle).toBe(true);
    await stillServes(coordinator);
  });

  it('streams a pushed query whose columns travel as text, as the oracle has it', async () => {
    const sql = `SELECT label_id, list(url_id ORDER BY url_id) AS ids, {'n': count(*)} AS s
      FROM label_urls GROUP BY label_id ORDER BY label_id NULLS FIRST`;
    const response = await fetch(`${coordinator.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
      body: JSON.stringify({ query: sql }),
    });
    expect(response.status).toBe(200);
    const rows = (await response.text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    const expected = await oracleAnswer(oracle, sql);
    expect(canonicalRows(expected.columns, rows, true)).toEqual(
      canonicalRows(expected.columns, expected.rows, true),
    );
  });

  it('streams CSV with a header', async () => {
    const response = await fetch(`${coordinator.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/csv' },
      body: JSON.stringify({ query: 'SELECT label_id, name FROM labels ORDER BY label_id LIMIT 3' }),
    });
    expect(response.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = (await response.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('label_id,name');
    expect(lines.length).toBe(4);
  });

  it('says how long the query took and where each table came from', async () => {
    const answer = (await query(
      coordinator,
      'SELECT l.label_id FROM labels l JOIN label_urls u ON l.label_id = u.label_id WHERE u.url_id < 10',
    )) as unknown as {
      body: {
        execution_time_ms: number;
        stats: { tables: { table: string; transport: string; source: string; ms: number }[] };
      };
    };
    expect(answer.body.execution_time_ms).toBeGreaterThan(0);
    const tables = answer.body.stats.tables;
    expect(tables.map((t) => t.table).sort()).toEqual(['label_urls', 'labels']);
    // A small table may come from the coordinator's copy (reference-tables.ts), named by its replica.
    for (const t of tables)
      expect(t.source).toMatch(
        t.transport === 'coordinator copy' ? /^coordinator copy of \w+$/ : `duckdb.${t.table}.scan`,
      );
  });
});

describe('timeouts and clients that leave', () => {
  it('cancels a query past its deadline with 504 and stays up', async () => {
    const slow = await cluster.startCoordinator(['--timeout-ms', '1500']);
    const started = Date.now();
    const answer = await query(
      slow,
      'SELECT count(*) FROM label_urls a, label_urls b, label_urls c WHERE a.url < b.url',
    );
    expect(answer.status).toBe(504);
    expect(answer.body.error).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(10_000);
    await stillServes(slow);
    await slow.stop();
  });

  it('survives a client that goes away mid-query', async () => {
    const controller = new AbortController();
    const pending = fetch(`${coordinator.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'SELECT count(*) FROM label_urls a, label_urls b, label_urls c' }),
      signal: controller.signal,
    }).catch((err: Error) => err);
    await new Promise((r) => setTimeout(r, 500));
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await stillServes(coordinator);
  });
});

describe('tables over HTTP from config.json, and containers that go away', () => {
  it('queries config.json tables and answers 503 naming a table whose container is down', async () => {
    const extra = cluster.adopt(
      await startCliProcess(
        'extra-labels',
        [
          'serve',
          's3://sample-data/labels.csv.gz',
          '--table-name',
          'labels',
          '--s3-endpoint',
          cluster.s3.endpoint,
        ],
        S3_EMULATOR_ENV,
      ),
    );
    const config = join(cluster.dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({
        tables: { labels: { url: 'http://127.0.0.1', port: extra.port, table_name: 'labels' } },
      }),
    );
    const viaHttp = cluster.adopt(
      await startCliProcess('http-coordinator', ['coordinator', '--config', config]),
    );
    const ok = await query(viaHttp, "SELECT count(*) AS n FROM labels WHERE name LIKE '%test%'");
    expect(ok.status).toBe(200);
    expect(Number(ok.body.results?.[0].n)).toBeGreaterThan(0);
    await extra.stop();
    const down = await query(viaHttp, 'SELECT count(*) FROM labels');
    expect(down.status).toBe(503);
    expect(down.body.message).toMatch(/labels/);
    expect(down.body.message).toMatch(String(extra.port));
    const health = await fetch(`${viaHttp.url}/health`);
    expect(health.status).toBe(200);
    await viaHttp.stop();
  });

  it('refuses a split table whose containers disagree on N, then while a part is missing, naming it', async () => {
    const parts = await Promise.all(
      [2, 3].map((count) =>
        generatedTable('split', `SELECT i AS id FROM range(${count * 100}, ${count * 100 + 100}) t(i)`, {
          index: 0,
          count,
        }),
      ),
    );
    const log = createLogger('split');
    const [ofTwo, ofThree] = await Promise.all(
      parts.map((part) => startTableService(part, { url: cluster.nats.url }, log)),
    );
    /** The answer once its message matches `pattern` (discovery takes a moment; the catalog refreshes every 5 s). */
    const answerMatching = async (pattern: RegExp) => {
      const deadline = Date.now() + 20_000;
      let answer = await query(coordinator, 'SELECT count(*) FROM split');
      while (!pattern.test(answer.body.message ?? '') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        answer = await query(coordinator, 'SELECT count(*) FROM split');
      }
      return answer;
    };
    try {
      await Promise.all([ofTwo.ready, ofThree.ready]);
      const answer = await answerMatching(/disagree/);
      expect(answer.status).toBe(503);
      expect(answer.body.message).toMatch(
        /table split cannot be queried: its data containers disagree on how many parts .*split into 2 parts.*split into 3 parts/,
      );
      await stillServes(coordinator);
      await ofThree.stop();
      const missing = await answerMatching(/no live replica/);
      expect(missing.status).toBe(503);
      expect(missing.body.message).toMatch(
        /table split cannot be queried: part 1 of 2 has no live replica \(nothing answers on duckdb\.split\.1\.scan\).*--shard 1\/2/,
      );
    } finally {
      await Promise.all([ofTwo.stop(), ofThree.stop()]);
    }
    const gone = await answerMatching(/no data container answers/);
    expect(gone.status).toBe(503);
    expect(gone.body.message).toMatch(
      /table split cannot be queried: no data container answers on duckdb\.split\.\{0\.\.1\}\.scan/,
    );
  });

  it('answers 503 naming the table when its NATS container dies', async () => {
    await cluster.containers.label_urls.stop();
    const started = Date.now();
    const answer = await query(
      coordinator,
      'SELECT count(*) FROM labels l JOIN label_urls u USING (label_id)',
    );
    expect(answer.status).toBe(503);
    expect(answer.body.message).toMatch(/label_urls/);
    expect(Date.now() - started).toBeLessThan(30_000);
    await stillServes(coordinator);
  });
});
