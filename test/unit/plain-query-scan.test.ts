/**
 * A pushed query that only picks columns (plain-select.ts) runs as a batched column scan: its
 * answer against the same query streamed (wrapped in a derived table, which DuckDB runs as
 * it is): the same names and types, and the same rows, or, under a LIMIT, exactly as many rows
 * of the query's result. Queries of other shapes stream, with the same answers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generatedTable } from '../../src/bench/generated-table.js';
import { executeScan } from '../../src/data-container/scan.js';
import type { LoadedTable } from '../../src/data-container/table.js';
import { plainSelectOf } from '../../src/duckdb/plain-select.js';
import { type ColumnSchema, type Frame, ScanRequestSchema } from '../../src/protocol/frames.js';

/** More than one rowid batch of a filtered scan (FIRST_BATCH). */
const ROWS = 150_000;

let table: LoadedTable;

beforeAll(async () => {
  // Text-wire columns (a list, a struct, an interval), NULLs, a quoted mixed-case name.
  table = await generatedTable(
    'items',
    `SELECT range AS id,
            CASE WHEN range % 7 = 0 THEN NULL ELSE 'n' || (range % 1000) END AS name,
            (range % 100)::INTEGER AS "Mixed Case",
            [range % 3, range % 5] AS tags,
            {'k': range % 11, 's': 'x' || (range % 13)} AS props,
            (range / 8)::DECIMAL(12, 3) AS amount,
            DATE '2020-01-01' + (range % 1000)::INTEGER AS day,
            to_seconds(range % 100) AS span
     FROM range(${ROWS})`,
  );
});

interface Answer {
  sql: string;
  columns: ColumnSchema[];
  rows: string[];
}

/** The names and types DuckDB gives the result of `query`. */
async function outputOf(query: string): Promise<{ name: string; type: string }[]> {
  const con = await table.instance.connect();
  try {
    const prepared = await con.prepare(query);
    return Array.from({ length: prepared.columnCount }, (_, i) => ({
      name: prepared.columnName(i),
      type: prepared.columnType(i).toString(),
    }));
  } finally {
    con.closeSync();
  }
}

async function run(query: string): Promise<Answer> {
  const frames: Frame[] = [];
  const sink = { send: async (frame: Frame) => void frames.push(frame) };
  const request = ScanRequestSchema.parse({ columns: [], query });
  await executeScan(table, request, 'json', sink, new AbortController().signal);
  const end = frames.at(-1);
  if (end?.type !== 'end') throw new Error(`${query}: ${JSON.stringify(end)}`);
  const schema = frames[0];
  if (schema.type !== 'schema') throw new Error(`${query}: no schema frame`);
  const rows = frames
    .flatMap((f) => (f.type === 'data' ? (f.values ?? []) : []))
    .map((r) => JSON.stringify(r));
  expect(rows.length).toBe(end.rows);
  return { sql: schema.sql, columns: schema.columns, rows };
}

/** Every row of `some` is a row of `all`, as many times at most. */
function expectSubMultiset(some: string[], all: string[]): void {
  const counts = new Map<string, number>();
  for (const row of all) counts.set(row, (counts.get(row) ?? 0) + 1);
  for (const row of some) {
    const left = counts.get(row) ?? 0;
    expect(left, row).toBeGreaterThan(0);
    counts.set(row, left - 1);
  }
}

/**
 * `select` with `limit` against the same select streamed without it: its rows (a derived
 * table renames duplicate names, so names and types are DuckDB's for the query itself).
 */
async function expectOracle(select: string, limit: number | undefined): Promise<Answer> {
  const query = limit === undefined ? select : `${select} LIMIT ${limit}`;
  const actual = await run(query);
  const oracle = await run(`SELECT * FROM (${select}) AS oracle`);
  expect(oracle.sql).toBe(`SELECT * FROM (${select}) AS oracle`);
  expect(actual.columns.map(({ name, type }) => ({ name, type }))).toEqual(await outputOf(query));
  expect(actual.columns.map((c) => c.wire)).toEqual(oracle.columns.map((c) => c.wire));
  expect(actual.rows.length).toBe(Math.min(limit ?? Number.POSITIVE_INFINITY, oracle.rows.length));
  expectSubMultiset(actual.rows, oracle.rows);
  return actual;
}

describe('a plain query runs as a column scan', () => {
  it.each<[string, number | undefined]>([
    ['SELECT * FROM items WHERE id % 1000 = 3', undefined],
    // Aliases that swap names: the WHERE reads the table's columns, as DuckDB binds it.
    ['SELECT id AS name, name AS id FROM items WHERE id < 50', undefined],
    // Duplicate output names; more LIMIT than rows.
    ['SELECT id, id, ID AS again, "mixed case" FROM items WHERE "Mixed Case" = 5', 100_000],
    [
      'SELECT tags, props, span, amount, day FROM items WHERE list_contains(tags, 2) AND id < 1000',
      undefined,
    ],
    ['SELECT i.name, i.* FROM items AS i WHERE i.props.k = 3 AND i.id < 5000', undefined],
    ['SELECT * FROM items WHERE id < 10', 0],
    ['SELECT amount, day FROM items', ROWS + 1],
    ['FROM Items SELECT "Mixed Case" AS m WHERE name IS NULL AND ID < 3000', undefined],
    ['SELECT items.name FROM items WHERE name LIKE $$n1%$$', 5],
    // Without a condition a LIMIT is a rowid range; with one, batches ask for the rows missing.
    ['SELECT id, props FROM items', 130_000],
    ['SELECT id, name FROM items WHERE id % 2 = 0', 70_001],
    ['SELECT id FROM items WHERE tags[1] = 1', 40_000],
  ])('%s LIMIT %s', async (select, limit) => {
    const answer = await expectOracle(select, limit);
    expect(answer.sql).toMatch(/^SELECT "/);
  });
});

describe('other queries stream', () => {
  it.each<[string, number | undefined]>([
    // The WHERE reads a select alias: not a predicate over the table.
    ['SELECT id AS k FROM items WHERE k < 10', undefined],
    ['SELECT DISTINCT "Mixed Case" FROM items', undefined],
    ['SELECT id + 1 AS next FROM items WHERE id < 5', undefined],
    ['SELECT rowid, id FROM items WHERE id < 5', undefined],
    ['SELECT items FROM items WHERE id < 2', undefined],
    ['SELECT props.k FROM items WHERE id < 5', undefined],
    ['SELECT id FROM items WHERE id IN (SELECT id FROM items WHERE id < 3)', undefined],
    ['SELECT i.id FROM items i WHERE len(list_filter(tags, x -> x > i.id)) = 0 AND i.id < 3', undefined],
    ['SELECT id FROM main.items WHERE id < 3', undefined],
    ['SELECT renamed FROM items AS i(renamed) WHERE renamed < 3', undefined],
  ])('%s', async (select, limit) => {
    const answer = await expectOracle(select, limit);
    expect(answer.sql).toBe(select);
  });

  it.each([
    'SELECT id FROM items ORDER BY id LIMIT 5',
    'SELECT id FROM items LIMIT 5 OFFSET 10',
    'SELECT id FROM items LIMIT 10%',
    'SELECT id FROM items LIMIT NULL',
    'SELECT id FROM items USING SAMPLE 10 ROWS',
    'SELECT id FROM items QUALIFY row_number() OVER () < 3',
    'WITH c AS (SELECT 1) SELECT id FROM items WHERE id < 3',
  ])('%s', async (query) => {
    expect((await run(query)).sql).toBe(query);
  });
});

describe('plainSelectOf', () => {
  it('reads the items, the WHERE over the table and the LIMIT', async () => {
    const con = await table.instance.connect();
    try {
      const reader = await con.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [
        'SELECT x.id AS k, * FROM items x WHERE x.id < 3 LIMIT 7',
      ]);
      const node = JSON.parse(String(reader.getRows()[0][0])).statements[0].node;
      const plain = plainSelectOf(node);
      expect(plain?.items).toEqual([{ column: 'id' }, { star: true }]);
      expect(plain?.limit).toBe(7);
      expect(JSON.stringify(plain?.where)).toMatch(/"column_names":\["items","id"\]/);
    } finally {
      con.closeSync();
    }
  });
});
