/**
 * `serve` against a real S3 API (s3rver over HTTP), as a child process: the loaded table
 * must equal what DuckDB's own readers give on the very same files, value for value.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JsonResult, resultToJson } from '../../src/duckdb/json-values.js';
import { quoteLiteral } from '../../src/duckdb/sql.js';
import { S3_EMULATOR_ENV } from '../../src/tools/s3-emulator.js';
import {
  freePort,
  killChildren,
  type ServeProcess,
  serveUntilExit,
  spawnServe,
  startServe,
  waitHealthy,
} from '../helpers/processes.js';
import { gzip, startTestS3, type TestS3 } from '../helpers/s3.js';

const BUCKET = 'load-test-data';

/** Rows that trip CSV readers and JSON writers up, then ordinary ones. */
function awkwardCsv(rows: number): string {
  const lines = [
    'id,name,amount,big,price,day,ts,note',
    '1,plain,10,9007199254740993,12.345,2024-01-02,2024-01-02 03:04:05,hello',
    '2,"comma, inside",-5,-9007199254740993,0.001,1999-12-31,1999-12-31 23:59:59.5,"quote ""inside"""',
    '3,"new\nline",,,,,,',
    '4,ünïcödé ☃ 日本語 🦆,0,9223372036854775807,-0.5,1970-01-01,1970-01-01 00:00:00,"a,b ""c""\nd"',
    '5,,7,-9223372036854775808,1e-3,2000-02-29,2000-02-29 12:00:00.123456,',
  ];
  for (let i = 6; i <= rows; i++) {
    const day = `20${String(10 + (i % 15)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`;
    lines.push(
      `${i},name ${i},${(i * 37) % 1001},${i * 1_000_003},${(i % 997) / 8},${day},${day} 0${i % 10}:00:0${i % 7},n${i % 3}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function numberedCsv(first: number, count: number): string {
  const lines = ['id,label,score'];
  for (let i = first; i < first + count; i++) lines.push(`${i},"label ${i}",${(i % 100) / 4}`);
  return `${lines.join('\n')}\n`;
}

async function json(con: DuckDBConnection, sql: string): Promise<JsonResult> {
  return resultToJson(await con.run(sql));
}

async function query(
  serve: ServeProcess,
  sql: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${serve.url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: sql }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function metadata(serve: ServeProcess): Promise<Record<string, unknown>> {
  return (await (await fetch(`${serve.url}/metadata`)).json()) as Record<string, unknown>;
}

/** DESCRIBE of a reference SELECT as /metadata lists columns. */
async function describeColumns(
  con: DuckDBConnection,
  select: string,
): Promise<{ name: string; type: string }[]> {
  const rows = (await json(con, `DESCRIBE ${select}`)).rows;
  return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
}

/** The container's table equals the reference SELECT: columns, types, rows and values. */
async function expectSameTable(serve: ServeProcess, table: string, con: DuckDBConnection, reference: string) {
  const meta = await metadata(serve);
  const expectedColumns = await describeColumns(con, reference);
  expect(meta.columns).toEqual(expectedColumns);
  const expected = await json(con, `SELECT * FROM (${reference}) ORDER BY id`);
  expect(meta.row_count).toBe(expected.rows.length);
  const got = await query(serve, `SELECT * FROM ${table} ORDER BY id`);
  expect(got.status).toBe(200);
  expect(got.body.columns).toEqual(expected.columns);
  expect(got.body.results).toEqual(expected.rows);
}

describe('serve loads tables from S3', () => {
  let s3: TestS3;
  let dir: string;
  let con: DuckDBConnection;
  const local = (name: string) => join(dir, name);
  const serveArgs = (urls: string[], table: string) => [
    ...urls,
    '--table-name',
    table,
    '--s3-endpoint',
    s3.endpoint,
  ];

  /** Writes a local file and puts the same bytes to S3; returns the s3:// URL. */
  async function object(key: string, body: Buffer | string): Promise<string> {
    await writeFile(local(key.replaceAll('/', '_')), body);
    return s3.put(BUCKET, key, body);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'load-test-'));
    s3 = await startTestS3();
    await s3.createBucket(BUCKET);
    con = await (await DuckDBInstance.create(':memory:')).connect();
  });

  afterAll(async () => {
    await killChildren();
    await s3?.stop();
    con?.closeSync();
    await rm(dir, { recursive: true, force: true });
  });

  it('a gzipped CSV with NULLs, unicode, quoted commas, quotes and newlines, huge integers, dates', async () => {
    const url = await object('awkward.csv.gz', gzip(awkwardCsv(3000)));
    const serve = await startServe(serveArgs([url], 'awkward'), S3_EMULATOR_ENV);
    const reference = `SELECT * FROM read_csv(${quoteLiteral(local('awkward.csv.gz'))})`;
    await expectSameTable(serve, 'awkward', con, reference);

    const first = await query(serve, 'SELECT * FROM awkward WHERE id <= 5 ORDER BY id');
    const rows = first.body.results as Record<string, unknown>[];
    expect(rows[0]).toMatchObject({ big: '9007199254740993', day: '2024-01-02', ts: '2024-01-02T03:04:05' });
    expect(rows[1]).toMatchObject({
      name: 'comma, inside',
      big: '-9007199254740993',
      note: 'quote "inside"',
    });
    expect(rows[2]).toMatchObject({ name: 'new\nline', amount: null, big: null, day: null, note: null });
    expect(rows[3]).toMatchObject({
      name: 'ünïcödé ☃ 日本語 🦆',
      big: '9223372036854775807',
      note: 'a,b "c"\nd',
    });
    expect(rows[4]).toMatchObject({ name: null, ts: '2000-02-29T12:00:00.123456' });
    expect(typeof rows[0].amount).toBe('number');

    const meta = await metadata(serve);
    expect(meta).toMatchObject({
      s3_url: url,
      view_name: 'awkward',
      row_count: 3000,
      column_count: 8,
      size_bytes: gzip(awkwardCsv(3000)).length,
      objects: [url],
    });
    expect(meta.load_time_ms).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(String(meta.timestamp)))).toBe(false);
    expect(serve.stderr()).toMatch(/"rows":3000,.*"msg":"table loaded"/);
  });

  it('several URLs, a plain CSV and a prefix glob make one table, in order', async () => {
    const urls = [
      await object('multi/first.csv.gz', gzip(numberedCsv(0, 500))),
      await object('multi/plain.csv', numberedCsv(500, 500)),
    ];
    for (let i = 0; i < 3; i++)
      await object(`multi/part-${i}.csv.gz`, gzip(numberedCsv(1000 + i * 700, 700)));
    await object('multi/sub/part-9.csv.gz', gzip(numberedCsv(9000, 5))); // `*` stays within one level
    await object('multi/notes.txt', 'not part of the table');
    const serve = await startServe(
      serveArgs([...urls, `s3://${BUCKET}/multi/*.csv.gz`], 'multi'),
      S3_EMULATOR_ENV,
    );
    const files = ['first.csv.gz', 'plain.csv', 'part-0.csv.gz', 'part-1.csv.gz', 'part-2.csv.gz'];
    const reference = `SELECT * FROM read_csv([${files.map((f) => quoteLiteral(local(`multi_${f}`))).join(', ')}])`;
    await expectSameTable(serve, 'multi', con, reference);
    const meta = await metadata(serve);
    expect(meta.objects).toEqual([...urls, ...[0, 1, 2].map((i) => `s3://${BUCKET}/multi/part-${i}.csv.gz`)]);
    expect(meta.row_count).toBe(3100);
  });

  it('a Parquet object', async () => {
    const path = local('typed.parquet');
    await con.run(
      `COPY (SELECT i AS id, (i / 8)::DECIMAL(18,3) AS d, [i, NULL] AS l, {'k': i::VARCHAR} AS s FROM range(1000) t(i)) TO ${quoteLiteral(path)} (FORMAT parquet)`,
    );
    const url = await s3.put(BUCKET, 'typed.parquet', await readFile(path));
    const serve = await startServe(serveArgs([url], 'typed'), S3_EMULATOR_ENV);
    await expectSameTable(serve, 'typed', con, `SELECT * FROM read_parquet(${quoteLiteral(path)})`);
    const row = ((await query(serve, 'SELECT * FROM typed WHERE id = 10')).body.results as unknown[])[0];
    expect(row).toEqual({ id: 10, d: '1.250', l: [10, null], s: { k: '10' } });
  });

  it('a large object arrives in parallel ranged parts, every byte in place', async () => {
    // Random hex barely compresses: ~11 MB of gzip, several 4 MiB parts.
    const lines = ['id,a,b'];
    const hex = randomBytes(270_000 * 32).toString('hex');
    for (let i = 0; i < 270_000; i++)
      lines.push(`${i},${hex.slice(i * 64, i * 64 + 32)},${hex.slice(i * 64 + 32, i * 64 + 64)}`);
    const body = gzip(`${lines.join('\n')}\n`);
    expect(body.length).toBeGreaterThan(8 * 1024 * 1024);
    const url = await object('large.csv.gz', body);
    const serve = await startServe(serveArgs([url], 'large'), S3_EMULATOR_ENV);
    const digest = 'SELECT count(*) AS n, sum(id) AS s, bit_xor(hash(id, a, b)) AS h FROM';
    const expected = await json(con, `${digest} read_csv(${quoteLiteral(local('large.csv.gz'))})`);
    const got = await query(serve, `${digest} large`);
    expect(got.body.results).toEqual(expected.rows);
    expect((got.body.results as { n: number }[])[0].n).toBe(270_000);
  });

  it('a prefix glob over more than 1000 keys lists every page', async () => {
    const keys = Array.from({ length: 1001 }, (_, i) => `many/k-${String(i).padStart(4, '0')}.csv.gz`);
    await s3.putAll(
      BUCKET,
      keys.map((key, i) => ({ key, body: gzip(numberedCsv(i * 2, 2)) })),
    );
    const serve = await startServe(serveArgs([`s3://${BUCKET}/many/*.csv.gz`], 'many'), S3_EMULATOR_ENV);
    const meta = await metadata(serve);
    expect((meta.objects as string[]).length).toBe(1001);
    expect(meta.row_count).toBe(2002);
    const got = await query(
      serve,
      'SELECT count(DISTINCT id) AS ids, min(id) AS lo, max(id) AS hi FROM many',
    );
    expect(got.body.results).toEqual([{ ids: 2002, lo: 0, hi: 2001 }]);
  });

  it('keeps to its --memory-limit (on the --threads given), and a table over it fails to load saying so', async () => {
    const url = await object('limited/numbers.csv.gz', gzip(numberedCsv(0, 200_000)));
    const serve = await startServe(
      [...serveArgs([url], 'limited'), '--memory-limit', '300MB', '--threads', '1'],
      S3_EMULATOR_ENV,
    );
    // Settings are not readable through /query (they would tell of the server), so the limit
    // shows as what it refuses: a list aggregate (it cannot spill) of ~600 MB of strings.
    const big = await query(
      serve,
      "SELECT length(list(repeat('x', 1000))) AS n FROM limited a, limited b WHERE b.id < 3",
    );
    expect(big.status).toBe(507);
    expect(big.body).toMatchObject({ error: 'out_of_memory' });
    const small = await query(serve, "SELECT length(list(repeat('x', 100))) AS n FROM limited");
    expect(small.body.results).toEqual([{ n: 200_000 }]);
    serve.process.kill('SIGTERM');
    const over = await serveUntilExit(serveArgs([url], 'limited'), {
      ...S3_EMULATOR_ENV,
      DUCKDB_MEMORY_LIMIT: '2MB',
    });
    expect(over.code).toBe(1);
    expect(over.stderr).toMatch(/table does not fit .* raise --memory-limit \(DUCKDB_MEMORY_LIMIT\)/);
  });

  it('answers /health 503 and /query 503 while loading, before giving up on a dead endpoint', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const serve = await spawnServe(
      ['s3://any-bucket/x.csv.gz', '--table-name', 'waiting', '--s3-endpoint', dead],
      S3_EMULATOR_ENV,
    );
    let health = 0;
    for (let i = 0; i < 100 && health === 0; i++) {
      health = await fetch(`${serve.url}/health`).then(
        (r) => r.status,
        () => 0,
      );
      if (health === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(health).toBe(503);
    const loading = await query(serve, 'SELECT 1');
    expect(loading.status).toBe(503);
    expect(loading.body.error).toBe('unavailable');
    await expect(waitHealthy(serve)).rejects.toThrow(`cannot reach S3 endpoint ${dead}`);
    expect(await serve.exited).toBe(1);
  });

  it('serves OpenAPI at /docs and /docs/json, and stops cleanly on SIGTERM', async () => {
    const url = await object('small.csv', numberedCsv(0, 3));
    const serve = await startServe(serveArgs([url], 'small'), S3_EMULATOR_ENV);
    const docs = await fetch(`${serve.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
    const spec = (await (await fetch(`${serve.url}/docs/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/health', '/metadata', '/query', '/scan']),
    );
    await serve.stop();
    expect(await serve.exited).toBe(0);
    expect(serve.stderr()).toMatch(/"signal":"SIGTERM","msg":"shutting down"/);
  });
});
