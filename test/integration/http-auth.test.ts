/**
 * API keys, body types and the audit line, with real processes: a data container reached
 * over HTTP through config.json, one reached over NATS, and coordinators in front of them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyIdOf } from '../../src/auth/api-keys.js';
import { sqlHash } from '../../src/http/audit.js';
import { type ManagedProcess, startCliProcess } from '../../src/tools/local-cluster.js';
import { type NatsServer, startNatsServer } from '../../src/tools/nats-server.js';
import { S3_EMULATOR_ENV } from '../../src/tools/s3-emulator.js';
import { gzip, startTestS3, type TestS3 } from '../helpers/s3.js';

const LABELS = 1_000;
const ITEMS = 3_000;
const CONTAINER_KEY = 'container-key-0123456789abcdef';
const SHARED_KEY = 'shared-key-0123456789abcdef';
const COORDINATOR_KEY = 'coordinator-key-0123456789abcdef';
const WRONG_KEY = 'not-a-key-of-anyone-0123456789';

let s3: TestS3;
let nats: NatsServer;
let dir: string;
let labels: ManagedProcess;
let items: ManagedProcess;
let coordinator: ManagedProcess;
const started: ManagedProcess[] = [];

async function start(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ManagedProcess> {
  const proc = await startCliProcess(name, args, { ...S3_EMULATOR_ENV, LOG_LEVEL: 'info', ...env });
  started.push(proc);
  return proc;
}

function configFile(name: string, entry: Record<string, unknown>): Promise<string> {
  const path = join(dir, name);
  const config = { tables: { labels: { url: 'http://127.0.0.1', port: labels.port, ...entry } } };
  return writeFile(path, JSON.stringify(config)).then(() => path);
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function ask(
  target: ManagedProcess,
  body: string,
  headers: Record<string, string>,
  path = '/query',
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(`${target.url}${path}`, { method: 'POST', headers, body });
  const answer = (await response.json()) as Record<string, unknown>;
  return { status: response.status, headers: response.headers, body: answer };
}

const json = { 'content-type': 'application/json' };
const query = (target: ManagedProcess, sql: string, key?: string) =>
  ask(target, JSON.stringify({ query: sql }), { ...json, ...(key ? bearer(key) : {}) });

/** The JSON log lines a process wrote to stderr so far. */
function logLines(proc: ManagedProcess): Record<string, unknown>[] {
  return proc
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

async function auditLine(proc: ManagedProcess, sql: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const line = logLines(proc).find((l) => l.msg === 'query' && l.sql_hash === sqlHash(sql));
    if (line) return line;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no audit line for ${sql}:\n${proc.output()}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'http-auth-test-'));
  s3 = await startTestS3();
  nats = await startNatsServer();
  await s3.createBucket('auth-data');
  const labelRows = Array.from({ length: LABELS }, (_, i) => `${i + 1},label ${i + 1}`);
  const itemRows = Array.from({ length: ITEMS }, (_, i) => `${i + 1},${(i % LABELS) + 1}`);
  const labelsUrl = await s3.put(
    'auth-data',
    'labels.csv.gz',
    gzip(`label_id,name\n${labelRows.join('\n')}\n`),
  );
  const itemsUrl = await s3.put(
    'auth-data',
    'items.csv.gz',
    gzip(`item_id,label_id\n${itemRows.join('\n')}\n`),
  );
  const keyFile = join(dir, 'container-keys');
  await writeFile(keyFile, `# keys of the labels container\n${CONTAINER_KEY}\n\n  ${SHARED_KEY}  \n`);
  const coordinatorKeys = join(dir, 'coordinator-keys');
  await writeFile(coordinatorKeys, `${COORDINATOR_KEY}\n`);
  [labels, items] = await Promise.all([
    start('labels', [
      'serve',
      labelsUrl,
      '--table-name',
      'labels',
      '--s3-endpoint',
      s3.endpoint,
      '--api-keys',
      keyFile,
    ]),
    start(
      'items',
      ['serve', itemsUrl, '--table-name', 'items', '--s3-endpoint', s3.endpoint, '--nats', nats.url],
      {
        API_KEYS: `${CONTAINER_KEY}, ${SHARED_KEY}`,
      },
    ),
  ]);
  const config = await configFile('keyed.json', { api_key_env: 'LABELS_KEY' });
  coordinator = await start(
    'coordinator',
    ['coordinator', '--config', config, '--nats', nats.url, '--api-keys', coordinatorKeys],
    { LABELS_KEY: CONTAINER_KEY },
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  await nats?.dispose();
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('API keys', () => {
  it('refuses every request without a key with 401, saying how to send one', async () => {
    const requests: [ManagedProcess, string, RequestInit][] = [
      [coordinator, '/query', { method: 'POST', headers: json, body: '{"query": "SELECT 1"}' }],
      [coordinator, '/', {}],
      [coordinator, '/docs/json', {}],
      [coordinator, '/nope', {}],
      [labels, '/query', { method: 'POST', headers: json, body: '{"query": "SELECT 1"}' }],
      [labels, '/metadata', {}],
      [labels, '/scan', { method: 'POST', headers: json, body: '{"columns": ["label_id"]}' }],
      [items, '/metadata', {}],
    ];
    for (const [target, path, init] of requests) {
      const response = await fetch(`${target.url}${path}`, init);
      expect(response.status, `${target.name} ${path}`).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      const body = await response.json();
      expect(body).toEqual({
        error: 'unauthorized',
        message: expect.stringMatching(/Authorization: Bearer <key>/),
      });
    }
  });

  it('refuses a wrong key, and a header that is not Bearer', async () => {
    for (const authorization of [
      `Bearer ${WRONG_KEY}`,
      `Basic ${COORDINATOR_KEY}`,
      'Bearer',
      `Bearer ${CONTAINER_KEY}`,
    ]) {
      const answer = await ask(coordinator, '{"query": "SELECT 1"}', { ...json, authorization });
      expect(answer.status, authorization).toBe(401);
      expect(answer.body.error).toBe('unauthorized');
    }
  });

  it('answers GET /health without a key', async () => {
    for (const target of [coordinator, labels, items]) {
      expect((await fetch(`${target.url}/health`)).status).toBe(200);
    }
  });

  it('answers with a key, over HTTP (config.json api_key_env) and over NATS', async () => {
    const answer = await query(
      coordinator,
      'SELECT count(*) AS n, count(DISTINCT l.label_id) AS labels FROM items i JOIN labels l USING (label_id)',
      COORDINATOR_KEY,
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.results).toEqual([{ n: ITEMS, labels: LABELS }]);
    const direct = await query(labels, 'SELECT count(*) AS n FROM labels', SHARED_KEY);
    expect(direct.body.results).toEqual([{ n: LABELS }]);
    const metadata = await fetch(`${items.url}/metadata`, { headers: bearer(CONTAINER_KEY) });
    expect(metadata.status).toBe(200);
  });

  it("sends the coordinator's own first key when config.json names none", async () => {
    const config = await configFile('plain.json', {});
    const own = await start('own-key', ['coordinator', '--config', config], {
      API_KEYS: `${SHARED_KEY},${COORDINATOR_KEY}`,
    });
    const answer = await query(
      own,
      "SELECT max(label_id) AS top FROM labels WHERE name LIKE 'label 9%'",
      COORDINATOR_KEY,
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.results).toEqual([{ top: 999 }]);
  });

  it("turns a data container's 401 into a 503 naming the table", async () => {
    const config = await configFile('wrong.json', { api_key: WRONG_KEY });
    const wrong = await start('wrong-key', ['coordinator', '--config', config]);
    const answer = await query(wrong, 'SELECT count(*) FROM labels');
    expect(answer.status).toBe(503);
    expect(answer.body.error).toBe('unavailable');
    expect(answer.body.message).toMatch(/table labels .*refused the coordinator's API key \(401\).*api_key/);
    const none = await start('no-key', ['coordinator', '--config', await configFile('none.json', {})]);
    const missing = await query(none, 'SELECT count(*) FROM labels');
    expect(missing.status).toBe(503);
    expect(missing.body.message).toMatch(/table labels .*needs an API key \(401\).*--api-keys/);
  });

  it('declares the bearer scheme in the OpenAPI spec, open for /health only', async () => {
    for (const target of [coordinator, labels]) {
      const key = target === labels ? CONTAINER_KEY : COORDINATOR_KEY;
      const response = await fetch(`${target.url}/docs/json`, { headers: bearer(key) });
      // biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document, read in a test
      const spec = (await response.json()) as any;
      expect(spec.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(spec.security).toEqual([{ bearerAuth: [] }]);
      expect(spec.paths['/health'].get.security).toEqual([]);
      expect(spec.paths['/query'].post.security).toBeUndefined();
    }
  });

  it('refuses to start with a key file that holds no key', async () => {
    const empty = join(dir, 'empty-keys');
    await writeFile(empty, '# no keys yet\n\n');
    await expect(
      start('empty', ['coordinator', '--config', await configFile('e.json', {}), '--api-keys', empty]),
    ).rejects.toThrow(/holds no API key/);
  });
});

describe('request bodies', () => {
  it.each([
    ['text/plain', '{"query": "SELECT 1"}'],
    ['application/x-www-form-urlencoded', '{"query": "SELECT 1"}'],
    ['multipart/form-data; boundary=x', '--x--'],
    ['text/csv', 'SELECT 1'],
  ])('refuses %s with 415', async (type, body) => {
    for (const [target, key] of [
      [coordinator, COORDINATOR_KEY],
      [labels, CONTAINER_KEY],
    ] as const) {
      const answer = await ask(target, body, { 'content-type': type, ...bearer(key) });
      expect(answer.status, `${target.name} ${type}`).toBe(415);
      expect(answer.body.error).toBe('unsupported_media_type');
      expect(answer.body.message).toMatch(/application\/json.*application\/sql/);
    }
  });

  it('takes raw SQL as application/sql on POST /query', async () => {
    const sql = 'SELECT count(*) AS n FROM labels WHERE label_id <= 10';
    for (const [target, key] of [
      [coordinator, COORDINATOR_KEY],
      [labels, CONTAINER_KEY],
    ] as const) {
      const answer = await ask(target, sql, {
        'content-type': 'application/sql; charset=utf-8',
        ...bearer(key),
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.results).toEqual([{ n: 10 }]);
    }
    const bad = await ask(coordinator, 'SELEC 1', {
      'content-type': 'application/sql',
      ...bearer(COORDINATOR_KEY),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('syntax_error');
  });
});

describe('the audit line', () => {
  it('has the query id, client, key id, SQL hash and text, tables, rows, bytes, status and ms', async () => {
    const sql = 'SELECT label_id FROM items JOIN labels USING (label_id) WHERE item_id <= 7 ORDER BY 1';
    const answer = await query(coordinator, sql, COORDINATOR_KEY);
    expect(answer.status).toBe(200);
    const line = await auditLine(coordinator, sql);
    expect(line).toMatchObject({
      level: 'info',
      msg: 'query',
      query_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      client: '127.0.0.1',
      key_id: keyIdOf(COORDINATOR_KEY),
      sql_hash: sqlHash(sql),
      sql,
      tables: expect.arrayContaining(['items', 'labels']),
      rows: 7,
      status: 200,
    });
    expect(line.bytes).toBeGreaterThan(JSON.stringify(answer.body).length);
    expect(line.ms).toBeGreaterThan(0);
    for (const key of [COORDINATOR_KEY, CONTAINER_KEY, SHARED_KEY]) {
      for (const proc of [coordinator, labels, items]) expect(proc.output()).not.toContain(key);
    }
  });

  it('records refused and failed queries too', async () => {
    const sql = 'SELECT count(*) FROM nowhere';
    await query(coordinator, sql, WRONG_KEY);
    await query(coordinator, sql, COORDINATOR_KEY);
    await new Promise((r) => setTimeout(r, 200));
    const lines = logLines(coordinator).filter((l) => l.msg === 'query' && l.sql_hash === sqlHash(sql));
    // The refused one was not read (its body waits behind the key check): it has no SQL.
    const refused = logLines(coordinator).filter((l) => l.msg === 'query' && l.status === 401);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((l) => l.key_id === undefined && l.sql === undefined)).toBe(true);
    expect(lines).toEqual([expect.objectContaining({ status: 400, key_id: keyIdOf(COORDINATOR_KEY) })]);
  });

  it('says when the client left a stream before its end', async () => {
    const sql = 'SELECT a.label_id, b.label_id FROM labels a, labels b';
    const controller = new AbortController();
    const response = await fetch(`${coordinator.url}/query`, {
      method: 'POST',
      headers: { ...json, ...bearer(COORDINATOR_KEY), accept: 'application/x-ndjson' },
      body: JSON.stringify({ query: sql }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    const line = await auditLine(coordinator, sql);
    expect(line).toMatchObject({ client_left: true, sql, tables: ['labels'] });
    expect(line.rows).toBeLessThan(LABELS * LABELS);
  });

  it('keeps only the hash of the SQL with --audit-sql hash', async () => {
    const hashed = await start('hashed', ['coordinator', '--nats', nats.url, '--audit-sql', 'hash']);
    const sql = "SELECT count(*) AS n FROM items WHERE item_id < 100 AND 'secret' <> 'x'";
    const answer = await query(hashed, sql);
    expect(answer.body.results).toEqual([{ n: 99 }]);
    const line = await auditLine(hashed, sql);
    expect(line).toMatchObject({ sql_hash: sqlHash(sql), rows: 1, status: 200, tables: ['items'] });
    expect(line).not.toHaveProperty('sql');
    expect(line).not.toHaveProperty('key_id');
    expect(hashed.output()).not.toContain("'secret'");
  });

  it('logs every NATS scan a container serves', async () => {
    const before = logLines(items).filter((l) => l.msg === 'scan served').length;
    // One table's query runs whole in its container (a join's small tables may come from the
    // coordinator's copies instead of a scan).
    await query(coordinator, 'SELECT count(*) FROM items WHERE item_id % 2 = 0', COORDINATOR_KEY);
    await new Promise((r) => setTimeout(r, 200));
    const after = logLines(items).filter((l) => l.msg === 'scan served');
    expect(after.length).toBeGreaterThan(before);
    expect(after.at(-1)).toMatchObject({
      level: 'info',
      subject: 'duckdb.items.scan',
      ms: expect.any(Number),
    });
  });
});
