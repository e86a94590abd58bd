/**
 * Long text over NATS and HTTP: frames are sized by bytes whatever the server's max_payload
 * (a chunk is cut by rows, a value longer than a message travels in parts), so rows of 1 KB,
 * 64 KB and 4 MB strings scan, push down and gather through a coordinator exactly as DuckDB
 * answers them, with the default 1 MiB max_payload and with a 64 KiB one.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generatedTable } from '../../src/bench/generated-table.js';
import { startTableService, type TableService } from '../../src/data-container/nats-service.js';
import { registerScanRoute } from '../../src/data-container/scan-http.js';
import type { LoadedTable } from '../../src/data-container/table.js';
import { createLogger } from '../../src/log.js';
import type { Frame, ScanRequest } from '../../src/protocol/frames.js';
import { openHttpScan } from '../../src/scan-client/http-scan.js';
import { openNatsScan } from '../../src/scan-client/nats-scan.js';
import { type ManagedProcess, startCliProcess } from '../../src/tools/local-cluster.js';
import { askCoordinator } from '../helpers/coordinator.js';
import { canonical, collectScan, rowKeys } from '../helpers/frames.js';
import { type NatsServer, startNatsServer } from '../helpers/nats.js';
import { canonicalRows, oracleAnswer } from '../helpers/oracle.js';

/** 6,000 rows of ~1 KB text, every 1,000th of 64 KB, two of 4 MB (2-byte characters), NULLs, a list. */
const TEXTS = `SELECT i::BIGINT AS id,
    CASE WHEN i % 11 = 0 THEN NULL
      ELSE repeat(chr(97 + (i % 26)::INTEGER), CASE WHEN i % 1000 = 7 THEN 65536 ELSE 1000 END) || i END AS body,
    CASE WHEN i % 9 = 0 THEN NULL ELSE [i, i + 1] END AS pair
  FROM range(6000) t(i)
  UNION ALL
  SELECT (1000000 + k)::BIGINT, repeat('é', 2 * 1024 * 1024) || k, [k] FROM range(2) t(k)`;
const OWNERS = `SELECT i::BIGINT AS id, 'owner ' || i AS owner FROM range(0, 1000010, 3) t(i)`;

const log = createLogger('test');
const IDLE = { idleTimeoutMs: 20_000 };
let texts: LoadedTable;
let owners: LoadedTable;
let oracle: DuckDBInstance;

beforeAll(async () => {
  [texts, owners] = await Promise.all([generatedTable('texts', TEXTS), generatedTable('owners', OWNERS)]);
  oracle = await DuckDBInstance.create(':memory:');
  const con = await oracle.connect();
  await con.run(`CREATE TABLE texts AS ${TEXTS}`);
  await con.run(`CREATE TABLE owners AS ${OWNERS}`);
  con.closeSync();
});

/** DuckDB's own rows of `sql`, canonical as collectScan makes them. */
async function expected(sql: string): Promise<string[]> {
  const con = await oracle.connect();
  try {
    return rowKeys((await con.runAndReadAll(sql)).getRowsJson().map((row) => row.map(canonical)));
  } finally {
    con.closeSync();
  }
}

async function scanned(scan: AsyncIterable<Frame>): Promise<string[]> {
  return rowKeys((await collectScan(scan)).rows);
}

const WHOLE = 'SELECT id, body, pair::VARCHAR FROM texts';
const ISSUE_QUERY = "SELECT id, repeat('x', 600) FROM texts LIMIT 5000";

for (const maxPayload of [undefined, 64 * 1024]) {
  describe(`over NATS, max_payload ${maxPayload ?? 'default (1 MiB)'}`, () => {
    let server: NatsServer;
    let service: TableService;
    let nc: NatsConnection;
    beforeAll(async () => {
      server = await startNatsServer({ maxPayload });
      service = await startTableService(texts, { url: server.url }, log);
      await service.ready;
      nc = await connect({ servers: server.url });
    });
    afterAll(async () => {
      await nc?.close();
      await service?.stop();
      await server?.dispose();
    });

    test('a column scan of every row equals DuckDB', async () => {
      const rows = await scanned(openNatsScan(nc, 'texts', { columns: ['id', 'body'] }, IDLE));
      expect(rows).toEqual(await expected('SELECT id, body FROM texts'));
    });

    test('a column scan with a nested column equals DuckDB, in JSON mode too', async () => {
      const request: ScanRequest = { columns: ['id', 'body', 'pair'], where: 'id % 5 = 2 OR id > 999999' };
      const where = 'WHERE id % 5 = 2 OR id > 999999';
      const binary = await collectScan(openNatsScan(nc, 'texts', request, IDLE));
      const json = await collectScan(openNatsScan(nc, 'texts', request, { ...IDLE, encoding: 'json' }));
      expect(binary.rows).toHaveLength(1202);
      // A list travels as DuckDB's text of it in binary mode, as a JSON array in JSON mode.
      expect(rowKeys(binary.rows)).toEqual(
        await expected(`SELECT id, body, pair::VARCHAR FROM texts ${where}`),
      );
      expect(rowKeys(json.rows.map((r) => r.slice(0, 2)))).toEqual(
        await expected(`SELECT id, body FROM texts ${where}`),
      );
    });

    test("the issue's query: 5,000 rows of 600 bytes, pushed whole", async () => {
      const scan = await collectScan(openNatsScan(nc, 'texts', { columns: [], query: ISSUE_QUERY }, IDLE));
      expect(scan.rows).toHaveLength(5000);
      expect(scan.rows.every((r) => r[1] === 'x'.repeat(600))).toBe(true);
      // Cut by bytes: no data frame holds a whole 2,048-row chunk of 600-byte rows under 64 KiB.
      const dataFrames = scan.frames.filter((f) => f.type === 'data');
      expect(dataFrames.length).toBeGreaterThan(maxPayload ? 40 : 2);
    });

    test('a pushed query with 64 KB and 4 MB values equals DuckDB', async () => {
      const sql = `${WHOLE} WHERE id % 1000 = 7 OR id > 999999 OR id < 50`;
      const rows = await scanned(openNatsScan(nc, 'texts', { columns: [], query: sql }, IDLE));
      expect(rows).toEqual(await expected(sql));
      // 7, 1007 … 5007; the two of 4 MB; 0 … 49 (7 among them).
      expect(rows.length).toBe(6 + 2 + 50 - 1);
    });

    test('duckdb.texts.query answers what fits one message, and 413 for what does not', async () => {
      const ask = async (query: string) => {
        const reply = await nc.request('duckdb.texts.query', JSON.stringify({ query }), { timeout: 20_000 });
        return {
          code: reply.headers?.get('Nats-Service-Error-Code'),
          body: reply.json<{ results?: Record<string, unknown>[] }>(),
        };
      };
      const small = await ask('SELECT id, length(body) AS n FROM texts WHERE id = 1000001');
      expect(small.body.results).toEqual([{ id: 1000001, n: 2 * 1024 * 1024 + 1 }]);
      const long = await ask('SELECT id, body FROM texts WHERE id = 7');
      if (maxPayload) {
        expect(long.code).toBe('413');
        expect(JSON.stringify(long.body)).toMatch(/max_payload.*duckdb\.texts\.scan/);
      } else {
        expect(long.body.results).toEqual([{ id: 7, body: `${'h'.repeat(65536)}7` }]);
      }
    });
  });
}

test('POST /scan carries 4 MB values', async () => {
  const app = Fastify();
  registerScanRoute(app, () => texts, 60_000);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const sql = `${WHOLE} WHERE id > 5990`;
    const rows = await scanned(openHttpScan(url, { columns: [], query: sql }, IDLE));
    expect(rows).toEqual(await expected(sql));
  } finally {
    await app.close();
  }
});

describe('through a coordinator', () => {
  let server: NatsServer;
  const services: TableService[] = [];
  let coordinator: ManagedProcess;
  beforeAll(async () => {
    server = await startNatsServer({ maxPayload: 256 * 1024 });
    for (const table of [texts, owners])
      services.push(await startTableService(table, { url: server.url }, log));
    await Promise.all(services.map((s) => s.ready));
    coordinator = await startCliProcess('coordinator', ['coordinator', '--nats', server.url], {
      LOG_LEVEL: 'silent',
    });
  });
  afterAll(async () => {
    await coordinator?.stop();
    await Promise.all(services.map((s) => s.stop()));
    await server?.dispose();
  });

  test.each([
    [
      'a join with the long-text table',
      'SELECT t.id, t.body, o.owner FROM texts t JOIN owners o ON t.id = o.id',
    ],
    ['a single-table query pushed whole', `${WHOLE} WHERE id % 7 = 0 OR id > 999999`],
    ["the issue's query", "SELECT id, repeat('x', 600) AS x FROM texts ORDER BY id LIMIT 5000"],
  ])('%s equals the oracle', async (_label, sql) => {
    const con = await oracle.connect();
    const want = await oracleAnswer(con, sql).finally(() => con.closeSync());
    const got = await askCoordinator(coordinator, sql);
    expect(got.message).toBeUndefined();
    expect(got.status).toBe(200);
    expect(canonicalRows(got.columns, got.results, false)).toEqual(
      canonicalRows(want.columns, want.rows, false),
    );
  });
});
