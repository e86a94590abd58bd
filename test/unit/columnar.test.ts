/**
 * The wire codec round trip: DuckDB result → frames (msgpack) → chunks appended into a
 * table of the same types must give back every value, for every kind of column.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  checkWireColumns,
  FrameBuilder,
  reusedChunk,
  wireLayoutFor,
  writeWireColumns,
} from '../../src/duckdb/columnar.js';
import { quoteIdent } from '../../src/duckdb/sql.js';
import { decode, encode } from '../../src/protocol/codec.js';

let con: DuckDBConnection;

beforeAll(async () => {
  con = await (await DuckDBInstance.create(':memory:')).connect();
});
afterAll(() => con.closeSync());

const SOURCE = `SELECT
  i::BIGINT AS a,
  CASE WHEN i % 3 = 0 THEN NULL WHEN i % 7 = 0 THEN '' WHEN i % 5 = 0 THEN 'a much longer string é日本 🎉 ' || i ELSE 's' || i END AS s,
  DATE '2024-01-01' + (i % 1000)::INTEGER AS d,
  CASE WHEN i % 11 = 0 THEN NULL ELSE i / 7 END AS f,
  (i * 1.5)::DECIMAL(18, 3) AS dec18,
  (i * 1.5)::DECIMAL(38, 5) AS dec38,
  ((i % 600) * 1.5)::DECIMAL(4, 1) AS dec4,
  i::HUGEINT * 1000000000000000000 AS h,
  9007199254740993 + i AS big,
  CASE WHEN i % 13 = 0 THEN NULL ELSE TIMESTAMP '2020-01-01' + to_seconds(i) END AS ts,
  TIMESTAMPTZ '2020-01-01 00:00:00+00' + to_seconds(i) AS tstz,
  INTERVAL (i) MINUTE AS iv,
  TIME '01:02:03' AS t,
  [i, i + 1, NULL] AS l,
  {'x': i, 'y': 'why ' || i} AS st,
  MAP {'k': i} AS m,
  i % 2 = 0 AS b,
  (i % 100)::TINYINT AS ti,
  (i % 200)::UTINYINT AS uti,
  i::REAL / 3 AS r,
  gen_random_uuid() AS u,
  ('blob' || i)::BLOB AS bl
FROM range(12345) t(i)`;

/** With `limitBytes`, chunks are cut by rows as a scan cuts them; every frame but a one-row one stays within it. */
async function roundTrip(sql: string, targetBytes: number, limitBytes?: number) {
  await con.run(`CREATE OR REPLACE TABLE src AS ${sql}`);
  const source = await con.run('SELECT * FROM src');
  const names = source.columnNames();
  const types = source.columnTypes();
  const layouts = types.map(wireLayoutFor);
  // What the container does: text columns cast to VARCHAR before they are read.
  const select = names
    .map((n, i) =>
      layouts[i].wire === 'text' ? `CAST(${quoteIdent(n)} AS VARCHAR) AS ${quoteIdent(n)}` : quoteIdent(n),
    )
    .join(', ');
  const result = await con.run(`SELECT ${select} FROM src`);
  const builder = new FrameBuilder(layouts, targetBytes, limitBytes);
  const frames: Uint8Array[] = [];
  const take = () => {
    const bytes = builder.byteLength;
    const frame = builder.take();
    if (limitBytes !== undefined && frame.rows > 1) expect(bytes).toBeLessThanOrEqual(limitBytes);
    frames.push(encode(frame, 'msgpack'));
  };
  for (let k = 0; k < result.chunkCount; k++) {
    const chunk = result.getChunk(k);
    for (let from = 0; from < chunk.rowCount; ) {
      from += builder.append(chunk, from);
      if (builder.full || from < chunk.rowCount) take();
    }
  }
  if (builder.rows > 0) frames.push(encode(builder.take(), 'msgpack'));

  const defs = names.map(
    (n, i) => `${quoteIdent(n)} ${layouts[i].wire === 'text' ? 'VARCHAR' : types[i].toString()}`,
  );
  await con.run(`CREATE OR REPLACE TABLE dst (${defs.join(', ')})`);
  const appender = await con.createAppender('dst');
  const chunkTypes = Array.from({ length: appender.columnCount }, (_, i) => appender.columnType(i));
  for (const bytes of frames) {
    const frame = decode(bytes, 'msgpack') as {
      rows: number;
      columns: Parameters<typeof checkWireColumns>[1];
    };
    expect(checkWireColumns(layouts, frame.columns, frame.rows)).toBeUndefined();
    writeWireColumns(layouts, frame.columns, frame.rows, reusedChunk(chunkTypes), (chunk) =>
      appender.appendDataChunk(chunk),
    );
  }
  appender.closeSync();
  const back = names
    .map((n, i) => (layouts[i].wire === 'text' ? `CAST(${quoteIdent(n)} AS ${types[i]})` : quoteIdent(n)))
    .join(', ');
  const diff = await con.runAndReadAll(
    `SELECT count(*) FROM ((SELECT * FROM src EXCEPT ALL SELECT ${back} FROM dst) UNION ALL (SELECT ${back} FROM dst EXCEPT ALL SELECT * FROM src))`,
  );
  const count = await con.runAndReadAll('SELECT count(*) FROM dst');
  return { frames: frames.length, diff: Number(diff.getRows()[0][0]), rows: Number(count.getRows()[0][0]) };
}

it('gives back every value of every type, NULLs and unicode included', async () => {
  const { frames, diff, rows } = await roundTrip(SOURCE, 64 * 1024);
  expect(rows).toBe(12345);
  expect(frames).toBeGreaterThan(5);
  expect(diff).toBe(0);
});

it('keeps long strings from a heap that holds many runs', async () => {
  const { diff, rows } = await roundTrip(
    `SELECT i, repeat(chr(65 + (i % 26)::INTEGER), (i % 300)::INTEGER) || i AS s FROM range(50000) t(i)`,
    512 * 1024,
  );
  expect(rows).toBe(50000);
  expect(diff).toBe(0);
});

it('copies long strings side by side in one span, between short, empty and NULL ones', async () => {
  // Lengths cross the 12-byte inline limit in every pattern: spans start, grow and break.
  const { diff, rows } = await roundTrip(
    `SELECT i, CASE WHEN i % 17 = 0 THEN NULL WHEN i % 19 = 0 THEN ''
                    ELSE repeat('é', ((i * 7) % 9)::INTEGER) || lpad(i::VARCHAR, ((i * 5) % 13)::INTEGER, '0') END AS s
     FROM range(40000) t(i)`,
    128 * 1024,
  );
  expect(rows).toBe(40000);
  expect(diff).toBe(0);
});

it('reuses its buffers: NULLs of one frame never leak into the next', async () => {
  const { frames, diff, rows } = await roundTrip(
    `SELECT CASE WHEN i % 20000 < 50 THEN NULL ELSE i END AS a,
            CASE WHEN i % 20000 > 19950 THEN NULL ELSE repeat('x', (i % 40)::INTEGER) END AS s
     FROM range(60000) t(i)`,
    32 * 1024,
  );
  expect(rows).toBe(60000);
  expect(frames).toBeGreaterThan(10);
  expect(diff).toBe(0);
});

it('cuts chunks by rows to stay within a byte limit, a row longer than it alone in its frame', async () => {
  const { frames, diff, rows } = await roundTrip(
    `SELECT i, CASE WHEN i % 11 = 0 THEN NULL ELSE repeat('x', CASE WHEN i % 997 = 5 THEN 70000 ELSE 600 END) END AS s,
            [i] AS l
     FROM range(9000) t(i)`,
    16 * 1024,
    32 * 1024,
  );
  expect(rows).toBe(9000);
  expect(frames).toBeGreaterThan(9000 / 40);
  expect(diff).toBe(0);
});

it('handles an empty result', async () => {
  const { frames, rows } = await roundTrip(`SELECT * FROM (${SOURCE}) WHERE false`, 1024);
  expect(frames).toBe(0);
  expect(rows).toBe(0);
});

it('refuses frames whose sizes do not add up', () => {
  const layouts = [{ wire: 'fixed' as const, width: 8 }, { wire: 'varlen' as const }];
  const ok = [{ data: new Uint8Array(16) }, { data: new Uint8Array(3), offsets: new Int32Array([0, 1, 3]) }];
  expect(checkWireColumns(layouts, ok, 2)).toBeUndefined();
  expect(checkWireColumns(layouts, [ok[0]], 2)).toMatch(/expected 2 columns/);
  expect(checkWireColumns(layouts, [{ data: new Uint8Array(15) }, ok[1]], 2)).toMatch(/bytes/);
  expect(
    checkWireColumns(layouts, [ok[0], { data: new Uint8Array(3), offsets: new Int32Array([0, 2, 1]) }], 2),
  ).toMatch(/offsets/);
  expect(
    checkWireColumns(layouts, [ok[0], { data: new Uint8Array(9), offsets: new Int32Array([0, 1, 3]) }], 2),
  ).toMatch(/offsets do not match/);
  expect(
    checkWireColumns(layouts, [{ data: new Uint8Array(16), nulls: new Uint8Array(1) }, ok[1]], 2),
  ).toMatch(/null/);
});
