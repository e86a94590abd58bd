/**
 * A keyed scan's semi-join asks DuckDB for a Bloom filter of its keys in the scan where it
 * pays (many keys, or beside the scan's own predicate) and not against a few keys alone; and
 * DuckDB really pushes it: an upgrade that stopped taking the hint would show here, not only
 * as a slower benchmark. The rows kept are the same either way (dynamic-filter.test.ts).
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ScanKeyTables } from '../../src/data-container/scan-keys.js';

let instance: DuckDBInstance;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  await con.run('CREATE TABLE t AS SELECT i AS id, i % 97 AS v FROM range(300000) r(i)');
  con.closeSync();
});

afterAll(() => instance.closeSync());

/** Keys every 13th id up to `count` of them, as a scan request carries them (8-byte little-endian). */
function keysOf(count: number) {
  const data = new Uint8Array(count * 8);
  const view = new DataView(data.buffer);
  for (let i = 0; i < count; i++) view.setBigInt64(i * 8, BigInt(i * 13), true);
  return { column: 'id', rows: count, values: { data } };
}

/** Whether DuckDB's analyzed plan of the keyed scan holds a Bloom filter, and the rows it kept. */
async function keyedScan(con: DuckDBConnection, keys: number, predicate: string | undefined) {
  const { condition } = await new ScanKeyTables(con, 't').semiJoin(
    'id',
    keysOf(keys),
    predicate !== undefined,
  );
  const where = predicate ? `${predicate} AND ${condition}` : condition;
  const plan = await con.runAndReadAll(`EXPLAIN ANALYZE SELECT id FROM t WHERE ${where}`);
  const text = plan
    .getRows()
    .map((row) => row.join(' '))
    .join('\n');
  const count = async (sql: string) => Number((await con.runAndReadAll(sql)).getRows()[0][0]);
  return {
    bloom: /IN BF\(/.test(text),
    rows: await count(`SELECT count(*) FROM t WHERE ${where}`),
    expected: await count(
      `SELECT count(*) FROM t WHERE id % 13 = 0 AND id < ${keys * 13}${predicate ? ` AND ${predicate}` : ''}`,
    ),
  };
}

it.each([
  [10_000, undefined, true],
  [20, 'v < 50', true],
  [20, undefined, false],
])('%i keys beside predicate %s: Bloom filter %s', async (keys, predicate, bloom) => {
  const con = await instance.connect();
  try {
    const scan = await keyedScan(con, keys, predicate);
    expect(scan.bloom).toBe(bloom);
    expect(scan.rows).toBe(scan.expected);
  } finally {
    con.closeSync();
  }
});
