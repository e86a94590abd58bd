/** DuckDB values as JSON: nothing silently changed. */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultToJson } from '../../src/duckdb/json-values.js';

let con: DuckDBConnection;

beforeAll(async () => {
  con = await (await DuckDBInstance.create(':memory:')).connect();
});

afterAll(() => con.closeSync());

async function row(select: string): Promise<Record<string, unknown>> {
  return (await resultToJson(await con.run(`SELECT ${select}`))).rows[0];
}

describe('resultToJson', () => {
  it('integers are numbers within ±(2^53-1) and strings beyond', async () => {
    expect(
      await row(`9007199254740991::BIGINT AS a, -9007199254740991::BIGINT AS b, 9007199254740992::BIGINT AS c,
                 (-9223372036854775808)::BIGINT AS d, 18446744073709551615::UBIGINT AS e,
                 170141183460469231731687303715884105727::HUGEINT AS f, 7::HUGEINT AS g, 42::INTEGER AS h`),
    ).toEqual({
      a: 9007199254740991,
      b: -9007199254740991,
      c: '9007199254740992',
      d: '-9223372036854775808',
      e: '18446744073709551615',
      f: '170141183460469231731687303715884105727',
      g: 7,
      h: 42,
    });
  });

  it('decimals are exact strings, doubles numbers, NaN and infinities strings', async () => {
    expect(
      await row(`12.345::DECIMAL(10,3) AS d, 0.1::DECIMAL(38,30) AS p, 1.5::DOUBLE AS x,
                 'nan'::DOUBLE AS n, '-inf'::DOUBLE AS i`),
    ).toEqual({ d: '12.345', p: '0.100000000000000000000000000000', x: 1.5, n: 'NaN', i: '-Infinity' });
  });

  it('dates, times and timestamps are ISO-8601 text', async () => {
    expect(
      await row(`DATE '2024-01-02' AS d, TIMESTAMP '2024-01-02 03:04:05.123456' AS ts,
                 TIMESTAMPTZ '2024-01-02 03:04:05+02' AS tz, TIME '12:34:56.5' AS t, TIMETZ '12:34:56+01' AS ttz,
                 TIMESTAMP_NS '2024-01-02 03:04:05.123456789' AS ns, DATE '-0044-03-15' AS bc,
                 'infinity'::TIMESTAMP AS forever`),
    ).toEqual({
      d: '2024-01-02',
      ts: '2024-01-02T03:04:05.123456',
      tz: '2024-01-02T01:04:05+00:00',
      t: '12:34:56.5',
      ttz: '12:34:56+01:00',
      ns: '2024-01-02T03:04:05.123456789',
      bc: '-0044-03-15',
      forever: 'infinity',
    });
  });

  it('NULL is null; lists and structs are JSON, their values converted the same way', async () => {
    expect(
      await row(`NULL::INTEGER AS n, [1, NULL, 9007199254740993]::BIGINT[] AS l,
                 {'d': DATE '2020-01-01', 'x': 'é'} AS s, 'ünï ☃'::VARCHAR AS u`),
    ).toEqual({ n: null, l: [1, null, '9007199254740993'], s: { d: '2020-01-01', x: 'é' }, u: 'ünï ☃' });
  });

  it('keeps columns of the same name apart', async () => {
    const json = await resultToJson(await con.run('SELECT 1 AS a, 2 AS a'));
    expect(json).toEqual({ columns: ['a', 'a:1'], rows: [{ a: 1, 'a:1': 2 }] });
  });

  it('reads streaming results, materialized results and readers alike, up to maxRows', async () => {
    // One at a time: a new query on the connection ends a pending streaming result.
    const sql = 'SELECT * FROM range(5000) t(i)';
    for (const run of [() => con.stream(sql), () => con.run(sql), () => con.streamAndReadAll(sql)]) {
      const json = await resultToJson(await run(), 5000);
      expect(json.rows).toHaveLength(5000);
      expect(json.rows[4999]).toEqual({ i: 4999 });
    }
    for (const run of [() => con.stream(sql), () => con.streamAndRead(sql)]) {
      await expect(resultToJson(await run(), 4999)).rejects.toMatchObject({
        kind: 'result_too_large',
        status: 413,
      });
    }
  });
});
