import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedTable } from '../../src/bench/generated-table.js';
import { columnRanges, MAX_RANGE_TEXT } from '../../src/data-container/column-ranges.js';
import { connect, type LoadedTable } from '../../src/data-container/table.js';
import type { ColumnRange } from '../../src/protocol/shards.js';

/** Every orderable type, NULLs, NaN and infinities among the values, and types that get no range. */
const MIXED = `SELECT
  (i - 50)::BIGINT AS big,
  CASE WHEN i % 4 = 0 THEN NULL ELSE i::INTEGER END AS sparse,
  i::HUGEINT * 100000000000000000000 AS huge,
  CASE WHEN i = 3 THEN 'nan'::DOUBLE WHEN i = 4 THEN '-inf'::DOUBLE ELSE i / 7 END AS ratio,
  (i / 7)::FLOAT AS ratio32,
  (i / 8)::DECIMAL(18,3) AS price,
  DATE '1995-03-15' + i::INTEGER AS day,
  TIME '10:00:00' + to_seconds(i) AS clock,
  TIMESTAMP '2024-01-01 10:00:00.123456' + to_seconds(i) AS at,
  TIMESTAMP_NS '2024-01-01 10:00:00.123456789' + to_seconds(i) AS at_ns,
  TIMESTAMPTZ '2024-01-01 10:00:00+02' + to_seconds(i) AS at_tz,
  CASE WHEN i % 5 = 0 THEN NULL ELSE 'it''s ' || i || ' é' END AS label,
  i % 2 = 0 AS even,
  ('00000000-0000-0000-0000-' || lpad(i::VARCHAR, 12, '0'))::UUID AS id,
  NULL::INTEGER AS nothing,
  NULL::VARCHAR AS no_text,
  repeat('x', ${MAX_RANGE_TEXT}) || i AS long_text,
  to_seconds(i) AS span,
  [i] AS list
FROM range(1, 100) t(i)`;

const RANGED = [
  'big',
  'sparse',
  'huge',
  'ratio',
  'ratio32',
  'price',
  'day',
  'clock',
  'at',
  'at_ns',
  'at_tz',
  'label',
  'even',
  'id',
];

/** Whether each range's ends are the column's min and max in `table`, of its type. */
async function expectExact(con: DuckDBConnection, table: string, ranges: Record<string, ColumnRange | null>) {
  for (const [column, range] of Object.entries(ranges)) {
    if (range === null) continue;
    const c = `"${column}"`;
    const check = await con.runAndReadAll(
      `SELECT (${range.min}) = min(${c}) AND (${range.max}) = max(${c}) AND typeof(${range.min}) = typeof(min(${c})) FROM ${table}`,
    );
    expect(check.getRows()[0][0], `${column}: ${JSON.stringify(range)}`).toBe(true);
  }
}

let table: LoadedTable;
let empty: LoadedTable;

beforeAll(async () => {
  [table, empty] = await Promise.all([
    generatedTable('mixed', MIXED),
    generatedTable('mixed', `${MIXED} WHERE false`),
  ]);
});

afterAll(() => {
  table.instance.closeSync();
  empty.instance.closeSync();
});

describe('columnRanges', () => {
  it('gives each orderable column its smallest and largest value as literals of its type', async () => {
    const { nothing, no_text, ...ranges } = table.columnRanges;
    expect([nothing, no_text]).toEqual([null, null]);
    expect(Object.keys(ranges)).toEqual(RANGED);
    expect(Object.values(ranges)).not.toContain(null);
    expect(ranges.ratio).toEqual({ min: "CAST('-inf' AS DOUBLE)", max: "CAST('nan' AS DOUBLE)" });
    const con = await connect(table);
    try {
      await expectExact(con, 'mixed', ranges);
    } finally {
      con.closeSync();
    }
  });

  it('leaves out long values and unordered types, and is null without a non-NULL value', () => {
    for (const column of ['long_text', 'span', 'list']) expect(table.columnRanges).not.toHaveProperty(column);
    // Without rows, even a text column of long values has no non-NULL value.
    expect(Object.keys(empty.columnRanges).sort()).toEqual(
      [...Object.keys(table.columnRanges), 'long_text'].sort(),
    );
    expect(Object.values(empty.columnRanges).every((range) => range === null)).toBe(true);
  });

  it('stays exact over rows appended in batches, as a load appends them', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const con = await instance.connect();
    try {
      await con.run(`CREATE TABLE batches AS SELECT * FROM (${MIXED}) WHERE big BETWEEN -10 AND 10`);
      await con.run(`INSERT INTO batches SELECT * FROM (${MIXED}) WHERE big < -10`);
      await con.run(`INSERT INTO batches SELECT * FROM (${MIXED}) WHERE big > 10`);
      const described = (await con.runAndReadAll('DESCRIBE batches')).getRowObjectsJson();
      const columns = described.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
      const ranges = await columnRanges(con, 'batches', columns);
      expect(Object.keys(ranges)).toEqual(Object.keys(table.columnRanges));
      await expectExact(con, 'batches', ranges);
    } finally {
      con.closeSync();
      instance.closeSync();
    }
  });
});
