/**
 * The scan's direct NDJSON/CSV writer (wire columns, no DuckDB chunk) writes what the
 * chunk writers write (JsonRowWriter, and formatRows over the JSON values), over the edges:
 * int64 at and beyond ±2^53 and int32, doubles with and without a fraction, NaN and infinities, NULLs, text that JSON and CSV must escape.
 */
import { type DuckDBDataChunk, DuckDBInstance } from '@duckdb/node-api';
import { expect, it } from 'vitest';
import { columnSchemaFor, FrameBuilder } from '../../src/duckdb/columnar.js';
import { JsonRowWriter } from '../../src/duckdb/json-rows.js';
import { columnValues } from '../../src/duckdb/json-values.js';
import { formatRows } from '../../src/scan-client/row-format.js';
import { wireRowWriter } from '../../src/scan-client/wire-rows.js';

const EDGES = `SELECT * FROM (VALUES
  (9007199254740991::BIGINT, -9007199254740991::BIGINT, 1.5::DOUBLE, true, 'plain', 7::INTEGER, 3::SMALLINT, 1::TINYINT),
  (9007199254740992::BIGINT, -9007199254740992::BIGINT, 'NaN'::DOUBLE, false, 'quote " and \\ and , comma', -7::INTEGER, -3::SMALLINT, -1::TINYINT),
  (9223372036854775807::BIGINT, (-9223372036854775807 - 1)::BIGINT, 'Infinity'::DOUBLE, NULL, e'new\\nline\\r\\ttab', NULL, NULL, NULL),
  (0::BIGINT, -1::BIGINT, '-Infinity'::DOUBLE, true, '日本語 🏷️', 2147483647::INTEGER, 32767::SMALLINT, 127::TINYINT),
  (NULL, 4294967296::BIGINT, -0.0::DOUBLE, false, NULL, (-2147483647 - 1)::INTEGER, (-32767 - 1)::SMALLINT, (-127 - 1)::TINYINT),
  (-4294967297::BIGINT, 123456789012::BIGINT, 1e300::DOUBLE, true, '', 0::INTEGER, 0::SMALLINT, 0::TINYINT),
  (100000000::BIGINT, -99999999::BIGINT, 9007199254740991.0::DOUBLE, true, 'x', 100::INTEGER, 10::SMALLINT, 9::TINYINT),
  (2147483648::BIGINT, -2147483649::BIGINT, 9007199254740992.0::DOUBLE, true, 'x', 1::INTEGER, 1::SMALLINT, 1::TINYINT),
  (1::BIGINT, 1::BIGINT, -123456789012.0::DOUBLE, true, 'x', 1::INTEGER, 1::SMALLINT, 1::TINYINT),
  (1::BIGINT, 1::BIGINT, 1e20::DOUBLE, true, 'x', 1::INTEGER, 1::SMALLINT, 1::TINYINT),
  (1::BIGINT, 1::BIGINT, 1e21::DOUBLE, true, 'x', 1::INTEGER, 1::SMALLINT, 1::TINYINT),
  (1::BIGINT, 1::BIGINT, 0.1::DOUBLE, true, 'x', 1::INTEGER, 1::SMALLINT, 1::TINYINT)
) t(a, b, d, flag, s, i32, i16, i8)`;

it('writes NDJSON and CSV as the chunk writers do', async () => {
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  const result = await con.run(EDGES);
  const chunk = (await result.fetchChunk()) as DuckDBDataChunk;
  const names = result.deduplicatedColumnNames();
  const schemas = names.map((name, c) => columnSchemaFor(name, chunk.getColumnVector(c).type));
  const frames = new FrameBuilder(schemas, 1 << 20);
  frames.append(chunk);
  const { rows, columns } = frames.take();

  const ndjson = wireRowWriter('ndjson', schemas);
  expect(ndjson).toBeDefined();
  expect(ndjson?.(rows, columns).toString('utf8')).toBe(
    new JsonRowWriter(names, 'lines').write(chunk).toString('utf8'),
  );

  const csv = wireRowWriter('csv', schemas);
  const values = names.map((_, c) => columnValues(chunk, c));
  const rowsOfValues = Array.from({ length: rows }, (_, r) => values.map((column) => column[r]));
  expect(csv?.(rows, columns).toString('utf8')).toBe(formatRows('csv', names, rowsOfValues));
  con.closeSync();
});

it('declines frames with a type it does not write', () => {
  expect(wireRowWriter('ndjson', [{ name: 'd', type: 'DATE', wire: 'fixed', width: 4 }])).toBeUndefined();
});
