/**
 * POST /query on a real `serve` process: answers in the seed's shape with exact values, and
 * refuses everything but one read-only SELECT over its own table, staying up throughout.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3_EMULATOR_ENV } from '../../src/tools/s3-emulator.js';
import { killChildren, type ServeProcess, startServe } from '../helpers/processes.js';
import { startTestS3, type TestS3 } from '../helpers/s3.js';

const ROWS = 500;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('POST /query', () => {
  let s3: TestS3;
  let serve: ServeProcess;
  let url: string;

  beforeAll(async () => {
    s3 = await startTestS3();
    await s3.createBucket('query-data');
    const lines = ['label_id,name,price'];
    for (let i = 1; i <= ROWS; i++) lines.push(`${i},${i % 50 === 0 ? 'test_label' : `label ${i}`},${i / 4}`);
    url = await s3.put('query-data', 'labels.csv.gz', gzipSync(`${lines.join('\n')}\n`));
    serve = await startServe([url, '--table-name', 'labels', '--s3-endpoint', s3.endpoint], S3_EMULATOR_ENV);
  });

  afterAll(async () => {
    await killChildren();
    await s3?.stop();
  });

  async function post(body: string | undefined, contentType = 'application/json'): Promise<Answer> {
    const response = await fetch(`${serve.url}/query`, {
      method: 'POST',
      headers: body === undefined ? {} : { 'content-type': contentType },
      body,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const query = (sql: string) => post(JSON.stringify({ query: sql }));

  it('answers in the seed shape', async () => {
    const answer = await query(
      "SELECT label_id, name FROM labels WHERE name = 'test_label' ORDER BY label_id LIMIT 2",
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      results: [
        { label_id: 50, name: 'test_label' },
        { label_id: 100, name: 'test_label' },
      ],
      columns: ['label_id', 'name'],
      source_tables: ['labels'],
    });
    expect(answer.body.execution_time_ms).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(String(answer.body.timestamp)))).toBe(false);
  });

  it('keeps values exact: big integers and decimals as strings, ISO dates, NULL', async () => {
    const answer = await query(
      `SELECT 9007199254740993::BIGINT AS big, 9007199254740991::BIGINT AS safe, 12.345::DECIMAL(10,3) AS d,
              DATE '2024-01-02' AS day, TIMESTAMP '2024-01-02 03:04:05.5' AS ts, NULL AS nothing,
              [1, 2] AS list, {'a': 'é'} AS struct
       FROM labels LIMIT 1`,
    );
    expect(answer.body.results).toEqual([
      {
        big: '9007199254740993',
        safe: 9007199254740991,
        d: '12.345',
        day: '2024-01-02',
        ts: '2024-01-02T03:04:05.5',
        nothing: null,
        list: [1, 2],
        struct: { a: 'é' },
      },
    ]);
  });

  it.each(['application/x-www-form-urlencoded', 'text/plain'])(
    'refuses a %s body with 415 (a browser sends those to any site)',
    async (type) => {
      const answer = await post(JSON.stringify({ query: 'SELECT count(*) AS n FROM labels' }), type);
      expect(answer.status).toBe(415);
      expect(answer.body).toMatchObject({
        error: 'unsupported_media_type',
        message: expect.stringMatching(/application\/json/),
      });
    },
  );

  it('takes the SQL itself as application/sql', async () => {
    const answer = await post('SELECT count(*) AS n FROM labels', 'application/sql');
    expect(answer).toEqual(expect.objectContaining({ status: 200 }));
    expect(answer.body.results).toEqual([{ n: ROWS }]);
  });

  it('a syntax error is 400 with DuckDB message and position', async () => {
    const answer = await query('SELECT FROM WHERE labels');
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('syntax_error');
    expect(answer.body.message).toMatch(/syntax error at or near "WHERE" \(at character 13\)/);
  });

  it('another table is 400 naming the table that is here', async () => {
    const answer = await query('SELECT * FROM label_urls');
    expect(answer).toEqual({
      status: 400,
      body: {
        error: 'unknown_table',
        message: 'table label_urls does not exist here; the tables are: labels (label_id, name, price)',
      },
    });
  });

  it('an unknown column is 400', async () => {
    const answer = await query('SELECT nope FROM labels');
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('unknown_column');
    expect(answer.body.message).toMatch(/nope/);
  });

  it('a result past the JSON row cap is 413', async () => {
    const answer = await query('SELECT a.label_id FROM labels a, labels b');
    expect(answer.status).toBe(413);
    expect(answer.body.error).toBe('result_too_large');
  });

  const refused = [
    'INSERT INTO labels VALUES (1, 2, 3)',
    "COPY labels TO '/tmp/labels.csv'",
    "ATTACH '/tmp/other.db' AS other",
    'INSTALL httpfs',
    'LOAD httpfs',
    'SET threads = 1',
    'PRAGMA enable_profiling',
    'DROP TABLE labels',
    'SELECT 1; SELECT 2',
    'SELECT 1 FROM labels; DELETE FROM labels',
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "FROM '/etc/passwd'",
    "SELECT * FROM glob('/*')",
    'DESCRIBE labels',
  ];
  it.each(refused)('refuses with 403: %s', async (sql) => {
    const answer = await query(sql);
    expect(answer.status).toBe(403);
    expect(answer.body.error).toBe('forbidden');
    expect(typeof answer.body.message).toBe('string');
  });

  it.each([
    ['an empty body', undefined, 'application/json', /body/],
    ['a body that is not JSON', 'SELECT 1', 'application/json', /not valid JSON/],
    ['no query', '{}', 'application/json', /query/],
    ['a query that is not a string', '{"query": 5}', 'application/json', /query/],
    ['an empty query', '{"query": ""}', 'application/json', /query/],
  ])('a bad request body is 400: %s', async (_what, body, contentType, message) => {
    const answer = await post(body, contentType);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('bad_request');
    expect(answer.body.message).toMatch(message);
  });

  it('an unknown route is a JSON 404', async () => {
    const response = await fetch(`${serve.url}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'not_found' });
  });

  it('takes its row cap and deadline from --max-json-rows and --query-timeout-ms', async () => {
    const limited = await startServe(
      [url, '--table-name', 'labels', '--s3-endpoint', s3.endpoint, '--max-json-rows', '10'],
      { ...S3_EMULATOR_ENV, QUERY_TIMEOUT_MS: '300' },
    );
    const ask = async (sql: string) => {
      const response = await fetch(`${limited.url}/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: sql }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    expect((await ask('SELECT label_id FROM labels LIMIT 10')).status).toBe(200);
    const tooMany = await ask('SELECT label_id FROM labels LIMIT 11');
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.message).toMatch(/more than 10 rows.*--max-json-rows/);
    const started = performance.now();
    const slow = await ask('SELECT count(*) FROM labels a, labels b, labels c, labels d');
    expect(slow.status).toBe(504);
    expect(slow.body.message).toMatch(/300 ms.*--query-timeout-ms/);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect((await ask('SELECT count(*) AS n FROM labels')).body.results).toEqual([{ n: ROWS }]);
  });

  it('is still up, its table untouched, after all of that', async () => {
    expect(serve.process.exitCode).toBeNull();
    expect((await fetch(`${serve.url}/health`)).status).toBe(200);
    const answer = await query('SELECT count(*) AS n, sum(label_id) AS s FROM labels');
    expect(answer.body.results).toEqual([{ n: ROWS, s: (ROWS * (ROWS + 1)) / 2 }]);
    expect(serve.stderr()).not.toMatch(/"level":"error"/);
  });
});
