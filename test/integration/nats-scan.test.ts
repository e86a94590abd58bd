/**
 * Scans over a real nats-server against in-process data containers (generated tables):
 * results equal DuckDB's own SELECT, JSON mode, bad input, discovery, metadata, replicas,
 * POST /scan, and the `scan` command.
 */
import { execFile } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { DuckDBBigIntType } from '@duckdb/node-api';
import { Svcm } from '@nats-io/services';
import { connect, createInbox, type NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generatedTable } from '../../src/bench/generated-table.js';
import { natsCatalogTable } from '../../src/coordinator/catalog/catalog-table.js';
import { gatherFrames } from '../../src/coordinator/execute/gather.js';
import { Serial } from '../../src/coordinator/execute/serial.js';
import { tableMetadata } from '../../src/data-container/metadata.js';
import { startTableService, type TableService } from '../../src/data-container/nats-service.js';
import { registerScanRoute } from '../../src/data-container/scan-http.js';
import type { LoadedTable } from '../../src/data-container/table.js';
import { FrameBuilder, wireLayoutFor } from '../../src/duckdb/columnar.js';
import { encodeDeltaKeys, type IntegerLayout, integerLayout } from '../../src/duckdb/delta-keys.js';
import { QueryError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { decode, encode } from '../../src/protocol/codec.js';
import type {
  ColumnSchema,
  ErrorFrame,
  Frame,
  ScanFilter,
  ScanRequest,
  WireColumn,
} from '../../src/protocol/frames.js';
import { SERVICE_NAME } from '../../src/protocol/subjects.js';
import { discoverTables } from '../../src/scan-client/discovery.js';
import { openHttpScan } from '../../src/scan-client/http-scan.js';
import { openNatsScan } from '../../src/scan-client/nats-scan.js';
import { canonical, collectScan, frameRows, rowKeys } from '../helpers/frames.js';
import { type NatsServer, startNatsServer } from '../helpers/nats.js';

const ROWS = 50_000;
const PEOPLE = `SELECT
    i::BIGINT AS id,
    (i % 97)::INTEGER AS bucket,
    (i * 1.5)::DOUBLE AS score,
    i % 3 = 0 AS flag,
    CASE WHEN i % 11 = 0 THEN NULL
      ELSE 'name ' || i || CASE WHEN i % 7 = 0 THEN ', "quoted" é 日本' ELSE '' END END AS name,
    DATE '2020-01-01' + (i % 1000)::INTEGER AS day,
    CASE WHEN i % 13 = 0 THEN NULL ELSE 9007199254740993 + i END::BIGINT AS big
  FROM range(${ROWS}) t(i)`;
const ORDERS = 'SELECT i::BIGINT AS order_id, (i % 100)::BIGINT AS person_id FROM range(1000) t(i)';

const log = createLogger('test');
const IDLE = { idleTimeoutMs: 10_000 };
let server: NatsServer;
let people: LoadedTable;
let orders: LoadedTable;
const services: TableService[] = [];
let nc: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer({ maxPayload: 4 * 1024 * 1024 });
  [people, orders] = await Promise.all([generatedTable('people', PEOPLE), generatedTable('orders', ORDERS)]);
  for (const table of [people, people, orders])
    services.push(await startTableService(table, { url: server.url }, log));
  await Promise.all(services.map((s) => s.ready));
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  await nc?.close();
  await Promise.all(services.map((s) => s.stop()));
  await server?.dispose();
});

/** DuckDB's own answer, canonical. */
async function expected(sql: string): Promise<string[]> {
  const con = await people.instance.connect();
  try {
    return rowKeys((await con.runAndReadAll(sql)).getRowsJson().map((row) => row.map(canonical)));
  } finally {
    con.closeSync();
  }
}

function selectFor(request: ScanRequest): string {
  const computed = (request.computed ?? []).map((c) => `(${c.sql}) AS ${c.name}`);
  const columns = [request.columns?.length ? request.columns.join(', ') : '*', ...computed].join(', ');
  return `SELECT ${columns} FROM people${request.where ? ` WHERE ${request.where}` : ''}`;
}

/** The first column of `sql`'s result as one wire column, the way the coordinator sends keys. */
async function packColumn(sql: string): Promise<{ rows: number; values: WireColumn }> {
  const con = await people.instance.connect();
  try {
    const result = await con.run(sql);
    const builder = new FrameBuilder([wireLayoutFor(result.columnTypes()[0])], 1 << 30);
    for (let k = 0; k < result.chunkCount; k++) builder.append(result.getChunk(k));
    const rows = builder.rows;
    return { rows, values: builder.take().columns[0] };
  } finally {
    con.closeSync();
  }
}

const badOffsets = { data: new Uint8Array(3), offsets: new Int32Array([0, 2, 1]) };
const KEYS_SQL = 'SELECT id FROM people WHERE id % 7 = 2';
const FILTER_WHERE: ScanFilter = { type: 'filter', where: 'id BETWEEN 100 AND 30000' };
const NONE: ScanFilter = { type: 'filter', where: 'false' };

async function scanError(request: unknown): Promise<QueryError> {
  try {
    await collectScan(openNatsScan(nc, 'people', request as ScanRequest, IDLE));
  } catch (err) {
    if (err instanceof QueryError) return err;
    throw err;
  }
  throw new Error('the scan succeeded');
}

/** The first reply to a hand-made request, decoded like its request. */
async function firstFrame(subject: string, payload: Uint8Array | string, json: boolean): Promise<Frame> {
  const reply = await nc.request(subject, payload, { timeout: 5_000 });
  return decode(reply.data, json ? 'json' : 'msgpack') as Frame;
}

describe('scan results equal DuckDB', () => {
  const cases: ScanRequest[] = [
    { columns: [] },
    { columns: ['id'] },
    { columns: ['name', 'id'] },
    { columns: ['score', 'flag', 'day'], where: 'id < 1000' },
    { columns: ['big', 'name'], where: 'big IS NULL' },
    { columns: ['id', 'name'], where: "name LIKE '%quoted%'" },
    { columns: ['bucket', 'score'], where: 'bucket = 5 AND flag' },
    { columns: ['id'], where: 'score > 1e12' },
    { columns: ['ID', 'Name'], where: "ID BETWEEN 10 AND 20 OR day = DATE '2020-01-05'" },
    {
      columns: ['id'],
      computed: [
        { name: 'twice', sql: 'score * 2 + bucket' },
        { name: 'quoted', sql: "name LIKE '%quoted%'" },
        { name: 'month', sql: 'month(day)' },
        { name: 'hashed', sql: 'hash(name) % 1000' },
      ],
      where: 'id % 5 = 1',
    },
    { columns: [], computed: [{ name: 'initial', sql: 'substr(name, 1, 6)' }] },
    {
      columns: ['flag'],
      computed: [{ name: 'big_ok', sql: 'coalesce(big, 0) > 9007199254740993 + 100' }],
      packIntegers: true,
    },
  ];
  for (const request of cases) {
    test(`${JSON.stringify(request)}`, async () => {
      const scan = await collectScan(openNatsScan(nc, 'people', request, IDLE));
      expect(rowKeys(scan.rows)).toEqual(await expected(selectFor(request)));
      const end = scan.frames.at(-1);
      expect(end).toMatchObject({ type: 'end', rows: scan.rows.length, frames: scan.frames.length - 2 });
    });
  }

  test('the whole table travels in several frames, each under max_payload', async () => {
    const scan = await collectScan(openNatsScan(nc, 'people', { columns: [] }, IDLE));
    expect(scan.frames.filter((f) => f.type === 'data').length).toBeGreaterThan(1);
    expect(scan.schema.map((c) => [c.name, c.type])).toEqual(people.columns.map((c) => [c.name, c.type]));
  });

  for (const limit of [0, 1, 10, 12_345, 10_000_000]) {
    test(`limit ${limit}`, async () => {
      const request = { columns: ['id', 'name'], where: 'bucket < 50', limit };
      const scan = await collectScan(openNatsScan(nc, 'people', request, IDLE));
      const all = await expected(selectFor(request));
      expect(scan.rows.length).toBe(Math.min(limit, all.length));
      const allRows = new Set(all);
      expect(rowKeys(scan.rows).every((key) => allRows.has(key))).toBe(true);
    });
  }

  // Keys as data (dynamic filtering): the same rows as an IN over the same keys.
  const keyCases: [string, string, Partial<ScanRequest>][] = [
    ['id', 'id % 37 = 0', {}],
    ['name', 'id % 101 = 0', { columns: ['id', 'name'] }],
    ['day', 'id < 40', { columns: ['id', 'day'], where: 'flag' }],
    ['score', 'id % 997 = 1', { columns: ['score', 'big'], limit: 7 }],
    ['big', 'id % 500 = 3', { columns: ['big'] }],
    ['bucket', 'false', { columns: ['id'] }],
  ];
  for (const [column, keysFrom, rest] of keyCases) {
    test(`keys of ${column} (${keysFrom}) select what IN does`, async () => {
      const keySql = `SELECT DISTINCT ${column} FROM people WHERE ${keysFrom} AND ${column} IS NOT NULL`;
      const request: ScanRequest = {
        columns: ['id', column],
        ...rest,
        keys: { column, ...(await packColumn(keySql)) },
      };
      const scan = await collectScan(openNatsScan(nc, 'people', request, IDLE));
      const where = `${column} IN (${keySql})${rest.where ? ` AND ${rest.where}` : ''}`;
      const all = await expected(selectFor({ ...request, where }));
      if (request.limit === undefined) expect(rowKeys(scan.rows)).toEqual(all);
      else {
        expect(scan.rows.length).toBe(Math.min(request.limit, all.length));
        expect(rowKeys(scan.rows).every((key) => all.includes(key))).toBe(true);
      }
    });
  }

  test('several key sets, one delta-encoded, select what IN AND IN does', async () => {
    const ids = await packColumn('SELECT DISTINCT id FROM people WHERE id % 3 = 1 ORDER BY id');
    const layout = integerLayout(DuckDBBigIntType.instance) as IntegerLayout;
    const delta = encodeDeltaKeys(ids.values.data, ids.rows, layout, 1 << 20) as Uint8Array;
    expect(delta.length).toBeLessThan(ids.values.data.length / 4);
    const request: ScanRequest = {
      columns: ['id', 'bucket'],
      where: 'id % 2 = 0',
      keys: [
        { column: 'id', rows: ids.rows, encoding: 'delta', values: { data: delta } },
        { column: 'bucket', ...(await packColumn('SELECT DISTINCT bucket FROM people WHERE bucket < 30')) },
      ],
    };
    const scan = await collectScan(openNatsScan(nc, 'people', request, IDLE));
    const where = 'id % 2 = 0 AND id % 3 = 1 AND bucket < 30';
    expect(rowKeys(scan.rows)).toEqual(await expected(selectFor({ ...request, where })));
  });

  // A filter that follows the request (awaitFilter): the rows of the request with that filter.
  const awaited: [string, Partial<ScanRequest>, () => Promise<ScanFilter>, string | undefined][] = [
    [
      'keys',
      { columns: ['id', 'name'], where: 'bucket < 40' },
      async () => ({ type: 'filter', keys: { column: 'id', ...(await packColumn(KEYS_SQL)) } }),
      `id IN (${KEYS_SQL})`,
    ],
    [
      'a predicate',
      { columns: ['name', 'day'], where: 'flag' },
      async () => FILTER_WHERE,
      FILTER_WHERE.where,
    ],
    ['nothing', { columns: ['score'], where: 'id % 3 = 1' }, async () => ({ type: 'filter' }), undefined],
    [
      'keys, without a predicate of its own',
      { columns: [] },
      async () => ({ type: 'filter', keys: { column: 'id', ...(await packColumn(KEYS_SQL)) } }),
      `id IN (${KEYS_SQL})`,
    ],
    ['a filter that keeps nothing', { columns: ['id'], where: 'bucket = 1' }, async () => NONE, 'false'],
    // Key tables made while the sender waits; a name the table lacks is no error.
    [
      'keys whose table was made ahead',
      { columns: ['id', 'name'], where: 'bucket < 40', filterKeyColumns: ['ID', 'no_such_column'] },
      async () => ({ type: 'filter', keys: { column: 'id', ...(await packColumn(KEYS_SQL)) } }),
      `id IN (${KEYS_SQL})`,
    ],
    [
      'two key sets of one column made ahead, which intersect',
      { columns: ['id', 'score'], filterKeyColumns: ['id'] },
      async () => ({
        type: 'filter',
        keys: [
          { column: 'id', ...(await packColumn(KEYS_SQL)) },
          { column: 'id', ...(await packColumn(`SELECT id FROM people WHERE id % 3 = 0`)) },
        ],
      }),
      `id IN (${KEYS_SQL}) AND id % 3 = 0`,
    ],
    [
      'keys of a column not named ahead',
      { columns: ['id'], where: 'bucket < 40', filterKeyColumns: ['bucket'] },
      async () => ({ type: 'filter', keys: { column: 'id', ...(await packColumn(KEYS_SQL)) } }),
      `id IN (${KEYS_SQL})`,
    ],
  ];
  for (const [name, rest, filter, filterWhere] of awaited) {
    test(`a filter that follows the request: ${name}`, async () => {
      // The filter comes late, as the keys of a table still being gathered would.
      const late = new Promise<ScanFilter>((resolve) => setTimeout(() => resolve(filter()), 50));
      const request: ScanRequest = { columns: [], ...rest, awaitFilter: true };
      const scan = await collectScan(openNatsScan(nc, 'people', request, { ...IDLE, filter: () => late }));
      const wheres = [rest.where, filterWhere].filter((w) => w !== undefined).map((w) => `(${w})`);
      const where = wheres.length > 0 ? wheres.join(' AND ') : undefined;
      expect(rowKeys(scan.rows)).toEqual(await expected(selectFor({ ...request, where })));
      expect(scan.schema.map((c) => c.name)).toEqual(
        request.columns?.length ? request.columns : people.columns.map((c) => c.name),
      );
    });
  }

  test('a filter that follows the request, with a limit', async () => {
    const request: ScanRequest = { columns: ['id'], where: 'bucket < 40', limit: 25, awaitFilter: true };
    const filter = () => Promise.resolve(FILTER_WHERE);
    const scan = await collectScan(openNatsScan(nc, 'people', request, { ...IDLE, filter }));
    const all = new Set(await expected(`SELECT id FROM people WHERE bucket < 40 AND ${FILTER_WHERE.where}`));
    expect(scan.rows.length).toBe(25);
    expect(rowKeys(scan.rows).every((key) => all.has(key))).toBe(true);
  });

  // awaitFilterAbove: the sender waits only where its own predicate keeps more rows than that.
  for (const [above, waits] of [
    [20_000, false],
    [1_000, true],
  ] as const) {
    test(`a predicate keeping ~10,300 rows, awaitFilterAbove ${above}: waits ${waits}`, async () => {
      const request: ScanRequest = {
        columns: ['id', 'name'],
        where: 'bucket < 20',
        awaitFilter: true,
        awaitFilterAbove: above,
      };
      let asked = false;
      const filter = async () => {
        asked = true;
        return FILTER_WHERE;
      };
      const scan = await collectScan(openNatsScan(nc, 'people', request, { ...IDLE, filter }));
      expect(scan.frames[0]).toMatchObject({ type: 'schema', awaitsFilter: waits });
      expect(asked).toBe(waits);
      const where = waits ? `bucket < 20 AND ${FILTER_WHERE.where}` : 'bucket < 20';
      expect(rowKeys(scan.rows)).toEqual(await expected(selectFor({ ...request, where })));
    });
  }

  test('computed columns over the rows an awaited filter narrows, kept meanwhile', async () => {
    const computed = [{ name: 'sum', sql: 'score + bucket' }];
    const request = { columns: ['id'], computed, where: 'flag', awaitFilter: true };
    const scan = await collectScan(
      openNatsScan(nc, 'people', request, { ...IDLE, filter: () => Promise.resolve(FILTER_WHERE) }),
    );
    expect(scan.frames[0]).toMatchObject({ columns: [{ name: 'id' }, { name: 'sum' }] });
    expect(rowKeys(scan.rows)).toEqual(
      await expected(`SELECT id, score + bucket FROM people WHERE flag AND (${FILTER_WHERE.where})`),
    );
  });

  test('a filter reaching a sender that sends at once is ignored, whatever it holds', async () => {
    // Every row kept, under awaitFilterAbove: no wait. Window 1 holds the sender mid-scan
    // while the (invalid) filter arrives.
    const request: ScanRequest = {
      columns: [],
      where: 'true',
      awaitFilter: true,
      awaitFilterAbove: 2 * ROWS,
      window: 1,
    };
    const frames: Frame[] = [];
    for await (const frame of openNatsScan(nc, 'people', request, IDLE)) {
      frames.push(frame);
      if (frame.type === 'schema') {
        nc.publish(String(frame.control), encode({ type: 'filter', where: 5 }, 'msgpack'));
        await nc.flush();
        await sleep(100);
      }
    }
    expect(frames[0]).toMatchObject({ type: 'schema', awaitsFilter: false });
    expect(frames.filter((f) => f.type === 'data').length).toBeGreaterThan(1);
    expect(frames.at(-1)).toMatchObject({ type: 'end', rows: ROWS });
  });

  test('JSON mode: rows of JSON values equal DuckDB', async () => {
    const request = { columns: ['id', 'big', 'day', 'name', 'flag'], where: 'id % 10 = 3' };
    const scan = await collectScan(openNatsScan(nc, 'people', request, { ...IDLE, encoding: 'json' }));
    expect(scan.frames.filter((f) => f.type === 'data').every((f) => f.type === 'data' && f.values)).toBe(
      true,
    );
    expect(rowKeys(scan.rows)).toEqual(await expected(selectFor(request)));
  });

  test('a hand-made JSON request (nats req) gets JSON frames', async () => {
    const frame = await firstFrame('duckdb.people.scan', '{"columns":["id"],"limit":3}', true);
    expect(frame).toMatchObject({ type: 'schema', seq: 0, columns: [{ name: 'id', type: 'BIGINT' }] });
  });

  for (const request of [...cases, { columns: ['id', 'big', 'bucket'], where: 'id % 13 < 2' }]) {
    test(`packed integers: ${JSON.stringify(request)} equal DuckDB`, async () => {
      const packed = { ...request, packIntegers: true };
      const scan = await collectScan(openNatsScan(nc, 'people', packed, IDLE));
      expect(rowKeys(scan.rows)).toEqual(await expected(selectFor(request)));
    });
  }

  test('packed integers travel narrower: ids and buckets as offsets, BIGINTs past 2^53 as they are', async () => {
    // The raw messages of one scan (a single frame's worth: no acks needed).
    const inbox = createInbox();
    const sub = nc.subscribe(inbox);
    const request = { columns: ['id', 'bucket', 'big', 'score'], where: 'id < 5000', packIntegers: true };
    nc.publish('duckdb.people.scan', encode(request, 'msgpack'), { reply: inbox });
    const data: { columns: WireColumn[] }[] = [];
    for await (const msg of sub) {
      const frame = decode(msg.data, 'msgpack') as Frame;
      if (frame.type === 'data') data.push(frame as { columns: WireColumn[] });
      if (frame.type === 'end' || frame.type === 'error') break;
    }
    sub.unsubscribe();
    expect(data).toHaveLength(1);
    const [id, bucket, big, score] = data[0].columns;
    expect(id.pack).toEqual({ width: 2, base: 0 });
    expect(id.data.byteLength).toBe(5000 * 2);
    expect(bucket.pack).toEqual({ width: 1, base: 0 });
    expect(big.pack).toBeUndefined();
    expect(score.pack).toBeUndefined();
  });
});

describe('keys first (a two-way semi-join)', () => {
  const HELD = 'bucket < 40';
  /** Keys frames' values of `column`, canonical, as one multiset. */
  const keysOf = (scan: Awaited<ReturnType<typeof collectScan>>, column: string) => {
    const schema = scan.schema.filter((c) => c.name === column);
    return rowKeys(
      scan.frames.flatMap((f) =>
        f.type === 'keys' && f.column === column
          ? frameRows(schema, { type: 'data', seq: f.seq, rows: f.rows, columns: [f.values] })
          : [],
      ),
    );
  };
  const heldScan = (
    request: ScanRequest,
    heldFilter: () => Promise<ScanFilter>,
    filter?: () => Promise<ScanFilter>,
  ) => collectScan(openNatsScan(nc, 'people', request, { ...IDLE, heldFilter, ...(filter && { filter }) }));

  const narrowings: [string, string, () => Promise<ScanFilter>, string][] = [
    [
      "keys of the held rows' id",
      'id',
      async () => ({ type: 'filter', held: true, keys: { column: 'id', ...(await packColumn(KEYS_SQL)) } }),
      `id IN (${KEYS_SQL})`,
    ],
    [
      'keys beyond 2^53 (compared exactly)',
      'big',
      async () => ({
        type: 'filter',
        held: true,
        keys: {
          column: 'big',
          ...(await packColumn('SELECT big FROM people WHERE id % 5 = 0 AND big IS NOT NULL')),
        },
      }),
      'big IN (SELECT big FROM people WHERE id % 5 = 0)',
    ],
    [
      'two key sets, which intersect',
      'id',
      async () => ({
        type: 'filter',
        held: true,
        keys: [
          { column: 'id', ...(await packColumn(KEYS_SQL)) },
          {
            column: 'bucket',
            ...(await packColumn('SELECT DISTINCT bucket FROM people WHERE bucket % 2 = 0')),
          },
        ],
      }),
      `id IN (${KEYS_SQL}) AND bucket % 2 = 0`,
    ],
    [
      'an empty key set',
      'id',
      async () => ({
        type: 'filter',
        held: true,
        keys: { column: 'id', rows: 0, values: { data: new Uint8Array(0) } },
      }),
      'false',
    ],
    ['no keys at all', 'id', async () => ({ type: 'filter', held: true }), 'true'],
  ];
  for (const [name, key, heldFilter, narrowing] of narrowings) {
    test(`held rows narrowed by ${name}: keys first, then the rows that join`, async () => {
      const request: ScanRequest = {
        columns: ['id', 'name', 'big', 'bucket'],
        where: HELD,
        keysFirst: [key],
      };
      let keysSeen = 0;
      const late = async () => {
        keysSeen = scanSoFar.frames.filter((f) => f.type === 'keys').length;
        return heldFilter();
      };
      const scanSoFar = { frames: [] as Frame[] };
      const frames: Frame[] = [];
      for await (const frame of openNatsScan(nc, 'people', request, { ...IDLE, heldFilter: late })) {
        frames.push(frame);
        scanSoFar.frames = frames;
      }
      const scan = {
        schema: (frames[0] as { columns: ColumnSchema[] }).columns,
        frames,
        rows: [] as string[][],
      };
      const rows = frames.flatMap((f) => (f.type === 'data' ? frameRows(scan.schema, f) : []));
      const heldRows = await expected(selectFor({ ...request, where: HELD }));
      // The keys of every row held went before any row; the held frame said they wait.
      expect(keysSeen).toBeGreaterThan(0);
      expect(keysOf(scan as never, key)).toEqual(await expected(`SELECT ${key} FROM people WHERE ${HELD}`));
      const held = frames.find((f) => f.type === 'held');
      expect(held).toMatchObject({ waits: true, rows: heldRows.length });
      expect(frames.slice(0, frames.indexOf(held as Frame)).some((f) => f.type === 'data')).toBe(false);
      expect(rowKeys(rows)).toEqual(
        await expected(selectFor({ ...request, where: `${HELD} AND ${narrowing}` })),
      );
      expect(frames.at(-1)).toMatchObject({ type: 'end', rows: rows.length });
    });
  }

  test("an awaited filter first, then the held rows' filter", async () => {
    const request: ScanRequest = {
      columns: ['id', 'name'],
      where: HELD,
      awaitFilter: true,
      keysFirst: ['id'],
    };
    const scan = await heldScan(
      request,
      async () => ({ type: 'filter', held: true, keys: { column: 'id', ...(await packColumn(KEYS_SQL)) } }),
      async () => FILTER_WHERE,
    );
    expect(keysOf(scan, 'id')).toEqual(
      await expected(`SELECT id FROM people WHERE ${HELD} AND ${FILTER_WHERE.where}`),
    );
    const where = `${HELD} AND ${FILTER_WHERE.where} AND id IN (${KEYS_SQL})`;
    expect(rowKeys(scan.rows)).toEqual(await expected(selectFor({ ...request, where })));
  });

  test('at most holdAbove rows go at once, their keys with them: nothing waits', async () => {
    const request: ScanRequest = { columns: ['id'], where: HELD, keysFirst: ['id'], holdAbove: ROWS };
    let asked = false;
    const scan = await heldScan(request, async () => {
      asked = true;
      return { type: 'filter', held: true };
    });
    expect(asked).toBe(false);
    expect(scan.frames.filter((f) => f.type === 'keys')).toEqual([]);
    expect(scan.frames.find((f) => f.type === 'held')).toMatchObject({ waits: false });
    expect(rowKeys(scan.rows)).toEqual(await expected(selectFor(request)));
  });

  test('JSON mode holds nothing: the rows go at once', async () => {
    const request: ScanRequest = { columns: ['id'], where: 'id < 100', keysFirst: ['id'] };
    const scan = await collectScan(openNatsScan(nc, 'people', request, { ...IDLE, encoding: 'json' }));
    expect(scan.frames.find((f) => f.type === 'held')).toMatchObject({ waits: false });
    expect(rowKeys(scan.rows)).toEqual(await expected(selectFor(request)));
  });

  const refused: [string, ScanRequest, ScanFilter, RegExp][] = [
    [
      'a predicate',
      { columns: ['id'], where: HELD, keysFirst: ['id'] },
      { type: 'filter', held: true, where: 'id < 10' },
      /narrows them by keys only/,
    ],
    [
      'keys of a column that is no integer',
      { columns: ['id', 'name'], where: HELD, keysFirst: ['id'] },
      {
        type: 'filter',
        held: true,
        keys: {
          column: 'name',
          rows: 1,
          values: { data: new Uint8Array(1), offsets: new Int32Array([0, 1]) },
        },
      },
      /integer column the scan returns; name is not one/,
    ],
  ];
  for (const [name, request, filter, message] of refused) {
    test(`a held filter with ${name} gets an error frame that says why`, async () => {
      const err = await collectScan(
        openNatsScan(nc, 'people', request, { ...IDLE, heldFilter: async () => filter }),
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(QueryError);
      expect((err as QueryError).kind).toBe('bad_request');
      expect((err as QueryError).message).toMatch(message);
    });
  }
});

describe('an offered (declinable) where', () => {
  const refused: [string, string, RegExp][] = [
    ['a function this DuckDB does not have', 'no_such_function(id) > 1', /no_such_function/],
    ['a function the guard refuses', "getenv('HOME') IS NOT NULL", /getenv/],
    ['a malformed predicate', 'id <', /syntax|parse/i],
  ];
  for (const [label, where, reason] of refused) {
    test(`${label}: declined with its reason, every row sent, the limit declined with it`, async () => {
      const request: ScanRequest = { columns: ['id', 'name'], where, limit: 3, declinable: true };
      const scan = await collectScan(openNatsScan(nc, 'people', request, IDLE));
      const schema = scan.frames[0];
      expect(schema.type === 'schema' && schema.declined).toMatch(reason);
      expect(rowKeys(scan.rows)).toEqual(await expected(selectFor({ columns: ['id', 'name'] })));
    });
  }

  test("the coordinator's gather records the decline and keeps every row", async () => {
    const found = (await discoverTables(nc)).find((t) => t.name === 'people');
    if (!found) throw new Error('people is not discovered');
    let rows = 0;
    const target = {
      open: async () => {},
      write: async (_: WireColumn[], n: number) => {
        rows += n;
      },
      close: async () => {},
    };
    const request: ScanRequest = { columns: ['id'], where: 'no_such_function(id)', declinable: true };
    const opts = { ...IDLE, nc, serial: new Serial(), signal: new AbortController().signal };
    const stats = await gatherFrames(natsCatalogTable(found), request, opts, target);
    expect(stats.declined).toMatch(/no_such_function/);
    expect(rows).toBe(people.rowCount);
  });

  test('a predicate it can run is applied, with its limit, and nothing is declined', async () => {
    const request: ScanRequest = { columns: ['id'], where: 'bucket = 5', declinable: true };
    const scan = await collectScan(openNatsScan(nc, 'people', request, IDLE));
    expect(scan.frames[0]).not.toHaveProperty('declined');
    expect(rowKeys(scan.rows)).toEqual(await expected(selectFor(request)));
    const limited = await collectScan(openNatsScan(nc, 'people', { ...request, limit: 2 }, IDLE));
    expect(limited.rows).toHaveLength(2);
  });
});

describe('bad input gets an error frame and the service keeps serving', () => {
  const columnList = 'id, bucket, score, flag, name, day, big';
  const bad: [string, unknown, RegExp?][] = [
    ['unknown column', { columns: ['id', 'nope'] }, new RegExp(columnList)],
    ['malformed where', { columns: ['id'], where: 'id <' }],
    ['where with a subquery', { columns: ['id'], where: 'id IN (SELECT 1)' }],
    ['where over another table', { columns: ['id'], where: 'id IN (SELECT order_id FROM orders)' }],
    ['where with a column of another table', { columns: ['id'], where: 'orders.order_id = id' }],
    [
      'where with a file function',
      { columns: ['id'], where: "length(read_text('/etc/passwd')::VARCHAR) > 0" },
    ],
    ['where reading a file', { columns: ['id'], where: "EXISTS (FROM '/etc/passwd')" }],
    ['where with getenv', { columns: ['id'], where: "getenv('HOME') IS NOT NULL" }],
    ['several statements', { columns: ['id'], where: 'true; DROP TABLE people' }],
    ['where closing the parenthesis', { columns: ['id'], where: 'true) UNION SELECT 1 --' }],
    ['negative limit', { columns: ['id'], limit: -1 }, /limit/],
    ['absurd limit', { columns: ['id'], limit: 1e300 }, /limit/],
    ['fractional limit', { columns: ['id'], limit: 1.5 }, /limit/],
    ['unknown field', { columns: ['id'], colums: ['x'] }, /colums/],
    ['columns not a list', { columns: 'id' }, /columns/],
    [
      'keys with bad offsets',
      { columns: ['id'], keys: { column: 'name', rows: 2, values: badOffsets } },
      /keys for column name .*offsets/,
    ],
    [
      'keys of the wrong width',
      { columns: ['id'], keys: { column: 'id', rows: 2, values: { data: new Uint8Array(12) } } },
      /keys for column id .*bytes/,
    ],
    [
      'keys of an unknown column',
      { columns: ['id'], keys: { column: 'nope', rows: 0, values: { data: new Uint8Array(0) } } },
      new RegExp(columnList),
    ],
    [
      'keys with a query',
      { query: 'SELECT 1 FROM people', keys: { column: 'id', rows: 0, values: { data: new Uint8Array(0) } } },
      /narrow a column scan/,
    ],
    [
      'computed named like a column',
      { columns: ['id'], computed: [{ name: 'ID', sql: '1' }] },
      /named like a column/,
    ],
    [
      'two computed of one name',
      {
        columns: ['id'],
        computed: [
          { name: 'x', sql: '1' },
          { name: 'X', sql: '2' },
        ],
      },
      /another computed column/,
    ],
    [
      'computed aggregate',
      { columns: ['id'], computed: [{ name: 's', sql: 'sum(score)' }] },
      /one value per row/,
    ],
    [
      'computed window',
      { columns: ['id'], computed: [{ name: 'r', sql: 'row_number() OVER ()' }] },
      /one value per row/,
    ],
    [
      'computed subquery',
      { columns: ['id'], computed: [{ name: 's', sql: '(SELECT 1)' }] },
      /computed column "s".*subquery/,
    ],
    [
      'computed over another table',
      { columns: ['id'], computed: [{ name: 's', sql: 'orders.order_id' }] },
      /order_id/,
    ],
    [
      'computed reading a file',
      { columns: ['id'], computed: [{ name: 's', sql: "read_text('/etc/passwd')" }] },
      /./,
    ],
    [
      'computed escaping its parentheses',
      { columns: ['id'], computed: [{ name: 's', sql: '1) AS a, (2' }] },
      /./,
    ],
    [
      'computed with a query',
      { query: 'SELECT 1 FROM people', computed: [{ name: 's', sql: '1' }] },
      /a query computes its own/,
    ],
    [
      'keys over the size limit',
      { columns: ['id'], keys: { column: 'id', rows: 60_000, values: { data: new Uint8Array(480_000) } } },
      /keys may take at most/,
    ],
  ];
  for (const [name, request, message] of bad) {
    test(name, async () => {
      const error = await scanError(request);
      expect(error.kind).not.toBe('unavailable');
      expect(error.kind).not.toBe('protocol_error');
      if (message) expect(error.message).toMatch(message);
    });
  }

  const badFilters: [string, Partial<ScanRequest>, unknown, RegExp][] = [
    [
      'a filter over another table',
      {},
      { type: 'filter', where: 'id IN (SELECT order_id FROM orders)' },
      /./,
    ],
    ['a filter of the wrong shape', {}, { type: 'filter', where: 5 }, /invalid scan filter: where/],
    [
      'filter keys of an unknown column',
      {},
      { type: 'filter', keys: { column: 'nope', rows: 0, values: { data: new Uint8Array(0) } } },
      /nope/,
    ],
    [
      'keys both in the request and awaited',
      { keys: { column: 'id', rows: 0, values: { data: new Uint8Array(0) } } },
      { type: 'filter' },
      /not both/,
    ],
  ];
  for (const [name, rest, filter, message] of badFilters) {
    test(name, async () => {
      const request = { columns: ['id'], where: 'flag', awaitFilter: true, ...rest };
      const scan = openNatsScan(nc, 'people', request, {
        ...IDLE,
        filter: () => Promise.resolve(filter as ScanFilter),
      });
      const error = await collectScan(scan).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueryError);
      expect((error as QueryError).kind).not.toBe('unavailable');
      expect((error as QueryError).message).toMatch(message);
    });
  }

  test('a filter that never comes stops the scan after the ack timeout', async () => {
    const request = { columns: ['id'], where: 'flag', awaitFilter: true, ackTimeoutMs: 300 };
    const never = new Promise<ScanFilter>(() => undefined);
    const error = await collectScan(
      openNatsScan(nc, 'people', request, { ...IDLE, filter: () => never }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'timeout' });
    expect((error as QueryError).message).toMatch(/no filter came .* 300 ms/);
  });

  test('keys in a JSON request are refused: typed arrays need msgpack', async () => {
    const payload = JSON.stringify({
      columns: ['id'],
      keys: { column: 'id', rows: 1, values: { data: [1] } },
    });
    const frame = (await firstFrame('duckdb.people.scan', payload, true)) as ErrorFrame;
    expect(frame).toMatchObject({ type: 'error', error: 'bad_request' });
    expect(frame.message).toMatch(/msgpack/);
  });

  test('the table is untouched and the service still answers', async () => {
    const scan = await collectScan(openNatsScan(nc, 'people', { columns: ['id'] }, IDLE));
    expect(scan.rows.length).toBe(ROWS);
  });

  const raw: [string, Uint8Array | string, boolean][] = [
    ['a body that is neither msgpack nor JSON', new Uint8Array([0xc1, 0xc1, 0xc1]), false],
    ['text that is not JSON', 'hello there', false],
    ['broken JSON', '{"columns": [', true],
    ['a JSON array', '["id"]', true],
    ['an empty body', '', true],
    [
      'an oversized request',
      JSON.stringify({ columns: ['id'], where: `id > ${'1'.repeat(1_200_000)}` }),
      true,
    ],
    ['a where over 512 KiB', JSON.stringify({ columns: ['id'], where: `id > ${'1'.repeat(600_000)}` }), true],
  ];
  for (const [name, payload, json] of raw) {
    test(name, async () => {
      const frame = (await firstFrame('duckdb.people.scan', payload, json)) as ErrorFrame;
      expect(frame).toMatchObject({ type: 'error', seq: 0, error: 'bad_request' });
      expect(frame.message.length).toBeGreaterThan(10);
    });
  }

  test('a small max_payload cuts the scan into more frames, not into an error', async () => {
    const small = await startNatsServer({ maxPayload: 64 * 1024 });
    const service = await startTableService(people, { url: small.url }, log);
    const client = await connect({ servers: small.url });
    try {
      await service.ready;
      const scan = await collectScan(openNatsScan(client, 'people', { columns: [] }, IDLE));
      expect(rowKeys(scan.rows)).toEqual(await expected('SELECT * FROM people'));
    } finally {
      await client.close();
      await service.stop();
      await small.dispose();
    }
  });
});

describe('NATS micro service', () => {
  test('discovery through $SRV.INFO finds every table with columns, row count and instances', async () => {
    const tables = await discoverTables(nc);
    expect(tables.map((t) => t.name)).toEqual(['orders', 'people']);
    const found = tables.find((t) => t.name === 'people')!;
    expect(found.columns).toEqual(people.columns);
    expect(found.rowCount).toBe(ROWS);
    expect(found.instances).toHaveLength(2);
    expect(tables.find((t) => t.name === 'orders')).toMatchObject({
      rowCount: 1000,
      instances: [{ shard: { index: 0, count: 1 } }],
    });
  });

  test('discovery without any data container is an empty list', async () => {
    const empty = await startNatsServer();
    const client = await connect({ servers: empty.url });
    try {
      expect(await discoverTables(client)).toEqual([]);
    } finally {
      await client.close();
      await empty.dispose();
    }
  });

  test('$SRV.PING answers for every instance', async () => {
    const pings = [];
    for await (const ping of await new Svcm(nc).client().ping(SERVICE_NAME)) pings.push(ping);
    expect(pings).toHaveLength(3);
  });

  test('the metadata endpoint answers what GET /metadata does', async () => {
    const reply = await nc.request('duckdb.people.metadata', '', { timeout: 5_000 });
    expect(reply.json()).toEqual(JSON.parse(JSON.stringify(tableMetadata(people))));
  });

  test('the query endpoint answers what POST /query does', async () => {
    const ask = (body: string) => nc.request('duckdb.people.query', body, { timeout: 10_000 });
    const ok = await ask(JSON.stringify({ query: 'SELECT count(*) AS n, max(id) AS top FROM people' }));
    expect(ok.json()).toMatchObject({ columns: ['n', 'top'], results: [{ n: ROWS, top: ROWS - 1 }] });
    for (const [body, kind, code] of [
      ['{"query": "DELETE FROM people"}', 'forbidden', '403'],
      ['{"query": "SELECT * FROM orders"}', 'unknown_table', '400'],
      ['not json', 'bad_request', '400'],
      ['{"query": "SELECT * FROM people"}', 'result_too_large', '413'],
    ]) {
      const reply = await ask(body);
      expect(reply.json()).toMatchObject({ error: kind });
      expect(reply.headers?.get('Nats-Service-Error-Code')).toBe(code);
    }
  });

  test('two replicas of one table both answer over time', async () => {
    for (let i = 0; i < 24; i++) {
      await collectScan(openNatsScan(nc, 'people', { columns: ['id'], limit: 1 }, IDLE));
    }
    const perInstance = [];
    for await (const stats of await new Svcm(nc).client().stats(SERVICE_NAME)) {
      if (stats.metadata?.table === 'people') {
        perInstance.push(stats.endpoints?.find((e) => e.name === 'scan')?.num_requests ?? 0);
      }
    }
    expect(perInstance).toHaveLength(2);
    expect(Math.min(...perInstance)).toBeGreaterThan(0);
  });

  test('a table nobody serves fails at once as unavailable', async () => {
    const started = performance.now();
    const error = await collectScan(openNatsScan(nc, 'nobody', { columns: [] }, IDLE)).catch((e) => e);
    expect(error).toBeInstanceOf(QueryError);
    expect(error.kind).toBe('unavailable');
    expect(error.message).toMatch(/no data container serves table "nobody"/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  test('leaving a scan early cancels it on the sender', async () => {
    const big = { columns: [], window: 1 };
    for await (const frame of openNatsScan(nc, 'people', big, IDLE)) {
      if (frame.type === 'data') break;
    }
    const scan = await collectScan(openNatsScan(nc, 'people', { columns: ['id'], limit: 5 }, IDLE));
    expect(scan.rows).toHaveLength(5);
  });

  test('a sender that gets no ack stops with a timeout error frame', async () => {
    const inbox = createInbox();
    const sub = nc.subscribe(inbox);
    nc.publish('duckdb.people.scan', encode({ columns: [], window: 1, ackTimeoutMs: 300 }, 'msgpack'), {
      reply: inbox,
    });
    const frames: Frame[] = [];
    for await (const m of sub) {
      frames.push(decode(m.data, 'msgpack') as Frame);
      if (frames.at(-1)?.type === 'error') break;
    }
    expect(frames.map((f) => f.type)).toEqual(['schema', 'data', 'error']);
    expect(frames[2]).toMatchObject({ seq: 2, error: 'timeout' });
  });
});

describe('POST /scan', () => {
  let app: FastifyInstance;
  let baseUrl: string;
  beforeAll(async () => {
    app = Fastify({ forceCloseConnections: true });
    registerScanRoute(app, () => people, 60_000);
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => app?.close());

  for (const encoding of ['msgpack', 'json'] as const) {
    test(`${encoding} frames equal DuckDB`, async () => {
      const request = { columns: ['id', 'name', 'big', 'day'], where: 'bucket IN (1, 2, 3)' };
      const scan = await collectScan(openHttpScan(baseUrl, request, { ...IDLE, encoding }));
      expect(rowKeys(scan.rows)).toEqual(await expected(selectFor(request)));
    });
  }

  test('bad requests get an error frame with a 4xx status', async () => {
    for (const [body, type] of [
      ['hello', 'text/plain'],
      ['{"columns": 3}', 'application/json'],
      [Buffer.alloc(2_000_000, 0x41), 'application/x-msgpack'],
    ] as const) {
      const response = await fetch(`${baseUrl}/scan`, {
        method: 'POST',
        body,
        headers: { 'content-type': type },
      });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      const bytes = Buffer.from(await response.arrayBuffer());
      const frame = decode(bytes.subarray(4), type === 'application/json' ? 'json' : 'msgpack');
      expect(bytes.readUInt32BE(0)).toBe(bytes.length - 4);
      const kind = response.status === 413 ? 'request_too_large' : 'bad_request';
      expect(frame).toMatchObject({ type: 'error', error: kind });
    }
  });

  test('an unknown column is an error frame the client throws', async () => {
    // A filter that follows the request needs NATS's control subject: the awaited one, or a held one.
    for (const awaiting of [
      { columns: ['id'], awaitFilter: true },
      { columns: ['id'], keysFirst: ['id'] },
    ]) {
      const refused = await collectScan(openHttpScan(baseUrl, awaiting, IDLE)).catch((e: unknown) => e);
      expect(refused).toMatchObject({ kind: 'bad_request', message: expect.stringMatching(/NATS/) });
    }
    const error = await collectScan(openHttpScan(baseUrl, { columns: ['nope'] }, IDLE)).catch((e) => e);
    expect(error).toMatchObject({ kind: 'unknown_column' });
  });

  test('a silent server fails the scan within the idle timeout; a closed port at once', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const started = performance.now();
      const idle = await collectScan(
        openHttpScan(`http://127.0.0.1:${port}`, { columns: [] }, { idleTimeoutMs: 500 }),
      ).catch((e) => e);
      expect(idle).toMatchObject({
        kind: 'unavailable',
        message: expect.stringMatching(/sent nothing for 500 ms/),
      });
      expect(performance.now() - started).toBeLessThan(2_000);
    } finally {
      silent.close();
    }
    const closed = await collectScan(openHttpScan(`http://127.0.0.1:${port}`, { columns: [] }, IDLE)).catch(
      (e) => e,
    );
    expect(closed).toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/cannot reach/) });
  });

  test('a client that leaves early does not stop the server from serving', async () => {
    for await (const frame of openHttpScan(baseUrl, { columns: [] }, IDLE)) {
      if (frame.type === 'data') break;
    }
    const scan = await collectScan(openHttpScan(baseUrl, { columns: ['id'], limit: 7 }, IDLE));
    expect(scan.rows).toHaveLength(7);
  });
});

describe('the scan command', () => {
  const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [cli, 'scan', ...args, '--nats', server.url], { encoding: 'utf8' });

  test('prints ndjson', async () => {
    const { stdout } = await run(['people', '--columns', 'id,name', '--where', 'id < 3']);
    const rows = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.sort((a, b) => Number(a.id) - Number(b.id))).toEqual([
      { id: expect.anything(), name: null },
      { id: expect.anything(), name: 'name 1' },
      { id: expect.anything(), name: 'name 2' },
    ]);
  });

  test('prints every row of a scan of several frames, each frame written before the next is made', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [cli, 'scan', 'people', '--columns', 'id,bucket,score,flag,name', '--nats', server.url],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const rows = stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(ROWS);
    expect(new Set(rows.map((r) => r.id)).size).toBe(ROWS);
    for (const row of rows) {
      expect(row.bucket).toBe(row.id % 97);
      expect(row.score).toBe(row.id * 1.5);
      expect(row.flag).toBe(row.id % 3 === 0);
      const name = row.id % 7 === 0 ? `name ${row.id}, "quoted" é 日本` : `name ${row.id}`;
      expect(row.name).toBe(row.id % 11 === 0 ? null : name);
    }
  });

  test('prints csv with a header and RFC 4180 quoting', async () => {
    const { stdout } = await run(['people', '--columns', 'id,name', '--where', 'id = 7', '--format', 'csv']);
    expect(stdout).toBe('id,name\r\n7,"name 7, ""quoted"" é 日本"\r\n');
  });

  test('fails with exit 1 and a message on stderr', async () => {
    const error = await run(['nobody']).catch((e) => e);
    expect(error.code).toBe(1);
    expect(error.stderr).toMatch(/no data container serves table "nobody"/);
  });
});
