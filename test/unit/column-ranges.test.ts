import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedTable } from '../../src/bench/generated-table.js';
import { MAX_RANGE_TEXT } from '../../src/data-container/column-ranges.js';
import { connect, type LoadedTable } from '../../src/data-container/table.js';

/** Every orderable type, NULLs among the values, and types that get no range. */
const MIXED = `SELECT
  (i - 50)::BIGINT AS big,
  i::HUGEINT * 100000000000000000000 AS huge,
  CASE WHEN i = 3 THEN 'nan'::DOUBLE ELSE i / 7 END AS ratio,
  (i / 8)::DECIMAL(18,3) AS price,
  DATE '1995-03-15' + i::INTEGER AS day,
  TIMESTAMP '2024-01-01 10:00:00.123456' + to_seconds(i) AS at,
  TIMESTAMPTZ '2024-01-01 10:00:00+02' + to_seconds(i) AS at_tz,
  CASE WHEN i % 5 = 0 THEN NULL ELSE 'it''s ' || i || ' é' END AS label,
  i % 2 = 0 AS even,
  ('00000000-0000-0000-0000-' || lpad(i::VARCHAR, 12, '0'))::UUID AS id,
  NULL::INTEGER AS nothing,
  repeat('x', ${MAX_RANGE_TEXT}) || i AS long_text,
  to_seconds(i) AS span,
  [i] AS list
FROM range(1, 100) t(i)`;

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
    const { nothing, ...ranges } = table.columnRanges;
    expect(nothing).toBeNull();
    expect(Object.keys(ranges).sort()).toEqual([
      'at',
      'at_tz',
      'big',
      'day',
      'even',
      'huge',
      'id',
      'label',
      'price',
      'ratio',
    ]);
    const con = await connect(table);
    try {
      for (const [column, range] of Object.entries(ranges)) {
        expect(range, column).not.toBeNull();
        const c = `"${column}"`;
        const check = await con.runAndReadAll(
          `SELECT (${range?.min}) = min(${c}) AND (${range?.max}) = max(${c}) AND typeof(${range?.min}) = typeof(min(${c})) FROM mixed`,
        );
        expect(check.getRows()[0][0], `${column}: ${JSON.stringify(range)}`).toBe(true);
      }
    } finally {
      con.closeSync();
    }
  });

  it('leaves out long values and unordered types, and is null without a non-NULL value', () => {
    for (const column of ['long_text', 'span', 'list']) expect(table.columnRanges).not.toHaveProperty(column);
    expect(Object.values(empty.columnRanges).every((range) => range === null)).toBe(true);
  });
});
