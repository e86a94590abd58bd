/**
 * Tables of every type `read_csv` infers, loaded from gzipped CSV in S3 and served over NATS:
 * through the coordinator each query answers as one DuckDB holding the same files does, with
 * pushdown on and off. Column names with spaces and capitals, text with commas, quotes,
 * newlines and non-ASCII, integers past 2^53, NULLs in every column.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARROW_STREAM_TYPE } from '../../src/arrow/arrow-stream.js';
import type { JsonRow } from '../../src/duckdb/json-values.js';
import { quoteLiteral } from '../../src/duckdb/sql.js';
import { type ManagedProcess, startCliProcess } from '../../src/tools/local-cluster.js';
import { type NatsServer, startNatsServer } from '../../src/tools/nats-server.js';
import { S3_EMULATOR_ENV } from '../../src/tools/s3-emulator.js';
import { singleNodeDuckDB } from '../../src/tools/single-node.js';
import { arrowRows, oracleRows } from '../helpers/arrow.js';
import { metrics, total } from '../helpers/metrics.js';
import { canonicalRows, type DiffQuery, describeAgainstOracle, oracleAnswer } from '../helpers/oracle.js';
import { startTestS3, type TestS3 } from '../helpers/s3.js';

const BUCKET = 'typed-data';
const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

/** Every column has NULLs; `txt` holds what CSV must quote. */
const TYPED = `SELECT
    i AS "Id",
    CASE WHEN i % 9 = 0 THEN NULL ELSE 9007199254740993 + i * 7919 END AS "big num",
    CASE WHEN i % 7 = 0 THEN NULL ELSE (i - 1500) / 8 END AS dec,
    CASE WHEN i % 11 = 0 THEN NULL ELSE pow(10, (i % 17) - 6) * (i % 13 - 6) END AS dbl,
    CASE WHEN i % 5 = 0 THEN NULL ELSE i % 3 = 0 END AS flag,
    CASE WHEN i % 8 = 0 THEN NULL ELSE DATE '1969-12-25' + INTERVAL (i * 13) DAY END::DATE AS day,
    CASE WHEN i % 6 = 0 THEN NULL ELSE TIME '00:00:01' + INTERVAL (i * 37) SECOND END AS tod,
    CASE WHEN i % 10 = 0 THEN NULL ELSE TIMESTAMP '2024-02-28 23:59:59.123456' + INTERVAL (i * 3607) SECOND END AS ts,
    CASE WHEN i % 12 = 0 THEN NULL ELSE TIMESTAMPTZ '2024-03-10 01:30:00+00' + INTERVAL (i * 911) SECOND END AS tstz,
    CASE WHEN i % 4 = 0 THEN NULL ELSE md5(i::VARCHAR)::UUID END AS uid,
    CASE i % 9
      WHEN 0 THEN NULL WHEN 1 THEN 'with, comma ' || i WHEN 2 THEN 'with "quote" ' || i
      WHEN 3 THEN 'multi' || chr(10) || 'line ' || i WHEN 4 THEN '日本語 é ' || i
      WHEN 5 THEN '' WHEN 6 THEN 'NULL' ELSE ' spaced ' || (i % 31) END AS txt,
    CASE WHEN i % 3 = 0 THEN NULL ELSE ['a', 'B', 'c'][i % 3 + 1] END AS "Mixed Case"
  FROM range(3000) t(i)`;
const OTHER = `SELECT i AS id, (i * 31) % 3100 - 10 AS typed_id,
    CASE WHEN i % 4 = 0 THEN NULL ELSE ['x', 'y', 'z'][i % 3 + 1] END AS note
  FROM range(5000) t(i)`;

const QUERIES: DiffQuery[] = [
  { sql: 'SELECT * FROM typed' },
  { sql: 'SELECT * FROM typed ORDER BY "Id" DESC LIMIT 25', ordered: true },
  { sql: 'SELECT "big num", dec, dbl FROM typed WHERE "big num" > 9007199254740993 + 7919 * 1000' },
  { sql: 'SELECT "Id", dbl FROM typed WHERE dbl BETWEEN -0.001 AND 0.001 OR dbl > 1e5' },
  { sql: 'SELECT "Id", day, ts FROM typed WHERE day < DATE \'1971-01-01\' AND ts IS NOT NULL' },
  { sql: 'SELECT "Id", tod FROM typed WHERE tod > TIME \'20:00:00\'' },
  { sql: 'SELECT "Id", tstz FROM typed WHERE tstz >= TIMESTAMPTZ \'2024-03-20 00:00:00+00\'' },
  { sql: 'SELECT "Id", flag FROM typed WHERE flag AND "Mixed Case" = \'B\'' },
  { sql: 'SELECT "Id", flag FROM typed WHERE flag IS NULL' },
  { sql: "SELECT \"Id\", txt FROM typed WHERE txt LIKE '%\"%' OR txt LIKE '%,%' OR txt ILIKE '%日本%'" },
  { sql: "SELECT \"Id\", txt FROM typed WHERE txt = '' OR txt = 'NULL' OR txt IS NULL" },
  { sql: 'SELECT "Id", txt FROM typed WHERE txt LIKE \'multi%\'' },
  { sql: 'SELECT "Id", length(uid) AS n FROM typed WHERE uid IS NOT NULL AND "Id" < 40' },
  {
    sql: `SELECT "Mixed Case", count(*) AS n, count(flag) AS flags, sum("big num") AS big, avg(dec) AS dec,
      min(day) AS first_day, max(ts) AS last_ts, max(tstz) AS last_tstz, min(tod) AS first_tod
      FROM typed GROUP BY ALL`,
  },
  { sql: 'SELECT max(dbl), min(dbl), sum(dec), count(DISTINCT txt) FROM typed' },
  { sql: 'SELECT day, count(*) AS n FROM typed GROUP BY day ORDER BY n DESC, day LIMIT 5', ordered: true },
  {
    sql: `SELECT t."Id", t.txt, o.note FROM typed t JOIN other o ON o.typed_id = t."Id"
      WHERE o.note = 'x' AND t.flag`,
  },
  {
    sql: `SELECT t."Mixed Case", o.note, count(*) AS n, sum(t.dbl) AS s FROM typed t
      LEFT JOIN other o ON o.typed_id = t."Id" GROUP BY ALL`,
  },
  {
    sql: `SELECT o.id, t.ts FROM other o LEFT JOIN typed t ON t."Id" = o.typed_id
      WHERE t.ts IS NULL AND o.id < 200`,
  },
  {
    sql: `SELECT t.* EXCLUDE (uid) FROM typed t WHERE t."Id" IN (SELECT typed_id FROM other WHERE note = 'z')
      AND t.day IS NOT NULL`,
  },
  {
    sql: 'SELECT "Id", txt, row_number() OVER (PARTITION BY "Mixed Case" ORDER BY "Id" DESC) AS r FROM typed QUALIFY r <= 3',
  },
  { sql: "SELECT [day, day + 1] AS days, {'t': ts, 'z': tstz} AS s FROM typed WHERE \"Id\" % 97 = 1" },
  {
    sql: 'SELECT "Id" FROM typed WHERE "Mixed Case" IS DISTINCT FROM \'a\' AND dec < 0 ORDER BY "Id"',
    ordered: true,
  },
];

let dir: string;
let s3: TestS3;
let nats: NatsServer;
const processes: ManagedProcess[] = [];
let pushdownOn: ManagedProcess;
let pushdownOff: ManagedProcess;
let oracle: DuckDBConnection;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'typed-'));
  const files = { typed: join(dir, 'typed.csv.gz'), other: join(dir, 'other.csv.gz') };
  const writer = await (await DuckDBInstance.create(':memory:')).connect();
  for (const [table, sql] of [
    ['typed', TYPED],
    ['other', OTHER],
  ] as const) {
    await writer.run(`COPY (${sql}) TO ${quoteLiteral(files[table])} (HEADER, COMPRESSION gzip)`);
  }
  writer.closeSync();
  s3 = await startTestS3();
  await s3.createBucket(BUCKET);
  nats = await startNatsServer();
  for (const [table, file] of Object.entries(files)) {
    const url = await s3.put(BUCKET, `${table}.csv.gz`, await readFile(file));
    const args = ['serve', url, '--table-name', table, '--nats', nats.url, '--s3-endpoint', s3.endpoint];
    processes.push(await startCliProcess(table, args, S3_EMULATOR_ENV));
  }
  [pushdownOn, pushdownOff] = await Promise.all([
    startCliProcess('coordinator', ['coordinator', '--nats', nats.url]),
    startCliProcess('coordinator', ['coordinator', '--nats', nats.url, '--no-pushdown']),
  ]);
  processes.push(pushdownOn, pushdownOff);
  oracle = await singleNodeDuckDB(files);
}, 120_000);

afterAll(async () => {
  oracle?.closeSync();
  for (const p of processes.reverse()) await p.stop();
  await nats?.dispose();
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('the containers hold the types read_csv infers', async () => {
  const types = await oracle.runAndReadAll(
    "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'typed'",
  );
  expect(types.getRows().map((r) => r[1])).toEqual([
    'BIGINT',
    'BIGINT',
    'DOUBLE',
    'DOUBLE',
    'BOOLEAN',
    'DATE',
    'TIME',
    'TIMESTAMP',
    'TIMESTAMP WITH TIME ZONE',
    'VARCHAR',
    'VARCHAR',
    'VARCHAR',
  ]);
});

describeAgainstOracle(
  'typed data',
  QUERIES,
  { 'pushdown on': () => pushdownOn, 'pushdown off': () => pushdownOff },
  () => oracle,
);

it('a pushed query with nested columns (travelling as text) is asked of its container once', async () => {
  const sql = 'SELECT "Id", [day, day + 1] AS days, {\'n\': "Id"} AS s FROM typed WHERE "Id" < 50';
  const typed = processes[0];
  for (const accept of ['application/json', 'application/x-ndjson', 'text/csv', ARROW_STREAM_TYPE]) {
    const before = total(await metrics(typed.url), 'duckdb_s3_scans_total');
    const response = await fetch(`${pushdownOn.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept },
      body: JSON.stringify({ query: sql }),
    });
    expect(response.status, accept).toBe(200);
    await response.arrayBuffer();
    const after = total(await metrics(typed.url), 'duckdb_s3_scans_total');
    expect(after - before, accept).toBe(1);
  }
});

/** Every type the Arrow answer maps, computed in the coordinator over the gathered tables. */
const ARROW_TYPES = `SELECT t.*, o.note,
    t."big num"::DECIMAL(38,2) AS d38, t.dbl::DECIMAL(18,6) AS d18, (t."Id" % 1000 - 500)::DECIMAL(9,2) AS d9,
    (t."Id" % 100 - 50)::DECIMAL(4,1) AS d4, t.uid::UUID AS u, (t."big num" * -3)::HUGEINT AS h,
    t."Id"::INTEGER AS i32, (t."Id" - 1500)::SMALLINT AS i16, (t."Id" % 100 - 50)::TINYINT AS i8,
    t."Id"::UBIGINT AS u64, (t."Id" % 200)::UTINYINT AS u8, t.dbl::FLOAT AS f32, t.ts::TIMESTAMP_NS AS tns,
    t.ts::TIMESTAMP_MS AS tms, t.ts::TIMESTAMP_S AS tsec, to_days(t."Id"::INTEGER) + to_microseconds(t."Id" - 7) AS iv,
    [t.day, t.day + 1] AS days, {'t': t.ts, 'n': t."Id"} AS s, encode(t.txt) AS b
  FROM typed t LEFT JOIN other o ON o.typed_id = t."Id"`;

async function askArrow(coordinator: ManagedProcess, sql: string): Promise<Response> {
  return fetch(`${coordinator.url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ARROW_STREAM_TYPE },
    body: JSON.stringify({ query: sql }),
  });
}

describe('Arrow answers', () => {
  it.each([
    ['every type, gathered and computed here', ARROW_TYPES],
    ['a whole table, pushed whole', 'SELECT * FROM typed'],
    ['no rows', 'SELECT * FROM typed WHERE "Id" < 0'],
  ])('%s: the oracle’s values, exactly typed', async (_label, sql) => {
    const response = await askArrow(pushdownOn, sql);
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get('content-type')).toBe(ARROW_STREAM_TYPE);
    const table = tableFromIPC(new Uint8Array(await response.arrayBuffer()));
    const expected = await oracleRows(oracle, sql);
    expect(table.schema.fields.map((f) => f.name)).toEqual(expected.columns);
    expect(arrowRows(table).sort()).toEqual(expected.rows.sort());
    const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
    expect(types['big num']).toBe('Int64');
    expect(types.tstz).toBe('Timestamp<MICROSECOND, UTC>');
    if (sql === ARROW_TYPES) {
      expect(types).toMatchObject({
        d38: 'Decimal[38e+2]',
        d4: 'Decimal[4e+1]',
        day: 'Date32<DAY>',
        tod: 'Time64<MICROSECOND>',
        ts: 'Timestamp<MICROSECOND>',
        tns: 'Timestamp<NANOSECOND>',
        flag: 'Bool',
        dbl: 'Float64',
        f32: 'Float32',
        i8: 'Int8',
        u8: 'Uint8',
        iv: 'Interval<MONTH_DAY_NANO>',
        u: 'Utf8',
        b: 'Binary',
      });
    }
  });

  it('answers 406 naming the formats to an Accept it cannot meet; */* and none get JSON', async () => {
    const ask = (accept?: string) =>
      fetch(`${pushdownOn.url}/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(accept !== undefined && { accept }) },
        body: JSON.stringify({ query: 'SELECT count(*) AS n FROM typed' }),
      });
    const refused = await ask('application/xml');
    expect(refused.status).toBe(406);
    const body = (await refused.json()) as { error: string; message: string };
    expect(body.error).toBe('not_acceptable');
    for (const type of ['application/json', 'application/x-ndjson', 'text/csv', ARROW_STREAM_TYPE])
      expect(body.message).toContain(type);
    for (const accept of ['*/*', undefined, 'application/json', 'text/html, */*;q=0.8']) {
      const answer = await ask(accept);
      expect(answer.status, String(accept)).toBe(200);
      expect(((await answer.json()) as { results: unknown }).results).toEqual([{ n: 3000 }]);
    }
  });
});

/** `scan typed --format <format>` over the test's NATS: its stdout. */
async function scanOutput(format: string, table = 'typed'): Promise<Buffer> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [CLI, 'scan', table, '--format', format, '--nats', nats.url],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

/** RFC 4180 records (quoted fields may hold commas, quotes and newlines). */
function csvRecords(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"' && field === '' && text[i - 1] !== '"') {
      let j = i + 1;
      for (;;) {
        const k = text.indexOf('"', j);
        if (text[k + 1] === '"') j = k + 2;
        else {
          field = text.slice(i + 1, k).replaceAll('""', '"');
          i = k;
          break;
        }
      }
    } else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += ch;
  }
  return records;
}

describe('scan --format', () => {
  // typed goes through DuckDB chunks (dates, times); other, all integers and text, is written from the frames.
  it.each(['typed', 'other'])(
    'ndjson of %s: the oracle’s rows as the JSON answer writes them',
    async (table) => {
      const lines = (await scanOutput('ndjson', table)).toString('utf8').trimEnd().split('\n');
      const expected = await oracleAnswer(oracle, `SELECT * FROM ${table}`);
      const rows = lines.map((line) => JSON.parse(line));
      expect(Object.keys(rows[0])).toEqual(expected.columns);
      expect(canonicalRows(expected.columns, rows, false)).toEqual(
        canonicalRows(expected.columns, expected.rows, false),
      );
    },
  );

  it.each(['typed', 'other'])('csv of %s: a header, then the oracle’s values as text', async (table) => {
    const [header, ...records] = csvRecords((await scanOutput('csv', table)).toString('utf8'));
    const expected = await oracleAnswer(oracle, `SELECT * FROM ${table}`);
    expect(header).toEqual(expected.columns);
    const text = (v: unknown) => (v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
    const wanted = expected.rows.map((r) =>
      expected.columns.map((c) => text((r as JsonRow)[c])).join('\u0001'),
    );
    expect(records.map((r) => r.join('\u0001')).sort()).toEqual(wanted.sort());
  });

  it('arrow: an Arrow IPC stream of the oracle’s values, exactly typed', async () => {
    const table = tableFromIPC(new Uint8Array(await scanOutput('arrow')));
    const expected = await oracleRows(oracle, 'SELECT * FROM typed');
    expect(table.schema.fields.map((f) => f.name)).toEqual(expected.columns);
    expect(arrowRows(table).sort()).toEqual(expected.rows.sort());
    expect(String(table.schema.fields[1].type)).toBe('Int64');
  });
});
