/**
 * Pairs read from a source's frames (pair-collector.ts) are the distinct (key, value) pairs
 * DuckDB finds in the same rows, sorted by key: from data frames and from keys frames, for
 * keys in any order, with NULLs and repeats; a key with two values leaves none.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PairCollector, type Pairs, valuesByKey } from '../../src/coordinator/execute/pair-collector.js';
import { columnSchemaFor, FrameBuilder } from '../../src/duckdb/columnar.js';
import { materializedChunks } from '../../src/duckdb/json-values.js';
import type { ColumnSchema, WireColumn } from '../../src/protocol/frames.js';

let instance: DuckDBInstance;
let con: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  con = await instance.connect();
});

afterAll(() => {
  con.closeSync();
  instance.closeSync();
});

/** `sql`'s two columns as wire frames of at most `rows` rows, and their schema. */
async function frames(
  sql: string,
  rows = 1000,
): Promise<{ columns: ColumnSchema[]; frames: [WireColumn[], number][] }> {
  const result = await con.run(sql);
  const columns = [0, 1].map((i) => columnSchemaFor(i === 0 ? 'k' : 'v', result.columnType(i)));
  const builder = new FrameBuilder(columns, rows * 2, rows * 16);
  const out: [WireColumn[], number][] = [];
  for (const chunk of materializedChunks(result)) {
    for (let from = 0; from < chunk.rowCount; ) {
      from += builder.append(chunk, from);
      const frame = builder.take();
      // Copied (a Buffer's slice() would be a view): the builder reuses its buffers.
      out.push([
        frame.columns.map((c) => ({
          data: new Uint8Array(c.data),
          ...(c.nulls && { nulls: new Uint8Array(c.nulls) }),
        })),
        frame.rows,
      ]);
    }
  }
  return { columns, frames: out };
}

/** DuckDB's distinct non-NULL pairs of `sql`, by key. */
async function oracle(sql: string): Promise<{ keys: number[]; values: number[] }> {
  const rows = (
    await con.runAndReadAll(
      `SELECT DISTINCT k::DOUBLE, v::DOUBLE FROM (${sql}) WHERE k IS NOT NULL AND v IS NOT NULL ORDER BY 1`,
    )
  ).getRows();
  return { keys: rows.map((r) => Number(r[0])), values: rows.map((r) => Number(r[1])) };
}

const plain = (p: Pairs | undefined) => p && { keys: [...p.keys], values: [...p.values] };

const SHAPES = {
  'keys ascending': 'SELECT i::BIGINT AS k, (i % 25)::INTEGER AS v FROM range(0, 30000) t(i)',
  'keys shuffled, with repeats and NULLs': `SELECT CASE WHEN i % 97 = 0 THEN NULL ELSE (i * 7919) % 20011 END::INTEGER AS k,
      CASE WHEN i % 89 = 0 THEN NULL ELSE ((i * 7919) % 20011) % 5 END::TINYINT AS v FROM range(0, 40000) t(i)`,
  'negative keys, sparse':
    'SELECT (i * -1000003)::BIGINT AS k, (i % 3)::SMALLINT AS v FROM range(0, 5000) t(i)',
};

for (const [shape, sql] of Object.entries(SHAPES)) {
  it(`${shape}: from data frames and from keys frames, the pairs DuckDB finds`, async () => {
    const { columns, frames: sent } = await frames(sql);
    const expected = await oracle(sql);
    const fromRows = PairCollector.of(columns[0], columns[1]);
    for (const [wire, rows] of sent) fromRows?.addRows(wire[0], wire[1], rows);
    fromRows?.end(true);
    expect(plain(fromRows?.pairs())).toEqual(expected);
    // Keys frames: every frame's key column, then every frame's value column.
    const fromKeys = PairCollector.of(columns[0], columns[1]);
    for (const [wire, rows] of sent) fromKeys?.addKeysFrame(0, wire[0], rows);
    for (const [wire, rows] of sent) fromKeys?.addKeysFrame(1, wire[1], rows);
    fromKeys?.keysIn();
    expect(plain(fromKeys?.pairs())).toEqual(expected);
  });
}

it('a key with two values, a failed source, or keys frames that do not line up leave no pairs', async () => {
  const { columns, frames: sent } = await frames(
    'SELECT (i % 100)::BIGINT AS k, i::BIGINT AS v FROM range(0, 200) t(i)',
  );
  const twoValues = PairCollector.of(columns[0], columns[1]);
  for (const [wire, rows] of sent) twoValues?.addRows(wire[0], wire[1], rows);
  twoValues?.end(true);
  expect(twoValues?.pairs()).toBeUndefined();
  const failed = PairCollector.of(columns[0], columns[1]);
  failed?.end(false);
  expect(failed?.pairs()).toBeUndefined();
  const uneven = PairCollector.of(columns[0], columns[1]);
  uneven?.addKeysFrame(0, sent[0][0][0], sent[0][1]);
  uneven?.keysIn();
  expect(uneven?.pairs()).toBeUndefined();
  expect(PairCollector.of(columns[0], { name: 'v', type: 'VARCHAR', wire: 'varlen' })).toBeUndefined();
});

it('looks values up by key, dense or sparse, as a Map does', () => {
  for (const step of [1, 3, 1_000_003]) {
    const keys = Float64Array.from({ length: 500 }, (_, i) => i * step - 40);
    const values = Float64Array.from(keys, (k) => k * 2 + 1);
    const lookup = valuesByKey({ keys, values });
    const map = new Map([...keys].map((k, i) => [k, values[i]]));
    for (const probe of [-41, -40, -39, 0, 1, step, 499 * step - 40, 500 * step, 1e12])
      expect(lookup(probe)).toBe(map.get(probe));
  }
  expect(valuesByKey({ keys: new Float64Array(0), values: new Float64Array(0) })(1)).toBeUndefined();
});
