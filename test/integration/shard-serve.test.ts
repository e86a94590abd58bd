/**
 * Data containers serving parts of split tables (`serve … --shard I/N`), loaded from s3rver and
 * registered on a real NATS: the parts' rows together equal single-node DuckDB's read of every
 * object; each part answers on its own subjects, the table's plain subjects say where the
 * parts are; metadata says shard, version and column ranges; a part without rows (no object,
 * or header-only objects) answers 0 rows with the table's columns and types.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { Svcm } from '@nats-io/services';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TableMetadata } from '../../src/data-container/metadata.js';
import { quoteLiteral } from '../../src/duckdb/sql.js';
import { QueryError } from '../../src/errors.js';
import type { EndFrame } from '../../src/protocol/frames.js';
import { openNatsScan } from '../../src/scan-client/nats-scan.js';
import { S3_EMULATOR_ENV } from '../../src/tools/s3-emulator.js';
import { canonical, collectScan, rowKeys } from '../helpers/frames.js';
import { type NatsServer, startNatsServer } from '../helpers/nats.js';
import { killChildren, type ServeProcess, serveUntilExit, startServe } from '../helpers/processes.js';
import { gzip, startTestS3, type TestS3 } from '../helpers/s3.js';

const BUCKET = 'split-serve';
const HEADER = 'id,kind,amount,day,note';
const IDLE = { idleTimeoutMs: 10_000 };
/** Rows per object of `events` (sizes far apart, so the split by bytes is uneven in count); 0 = header only. */
const EVENT_OBJECTS = [3_000, 1_700, 900, 0, 400, 250];

function eventsCsv(from: number, rows: number): string {
  const lines = [HEADER];
  for (let id = from; id < from + rows; id++) {
    const day = new Date(Date.UTC(2024, 0, 1) + (id % 400) * 86_400_000).toISOString().slice(0, 10);
    const note = id % 9 === 0 ? '' : `"note ${id}, ""q"""`;
    lines.push(`${id},${['click', 'view', 'buy'][id % 3]},${(id % 1000) / 8},${day},${note}`);
  }
  return `${lines.join('\n')}\n`;
}

let s3: TestS3;
let nats: NatsServer;
let nc: NatsConnection;
let dir: string;
let oracle: DuckDBConnection;
/** Local copy of each object, by s3:// URL, for the oracle. */
const files = new Map<string, string>();
/** Containers of `events` part I; part 0 has two replicas. */
const events: ServeProcess[][] = [[], [], []];
let sparse: ServeProcess;
let sparseWhole: ServeProcess;
let vacant: ServeProcess;

async function put(key: string, csv: string): Promise<string> {
  const file = join(dir, key.replaceAll('/', '_'));
  await writeFile(file, csv);
  const url = await s3.put(BUCKET, `${key}.gz`, gzip(csv));
  files.set(url, file);
  return url;
}

function serve(table: string, url: string, shard: string): Promise<ServeProcess> {
  return startServe(
    [url, '--table-name', table, '--shard', shard, '--nats', nats.url, '--s3-endpoint', s3.endpoint],
    S3_EMULATOR_ENV,
  );
}

function readerOf(urls: string[]): string {
  return `read_csv([${urls.map((u) => quoteLiteral(files.get(u) as string)).join(', ')}])`;
}

async function oracleRows(sql: string): Promise<string[]> {
  const rows = (await oracle.runAndReadAll(sql)).getRowsJson();
  return rowKeys(rows.map((row) => row.map(canonical)));
}

async function oracleColumns(from: string): Promise<{ name: string; type: string }[]> {
  const described = (await oracle.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`)).getRowObjectsJson();
  return described.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
}

async function metadata(subject: string): Promise<TableMetadata> {
  return (await nc.request(subject, '', { timeout: 5_000 })).json<TableMetadata>();
}

/** `$SRV.INFO` of every container (of `table`): instance id → its service metadata. */
async function serviceInfos(table?: string): Promise<Map<string, Record<string, string>>> {
  const infos = new Map<string, Record<string, string>>();
  const answers = await new Svcm(nc)
    .client({ strategy: 'stall', stall: 500, maxWait: 5_000 })
    .info('duckdb-table');
  for await (const info of answers)
    if (!table || info.metadata?.table === table) infos.set(info.id, info.metadata ?? {});
  return infos;
}

const eventUrls: string[] = [];
let sparseUrls: string[];
let vacantUrls: string[];

beforeAll(async () => {
  [s3, nats] = await Promise.all([startTestS3(), startNatsServer()]);
  dir = await mkdtemp(join(tmpdir(), 'shard-serve-'));
  await s3.createBucket(BUCKET);
  let from = 0;
  for (const [i, rows] of EVENT_OBJECTS.entries()) {
    eventUrls.push(await put(`events/part-${i}.csv`, rows === 0 ? `${HEADER}\n` : eventsCsv(from, rows)));
    from += rows;
  }
  // `sparse` part 1 of 2 holds only the header-only object; `vacant` part 2 of 3 holds nothing.
  // Listed first, the header-only object must not decide the types (as it did before parts).
  sparseUrls = [
    await put('sparse/0-empty.csv', `${HEADER}\n`),
    await put('sparse/1-big.csv', eventsCsv(0, 500)),
  ];
  vacantUrls = [await put('vacant/a.csv', eventsCsv(0, 300)), await put('vacant/b.csv', eventsCsv(300, 200))];
  oracle = await (await DuckDBInstance.create(':memory:')).connect();
  const glob = `s3://${BUCKET}/events/*.csv.gz`;
  [events[0][0], events[0][1], events[1][0], events[2][0], sparse, sparseWhole, vacant] = await Promise.all([
    serve('events', glob, '0/3'),
    serve('events', glob, '0/3'),
    serve('events', glob, '1/3'),
    serve('events', glob, '2/3'),
    serve('sparse', `s3://${BUCKET}/sparse/*.csv.gz`, '1/2'),
    startServe(
      [`s3://${BUCKET}/sparse/*.csv.gz`, '--table-name', 'sparse', '--s3-endpoint', s3.endpoint],
      S3_EMULATOR_ENV,
    ),
    serve('vacant', `s3://${BUCKET}/vacant/*.csv.gz`, '2/3'),
  ]);
  nc = await connect({ servers: nats.url });
  // Healthy once loaded; registered on NATS a moment later.
  const deadline = Date.now() + 15_000;
  while ((await serviceInfos()).size < 6) {
    if (Date.now() > deadline) throw new Error('the containers did not all register on NATS');
  }
}, 120_000);

afterAll(async () => {
  await nc?.close();
  oracle?.closeSync();
  await killChildren();
  await Promise.all([nats?.dispose(), s3?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a table split 3 ways', () => {
  it("parts' rows together are single-node DuckDB's read of every object, each row once", async () => {
    const parts = await Promise.all(
      [0, 1, 2].map((i) =>
        collectScan(openNatsScan(nc, 'events', {}, { ...IDLE, subject: `duckdb.events.${i}.scan` })),
      ),
    );
    const together = rowKeys(parts.flatMap((p) => p.rows));
    const expected = await oracleRows(`SELECT * FROM ${readerOf(eventUrls)}`);
    expect(expected.length).toBe(EVENT_OBJECTS.reduce((a, b) => a + b, 0));
    expect(together).toEqual(expected);
    for (const part of parts) expect(part.rows.length).toBeGreaterThan(0);
    // Header-only or not, every part has the types DuckDB reads for the whole listing.
    const columns = await oracleColumns(readerOf(eventUrls));
    for (const part of parts) expect(part.schema.map(({ name, type }) => ({ name, type }))).toEqual(columns);
  });

  it('splits the objects: each in exactly one part, replicas of a part alike', async () => {
    const byPart = await Promise.all([0, 1, 2].map((i) => metadata(`duckdb.events.${i}.metadata`)));
    const objects = byPart.flatMap((m) => m.objects);
    expect([...objects].sort()).toEqual([...eventUrls].sort());
    const [first, second] = await Promise.all(
      events[0].map(async (c) => (await fetch(`${c.url}/metadata`)).json() as Promise<TableMetadata>),
    );
    expect(second.objects).toEqual(first.objects);
    expect(second.version).toBe(first.version);
    expect(second.column_ranges).toEqual(first.column_ranges);
    for (const [i, m] of byPart.entries()) {
      expect(m.shard).toEqual({ index: i, count: 3 });
      expect(m.version).toMatch(/^[0-9a-f]{16}$/);
      const rows = await oracleRows(`SELECT count(*) FROM ${readerOf(m.objects)}`);
      expect(rows).toEqual([JSON.stringify([String(m.row_count)])]);
    }
    expect(new Set(byPart.map((m) => m.version)).size).toBe(3);
  });

  it("reports each column's range in its part as DuckDB literals", async () => {
    for (const i of [0, 1, 2]) {
      const m = await metadata(`duckdb.events.${i}.metadata`);
      expect(Object.keys(m.column_ranges).sort()).toEqual(['amount', 'day', 'id', 'kind', 'note']);
      const checks = Object.entries(m.column_ranges).map(([column, range]) => {
        expect(range).not.toBeNull();
        const c = `"${column}"`;
        return `(${range?.min}) = min(${c}) AND (${range?.max}) = max(${c}) AND typeof(${range?.min}) = typeof(min(${c}))`;
      });
      const answer = await oracleRows(`SELECT ${checks.join(' AND ')} FROM ${readerOf(m.objects)}`);
      expect(answer).toEqual([JSON.stringify(['true'])]);
    }
  });

  it('answers queries on each part; $SRV.INFO and the instance subject say part and version', async () => {
    const infos = await serviceInfos('events');
    expect(infos.size).toBe(4);
    for (const i of [0, 1, 2]) {
      const m = await metadata(`duckdb.events.${i}.metadata`);
      const reply = await nc.request(
        `duckdb.events.${i}.query`,
        JSON.stringify({ query: 'SELECT count(*) AS n FROM events' }),
        {
          timeout: 5_000,
        },
      );
      expect(reply.json<{ results: { n: number }[] }>().results).toEqual([{ n: m.row_count }]);
      const replicas = [...infos].filter(([, meta]) => meta.shard === `${i}/3`);
      expect(replicas).toHaveLength(i === 0 ? 2 : 1);
      for (const [id, meta] of replicas) {
        expect(meta.version).toBe(m.version);
        // What trusted discovery reads: the same metadata, on the instance's own subject.
        const own = await metadata(`duckdb.events.instance.${id}`);
        expect(own).toMatchObject({ shard: m.shard, version: m.version, column_ranges: m.column_ranges });
      }
    }
    const health = (await (await fetch(`${events[1][0].url}/health`)).json()) as { shard: string };
    expect(health.shard).toBe('1/3');
  });

  it('names the replica that served a scan in its end frame', async () => {
    const infos = await serviceInfos('events');
    const scan = await collectScan(
      openNatsScan(nc, 'events', { columns: ['id'], limit: 5 }, { ...IDLE, subject: 'duckdb.events.0.scan' }),
    );
    const end = scan.frames.at(-1) as EndFrame;
    expect(end.type).toBe('end');
    expect(infos.get(end.instance as string)?.shard).toBe('0/3');
  });

  it("answers the table's plain subjects with where its parts are", async () => {
    const plain = collectScan(openNatsScan(nc, 'events', { columns: ['id'] }, IDLE));
    const error = await plain.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(QueryError);
    expect((error as QueryError).kind).toBe('bad_request');
    expect((error as QueryError).message).toMatch(
      /split into 3 parts.*duckdb\.events\.0\.scan … duckdb\.events\.2\.scan/,
    );
    const query = await nc.request('duckdb.events.query', JSON.stringify({ query: 'SELECT 1' }), {
      timeout: 5_000,
    });
    expect(query.headers?.get('Nats-Service-Error-Code')).toBe('400');
    expect(query.headers?.get('Nats-Service-Error')).toMatch(
      /duckdb\.events\.0\.scan … duckdb\.events\.2\.scan/,
    );
  });
});

it('loads a prefix whose first object is header-only, with the types of the objects with rows', async () => {
  const m = (await (await fetch(`${sparseWhole.url}/metadata`)).json()) as TableMetadata;
  expect(m).toMatchObject({ shard: { index: 0, count: 1 }, row_count: 500, objects: sparseUrls });
  expect(m.columns).toEqual(await oracleColumns(readerOf(sparseUrls)));
  expect(m.columns.map((c) => c.type)).toEqual(['BIGINT', 'VARCHAR', 'DOUBLE', 'DATE', 'VARCHAR']);
});

describe('a part without rows', () => {
  it('of header-only objects: 0 rows, the types of the objects with rows', async () => {
    const m = await metadata('duckdb.sparse.1.metadata');
    expect(m).toMatchObject({ shard: { index: 1, count: 2 }, row_count: 0, objects: [sparseUrls[0]] });
    expect(m.version).toMatch(/^[0-9a-f]{16}$/);
    expect(m.columns).toEqual(await oracleColumns(readerOf(sparseUrls)));
    expect(Object.values(m.column_ranges).every((r) => r === null)).toBe(true);
    const scan = await collectScan(
      openNatsScan(nc, 'sparse', {}, { ...IDLE, subject: 'duckdb.sparse.1.scan' }),
    );
    expect(scan.rows).toEqual([]);
    expect(scan.schema.map(({ name, type }) => ({ name, type }))).toEqual(m.columns);
    const health = (await (await fetch(`${sparse.url}/health`)).json()) as { shard: string; rows: number };
    expect(health).toMatchObject({ shard: '1/2', rows: 0 });
  });

  it('with no object: 0 rows, the columns and types of the table, the empty version', async () => {
    const m = await metadata('duckdb.vacant.2.metadata');
    expect(m).toMatchObject({ shard: { index: 2, count: 3 }, row_count: 0, objects: [], version: '' });
    expect(m.columns).toEqual(await oracleColumns(readerOf(vacantUrls)));
    const scan = await collectScan(
      openNatsScan(nc, 'vacant', { where: 'id > 5' }, { ...IDLE, subject: 'duckdb.vacant.2.scan' }),
    );
    expect(scan.rows).toEqual([]);
    expect(scan.schema.map((c) => c.type)).toEqual(m.columns.map((c) => c.type));
    const answer = await fetch(`${vacant.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'SELECT count(*) AS n, max(day) AS d FROM vacant' }),
    });
    expect(((await answer.json()) as { results: unknown[] }).results).toEqual([{ n: 0, d: null }]);
  });
});

it.each(['3/3', '1', 'a/b', '0/0'])(
  'refuses --shard %s at startup, saying how to write it',
  async (shard) => {
    const { code, stderr } = await serveUntilExit(
      [eventUrls[0], '--table-name', 'events', '--shard', shard, '--s3-endpoint', s3.endpoint],
      S3_EMULATOR_ENV,
    );
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(`--shard must be I/N with 0 <= I < N`);
    expect(stderr).toContain(`got "${shard}"`);
  },
);
