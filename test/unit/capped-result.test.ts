/**
 * A JSON answer's rows computed at most one past the cap (capped-result.ts), and DuckDB's
 * out-of-memory errors as 507s that say what to do.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCapped } from '../../src/coordinator/execute/capped-result.js';
import { duckdbErrorToQueryError } from '../../src/duckdb/duckdb-errors.js';
import { chunksOf } from '../../src/duckdb/json-values.js';
import { QueryError } from '../../src/errors.js';

let instance: DuckDBInstance;
let con: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  con = await instance.connect();
  await con.run('CREATE TABLE t AS SELECT i AS x, (i * 7919) % 101 AS y FROM range(10000) r(i)');
});

afterAll(() => {
  con.closeSync();
  instance.closeSync();
});

async function rowsOf(sql: string, cap: number) {
  const source = await runCapped(con, sql, cap);
  const rows: unknown[][] = [];
  for await (const chunk of chunksOf(source)) rows.push(...(chunk.getRows() as unknown[][]));
  return { names: source.deduplicatedColumnNames(), rowCount: source.rowCount, rows };
}

it('keeps the query order and its own column names, repeated ones too', async () => {
  for (const sql of [
    'SELECT a.y, b.y, a.x FROM t a JOIN t b ON a.x = b.x ORDER BY a.y DESC, a.x',
    'SELECT y, count(*) AS n, y FROM t GROUP BY y ORDER BY n, y -- a comment',
    'FROM t ORDER BY y, x DESC LIMIT 500',
    'SELECT x AS y_1, y, y FROM t ORDER BY x LIMIT 20',
    'SELECT x AS a_2, y AS a, x AS a FROM t ORDER BY x LIMIT 20',
    'SELECT x AS "Y", y FROM t ORDER BY x LIMIT 20',
  ]) {
    const plain = await con.run(sql);
    const capped = await rowsOf(sql, 100_000);
    expect(capped.names).toEqual(plain.deduplicatedColumnNames());
    expect(capped.rows).toEqual(await plain.getRows());
  }
});

it('computes at most one row past the cap, however large the result', async () => {
  const capped = await rowsOf('SELECT * FROM t a, t b, t c', 1000);
  expect(capped.rowCount).toBe(1001);
  expect(capped.rows.length).toBe(1001);
});

it('runs SQL holding a semicolon as it is, and reports errors at their own positions', async () => {
  expect((await rowsOf("SELECT ';' AS s FROM t LIMIT 3", 2)).rowCount).toBe(3);
  const plainError = await con.run('SELECT nope FROM t').catch((err: Error) => err.message);
  const cappedError = await runCapped(con, 'SELECT nope FROM t', 10).catch((err: Error) => err.message);
  expect(cappedError).toBe(plainError);
});

it('turns an out-of-memory error into a 507 that says how to go on', async () => {
  const small = await instance.connect();
  await small.run("SET memory_limit = '32MB'");
  const err = await small
    .run(
      "SELECT count(DISTINCT x::VARCHAR || repeat('x', 40) || y) FROM range(20000000) r(x), (SELECT 1 AS y)",
    )
    .then(
      () => undefined,
      (e: unknown) => duckdbErrorToQueryError(e),
    );
  await small.run('RESET memory_limit');
  small.closeSync();
  expect(err).toBeInstanceOf(QueryError);
  expect(err?.status).toBe(507);
  expect(err?.message).toMatch(/^Out of Memory Error.*LIMIT.*--memory-limit/s);
});
