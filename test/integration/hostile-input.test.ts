/**
 * Hostile and careless input, from real parts: SQL (huge, deeply nested, NUL and control
 * characters, several statements, non-SELECT, file and settings functions, odd unicode), HTTP
 * (content types, huge bodies, bad JSON), NATS scan requests (malformed msgpack, wrong
 * types, huge limits, a `where` that tries to leave its expression) and streamed answers cut
 * midway. Each gets the right status and kind, nothing leaks of the server, and a correct
 * query still works after.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedTable } from '../../src/bench/generated-table.js';
import { startTableService, type TableService } from '../../src/data-container/nats-service.js';
import { registerScanRoute } from '../../src/data-container/scan-http.js';
import type { LoadedTable } from '../../src/data-container/table.js';
import { QueryError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { encode } from '../../src/protocol/codec.js';
import type { ErrorFrame, Frame, ScanFilter, ScanRequest } from '../../src/protocol/frames.js';
import { openHttpScan } from '../../src/scan-client/http-scan.js';
import { openNatsScan } from '../../src/scan-client/nats-scan.js';
import { type LocalCluster, type ManagedProcess, startLocalCluster } from '../../src/tools/local-cluster.js';
import { collectScan } from '../helpers/frames.js';

const run = promisify(execFile);
const IDLE = { idleTimeoutMs: 10_000 };
const ITEMS_ROWS = 20_000;
const ITEMS = `SELECT i::BIGINT AS id, i % 3 = 0 AS flag, 'item ' || i AS name FROM range(${ITEMS_ROWS}) t(i)`;

let cluster: LocalCluster;
let coordinator: ManagedProcess;
/** Cuts every query at 1.5 s, for streams that fail midway. */
let hasty: ManagedProcess;
let items: LoadedTable;
let service: TableService;
let nc: NatsConnection;
let scanHttp: FastifyInstance;
let scanUrl: string;

interface Answer {
  status: number;
  headers: Headers;
  body: { error?: string; message?: string; results?: Record<string, unknown>[]; stats?: unknown };
}

async function post(
  target: { url: string },
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<Answer> {
  const response = await fetch(`${target.url}/query`, { method: 'POST', headers, body });
  const text = await response.text();
  let parsed: Answer['body'] = {};
  try {
    parsed = JSON.parse(text) as Answer['body'];
  } catch {
    parsed = { message: text };
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

const query = (target: { url: string }, sql: string) => post(target, JSON.stringify({ query: sql }));

async function stillServes(target: { url: string }): Promise<void> {
  const answer = await query(target, 'SELECT count(*) AS n FROM labels');
  expect(answer.status).toBe(200);
  expect(answer.body.results?.[0].n).toBe(cluster.sample.rows.labels);
}

beforeAll(async () => {
  cluster = await startLocalCluster({ labels: 2_000 });
  [coordinator, hasty] = await Promise.all([
    cluster.startCoordinator(['--max-json-bytes', '65536']),
    cluster.startCoordinator(['--timeout-ms', '1500']),
  ]);
  items = await generatedTable('items', ITEMS);
  service = await startTableService(items, { url: cluster.nats.url }, createLogger('items'));
  await service.ready;
  nc = await connect({ servers: cluster.nats.url });
  scanHttp = Fastify();
  registerScanRoute(scanHttp, () => items, 60_000);
  await scanHttp.listen({ port: 0, host: '127.0.0.1' });
  scanUrl = `http://127.0.0.1:${(scanHttp.server.address() as AddressInfo).port}`;
}, 240_000);

afterAll(async () => {
  await scanHttp?.close();
  await nc?.close();
  await service?.stop();
  await cluster?.stop();
});

describe('SQL text', () => {
  const deep = `SELECT ${'('.repeat(3000)}1${')'.repeat(3000)} AS x`;
  const chain = `SELECT ${Array.from({ length: 2000 }, () => 'label_id').join(' + ')} FROM labels`;
  it.each([
    [
      'a NUL before the WHERE',
      'SELECT count(*) FROM labels\u0000 WHERE label_id = 1',
      400,
      'bad_request',
      /NUL .* at character 28/,
    ],
    ['a NUL in a literal', "SELECT count(*) FROM labels WHERE name = 'a\u0000'", 400, 'bad_request', /NUL/],
    ['an escape character', 'SELECT 1\u001b[2J', 400, 'bad_request', /U\+001B at character 9/],
    ['a backspace in a keyword', 'SEL\u0008ECT 1', 400, 'bad_request', /U\+0008/],
    ['several statements', 'SELECT 1; SELECT 2', 403, 'forbidden', /one (SELECT|statement)/i],
    ['a statement after a comment', 'SELECT 1; -- x\nDROP TABLE labels', 403, 'forbidden', /./],
    ['an UPDATE', "UPDATE labels SET name = 'x'", 403, 'forbidden', /./],
    ['a file function', "SELECT * FROM read_csv('/etc/passwd')", 403, 'forbidden', /read_csv/],
    [
      'a file function in a subquery',
      "SELECT (SELECT count(*) FROM read_text('/etc/hostname'))",
      403,
      'forbidden',
      /read_text/,
    ],
    ['current_setting', "SELECT current_setting('temp_directory') AS d", 403, 'forbidden', /current_setting/],
    ['duckdb_settings()', 'SELECT * FROM duckdb_settings()', 403, 'forbidden', /duckdb_settings/],
    ['duckdb_temporary_files()', 'SELECT path FROM duckdb_temporary_files()', 403, 'forbidden', /./],
    [
      'a settings function over a table',
      "SELECT current_setting('home_directory') FROM labels",
      403,
      'forbidden',
      /./,
    ],
    ['a zero-width space in a keyword', 'SEL\u200bECT 1', 400, 'syntax_error', /./],
    ['an expression chain too deep', chain, 400, undefined, /nests expressions too deeply/],
    ['a huge query', `SELECT 1 ${' '.repeat(1_100_000)}`, 400, 'bad_request', /query/],
  ])('%s → %i', async (_what, sql, status, kind, message) => {
    const answer = await query(coordinator, sql);
    expect(answer.status).toBe(status);
    if (kind) expect(answer.body.error).toBe(kind);
    expect(answer.body.message).toMatch(message);
    // Every hint can be followed: SET is refused here.
    expect(answer.body.message).not.toMatch(/(use|using|by) "?(SET|PRAGMA) /i);
  });

  it('answers deeply nested parentheses, or refuses them with a 4xx', async () => {
    const answer = await query(coordinator, deep);
    expect(answer.status === 200 || (answer.status >= 400 && answer.status < 500)).toBe(true);
  });

  it('keeps odd unicode in literals and names as it is', async () => {
    const answer = await query(coordinator, `SELECT 'ü😀\u202e\u0007' AS "s\u202et", 'a''b' AS q`);
    expect(answer.status).toBe(200);
    expect(answer.body.results).toEqual([{ 's\u202et': 'ü😀\u202e\u0007', q: "a'b" }]);
  });

  it('streams an answer whose names are not ASCII, with its stats header intact', async () => {
    const response = await fetch(`${coordinator.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
      body: JSON.stringify({ query: 'SELECT count(*) AS "nପ😀" FROM labels' }),
    });
    expect(response.status).toBe(200);
    expect(JSON.parse((await response.text()).trim())).toEqual({ 'nପ😀': cluster.sample.rows.labels });
    expect(JSON.stringify(JSON.parse(response.headers.get('x-query-stats') ?? ''))).toContain('nପ😀');
  });

  it('refuses a NUL at the data container too', async () => {
    const answer = await query(
      cluster.containers.labels,
      'SELECT count(*) FROM labels\u0000 WHERE label_id = 1',
    );
    expect(answer.status).toBe(400);
    expect(answer.body.message).toMatch(/NUL/);
  });

  it('tells nothing of the server in an answer: no host, no pid', async () => {
    const answer = await query(
      coordinator,
      'SELECT l.label_id FROM labels l JOIN label_urls u USING (label_id) LIMIT 1',
    );
    expect(answer.status).toBe(200);
    const stats = JSON.stringify(answer.body.stats);
    expect(stats).not.toContain(String(coordinator.child.pid));
    expect(stats).not.toMatch(/"coordinator"/);
  });

  it('keeps serving after all of them', async () => {
    await stillServes(coordinator);
  });
});

describe('HTTP', () => {
  it.each([
    ['XML', '<query>SELECT 1</query>', { 'content-type': 'application/xml' }, 415, 'unsupported_media_type'],
    ['bad JSON', '{"query": "SELECT 1"', { 'content-type': 'application/json' }, 400, 'bad_request'],
    [
      'JSON of the wrong shape',
      '{"query": ["SELECT 1"]}',
      { 'content-type': 'application/json' },
      400,
      'bad_request',
    ],
    ['no body', '', { 'content-type': 'application/json' }, 400, 'bad_request'],
  ])('%s → %i', async (_what, body, headers, status, kind) => {
    const answer = await post(coordinator, body, headers);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toBe(kind);
  });

  it('refuses a body over the limit as 413 request_too_large', async () => {
    // Its declared length is enough: the server answers before it reads any of it.
    const answer = await new Promise<{ status?: number; body: string }>((resolve) => {
      const request = http.request(
        `${coordinator.url}/query`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': String(9 * 1024 * 1024) },
        },
        (response) => {
          let body = '';
          response.on('data', (d: Buffer) => {
            body += d.toString();
          });
          response.on('end', () => {
            resolve({ status: response.statusCode, body });
            request.destroy();
          });
        },
      );
      request.on('error', () => undefined);
      request.write('{"query": "');
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error).toBe('request_too_large');
  });

  it('refuses a JSON answer over its byte cap as 413, saying how to stream it', async () => {
    const answer = await query(coordinator, "SELECT repeat('x', 1000) AS s FROM labels LIMIT 200");
    expect(answer.status).toBe(413);
    expect(answer.body.error).toBe('result_too_large');
    expect(answer.body.message).toMatch(/--max-json-bytes.*application\/x-ndjson/);
  });

  it('answers an unknown route with 404 not_found', async () => {
    const response = await fetch(`${coordinator.url}/nope`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toBe('not_found');
  });
});

describe('a streamed answer that fails midway', () => {
  // A join in the coordinator, cut by its 1.5 s deadline long after the first rows went out.
  const slow = 'SELECT a.url_id, b.label_id FROM label_urls a, labels b, labels c';

  it.each(['application/x-ndjson', 'text/csv'])(
    'ends as a transfer error for node:http (%s)',
    async (accept) => {
      const outcome = await new Promise<{ complete: boolean; trailers: NodeJS.Dict<string>; bytes: number }>(
        (resolve, reject) => {
          const request = http.request(
            `${hasty.url}/query`,
            { method: 'POST', headers: { 'content-type': 'application/json', accept } },
            (response) => {
              expect(response.statusCode).toBe(200);
              let bytes = 0;
              response.on('data', (d: Buffer) => {
                bytes += d.byteLength;
              });
              response.on('error', () => undefined);
              response.on('close', () =>
                resolve({ complete: response.complete, trailers: response.trailers, bytes }),
              );
            },
          );
          request.on('error', reject);
          request.end(JSON.stringify({ query: slow }));
        },
      );
      expect(outcome.bytes).toBeGreaterThan(0);
      expect(outcome.complete).toBe(false);
      expect(outcome.trailers['x-query-summary']).toBeUndefined();
    },
  );

  it('ends as a transfer error for curl', async () => {
    const curl = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-X',
      'POST',
      '-H',
      'content-type: application/json',
      '-H',
      'accept: application/x-ndjson',
      '--data',
      JSON.stringify({ query: slow }),
      `${hasty.url}/query`,
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    // 18: "transfer closed with outstanding read data remaining".
    expect(curl.code).toBe(18);
  });

  it('keeps the coordinator serving', async () => {
    await stillServes(hasty);
  });
});

describe('NATS and POST /scan requests', () => {
  async function natsError(request: unknown, filter?: ScanFilter): Promise<QueryError> {
    const options = filter ? { ...IDLE, filter: () => Promise.resolve(filter) } : IDLE;
    const outcome = await collectScan(openNatsScan(nc, 'items', request as ScanRequest, options)).catch(
      (e: unknown) => e,
    );
    expect(outcome).toBeInstanceOf(QueryError);
    return outcome as QueryError;
  }

  it.each([
    ['a where that closes its parenthesis', 'id < 0) OR (id > 0', 'syntax_error'],
    ['a where that opens a UNION', 'true UNION SELECT * FROM items', 'forbidden'],
    ['a where with a LIMIT', 'id > 0 LIMIT 1', 'forbidden'],
    ['a where with a NUL', 'id = 1\u0000 OR true', 'bad_request'],
    ['a where with current_setting', "current_setting('temp_directory') IS NOT NULL", 'forbidden'],
    ['a where with a subquery', 'id IN (SELECT id FROM items)', 'forbidden'],
  ])('refuses %s over NATS', async (_what, where, kind) => {
    const error = await natsError({ columns: ['id'], where });
    expect(error.kind).toBe(kind);
  });

  it('refuses a where that would leave its keys behind', async () => {
    const keys = {
      column: 'id',
      rows: 2,
      values: { data: new Uint8Array(new BigInt64Array([1n, 2n]).buffer) },
    };
    const error = await natsError({ columns: ['id'], where: 'id < 0) OR (id > 0', keys });
    expect(error.kind).toBe('syntax_error');
  });

  it('refuses a filter message whose where leaves its parentheses', async () => {
    const request = { columns: ['id'], where: 'flag', awaitFilter: true };
    const error = await natsError(request, { type: 'filter', where: 'id < 0) OR (id > 0' });
    expect(error.kind).toBe('syntax_error');
  });

  it('refuses the breakout over POST /scan too', async () => {
    const error = await collectScan(
      openHttpScan(scanUrl, { columns: ['id'], where: 'id < 0) OR (id > 0' }, IDLE),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'syntax_error' });
  });

  it('refuses a NUL in a pushed query', async () => {
    const error = await natsError({ query: 'SELECT count(*) FROM items\u0000 WHERE id = 1' });
    expect(error.kind).toBe('bad_request');
  });

  const raw: [string, Uint8Array][] = [
    ['truncated msgpack', encode({ columns: ['id'], where: 'id > 1' }, 'msgpack').subarray(0, 9)],
    ['msgpack of a string', encode('SELECT 1', 'msgpack')],
    ['msgpack with columns of numbers', encode({ columns: [1, 2] }, 'msgpack')],
    ['msgpack with a huge limit', encode({ columns: ['id'], limit: 2 ** 64 }, 'msgpack')],
    ['msgpack with a string limit', encode({ columns: ['id'], limit: '5' }, 'msgpack')],
    ['msgpack with a where of a map', encode({ columns: ['id'], where: { a: 1 } }, 'msgpack')],
    ['bytes that are no msgpack', new Uint8Array([0xc1, 0xff, 0x00, 0x13])],
  ];
  it.each(raw)('answers %s with a 4xx error frame', async (_what, payload) => {
    const reply = await nc.request('duckdb.items.scan', payload, { timeout: 5_000 });
    const frame = (await import('../../src/protocol/codec.js')).decode(reply.data, 'msgpack') as Frame;
    expect(frame.type).toBe('error');
    expect((frame as ErrorFrame).error).toBe('bad_request');
  });

  it('still scans right after all of them', async () => {
    const scan = await collectScan(
      openNatsScan(nc, 'items', { columns: ['id'], where: 'id < 0 OR id > 0' }, IDLE),
    );
    expect(scan.rows.length).toBe(ITEMS_ROWS - 1);
    await stillServes(coordinator);
  });
});
