/**
 * The Postgres port's text values of integers and strings, against DuckDB's own text of the
 * same values (CAST AS VARCHAR), over int64 beyond 2^53, unsigned, NULLs and non-ASCII text.
 */
import { type DuckDBDataChunk, DuckDBInstance } from '@duckdb/node-api';
import { expect, it } from 'vitest';
import { dataRows } from '../../src/coordinator/pg-wire/messages.js';
import { columnEncoder } from '../../src/coordinator/pg-wire/values.js';

const VALUES = `SELECT * FROM (VALUES
  (9223372036854775807::BIGINT, 18446744073709551615::UBIGINT, 2147483647::INTEGER, 'plain', -1::TINYINT),
  ((-9223372036854775807 - 1)::BIGINT, 0::UBIGINT, (-2147483647 - 1)::INTEGER, '日本語 🏷️ and a longer string past twelve bytes', 127::TINYINT),
  (9007199254740993::BIGINT, 9007199254740993::UBIGINT, 0::INTEGER, '', 0::TINYINT),
  (NULL, NULL, NULL, NULL, NULL),
  (-9007199254740991::BIGINT, 4294967296::UBIGINT, -1::INTEGER, e'tab\\there', (-127 - 1)::TINYINT)
) t(a, b, c, s, d)`;

it('writes integers and strings as DuckDB prints them', async () => {
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  const result = await con.run(VALUES);
  const types = result.columnTypes();
  const chunk = (await result.fetchChunk()) as DuckDBDataChunk;
  const texts = await con.run(`SELECT COLUMNS(*)::VARCHAR FROM (${VALUES})`);
  const expected = (await texts.getRows()) as (string | null)[][];
  const columns = types.map((t, c) => columnEncoder(t, 0)(chunk, c));
  const actual = expected.map((_, r) =>
    columns.map(({ sources, froms, tos }) => sources[r]?.toString('utf8', froms[r], tos[r]) ?? null),
  );
  expect(actual).toEqual(expected);

  // DataRow messages carry the same bytes: a length (-1 for NULL), then the value.
  const message = dataRows(columns, 3, 5);
  expect(message[0]).toBe(0x44);
  expect(message.readInt16BE(5)).toBe(5);
  expect(message.readInt32BE(7)).toBe(-1);
  const second = message.readInt32BE(1) + 1;
  expect(message[second]).toBe(0x44);
  expect(message.toString('utf8', second + 11, second + 11 + message.readInt32BE(second + 7))).toBe(
    '-9007199254740991',
  );
  con.closeSync();
});
