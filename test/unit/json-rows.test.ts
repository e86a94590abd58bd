/** JSON rows written as bytes are exactly the text JSON.stringify gives of the same values. */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonRowWriter } from '../../src/duckdb/json-rows.js';
import { readChunks, resultToJson } from '../../src/duckdb/json-values.js';

let con: DuckDBConnection;

beforeAll(async () => {
  con = await (await DuckDBInstance.create(':memory:')).connect();
});

afterAll(() => con.closeSync());

/** The writer's text of `sql`'s rows, and JSON.stringify's of resultToJson's rows. */
async function both(sql: string, layout: 'array' | 'lines') {
  const result = await con.run(sql);
  const writer = new JsonRowWriter(result.deduplicatedColumnNames(), layout);
  const written = Buffer.concat(
    (await readChunks(result, Number.POSITIVE_INFINITY)).map((c) => writer.write(c)),
  );
  const { rows } = await resultToJson(await con.run(sql));
  const expected =
    layout === 'array'
      ? JSON.stringify(rows).slice(1, -1)
      : rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  return { written: written.toString('utf8'), expected };
}

// Every byte under 0x20, quotes, backslashes, unicode of every UTF-8 length, strings on both
// sides of DuckDB's 12-byte inline limit, empty strings and NULLs.
const STRINGS = `SELECT i, CASE i % 9
    WHEN 0 THEN chr(CAST(i % 32 AS INTEGER)) || 'x'
    WHEN 1 THEN 'say "hi" \\ back\\slash'
    WHEN 2 THEN 'héllo wörld — ✓ 𝄞 日本語'
    WHEN 3 THEN ''
    WHEN 4 THEN NULL
    WHEN 5 THEN repeat('ab', (i % 20)::INTEGER)
    WHEN 6 THEN 'tab	new
line'
    WHEN 7 THEN repeat('é', (i % 13)::INTEGER)
    ELSE 'exactly12byt' END AS s,
  i * 1.5 AS d, i % 3 = 0 AS b, [i, NULL] AS l, {'k': i} AS st, DATE '2024-01-01' + i::INTEGER AS day,
  CASE WHEN i % 5 = 0 THEN NULL ELSE 9007199254740993 + i END AS big
  FROM range(5000) t(i)`;

describe('JsonRowWriter', () => {
  it.each(['array', 'lines'] as const)(
    'writes every type and string as JSON.stringify does (%s)',
    async (layout) => {
      const { written, expected } = await both(STRINGS, layout);
      expect(written.length).toBeGreaterThan(100_000);
      expect(written).toBe(expected);
    },
  );

  it('keys repeated names as the node API does, and escapes them', async () => {
    const { written, expected } = await both(`SELECT 1 AS "a""b", 2 AS "a""b", 'x' AS "ü"`, 'array');
    expect(written).toBe(expected);
    expect(JSON.parse(`[${written}]`)).toEqual([{ 'a"b': 1, 'a"b:1': 2, ü: 'x' }]);
  });

  it('writes nothing for no rows, and commas only between rows across chunks', async () => {
    expect((await both('SELECT 1 AS a WHERE false', 'array')).written).toBe('');
    const { written } = await both('SELECT range AS a FROM range(5000)', 'array');
    expect(JSON.parse(`[${written}]`)).toHaveLength(5000);
  });
});
