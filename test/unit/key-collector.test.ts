/**
 * Keys read from a source's frames make the same dynamic filter as the SQL path over its
 * TEMP table (the oracle): the same keys, encoding, range or `false`, for every integer
 * width, sorted or not, with repeats, NULLs and negative numbers, and across types.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type DynamicFilter,
  dynamicFilter,
  keysFilter,
} from '../../src/coordinator/execute/dynamic-filter.js';
import type { FrameTarget } from '../../src/coordinator/execute/gather.js';
import {
  KeyCollectingTarget,
  type KeyCollector,
  SourceKeys,
  sortDistinct,
} from '../../src/coordinator/execute/key-collector.js';
import { Serial } from '../../src/coordinator/execute/serial.js';
import { FrameBuilder, wireLayoutFor } from '../../src/duckdb/columnar.js';
import { materializedChunks } from '../../src/duckdb/json-values.js';
import { type ColumnSchema, MAX_SCAN_KEY_BYTES, type WireColumn } from '../../src/protocol/frames.js';

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

const reduction = { table: 'tgt', column: 'c', source: 'src', sourceColumn: 'k' };

const nowhere: FrameTarget = {
  open: async () => undefined,
  write: async () => undefined,
  close: async () => undefined,
};

/** `src`'s rows (column `k`, and a column before it) as wire frames, copied out of the builder. */
async function framesOfSource(): Promise<{ columns: ColumnSchema[]; frames: [WireColumn[], number][] }> {
  const result = await con.run('SELECT 1::TINYINT AS other, k FROM temp.main.src');
  const types = [result.columnType(0), result.columnType(1)];
  const columns = ['other', 'k'].map((name, i) => ({
    name,
    type: types[i].toString(),
    ...wireLayoutFor(types[i]),
  }));
  const builder = new FrameBuilder(columns, Number.POSITIVE_INFINITY);
  const frames: [WireColumn[], number][] = [];
  for (const chunk of materializedChunks(result)) {
    builder.append(chunk);
    const frame = builder.take();
    // An odd offset in a larger buffer, as a decoded message's columns may have.
    const copied = frame.columns.map((c) => {
      const data = new Uint8Array(c.data.byteLength + 1).subarray(1);
      data.set(c.data);
      return { data, ...(c.nulls && { nulls: new Uint8Array(c.nulls) }) };
    });
    frames.push([copied, frame.rows]);
  }
  return { columns, frames };
}

/** The collector of `src.k`, fed its frames. */
async function collected(complete = true): Promise<KeyCollector | undefined> {
  const { columns, frames } = await framesOfSource();
  const target = new KeyCollectingTarget(nowhere, ['K']);
  await target.open(columns);
  for (const [wire, rows] of frames) await target.write(wire, rows);
  await target.close(complete);
  return target.collected('K');
}

/** A filter with its bytes as text, so that a Buffer and a Uint8Array of the same bytes compare equal. */
function comparable(f: DynamicFilter) {
  const keys = f.keys && { ...f.keys, values: Buffer.from(f.keys.values.data).toString('base64') };
  return { ...f, keys };
}

async function bothPaths(
  sourceType: string,
  values: string,
  targetType: string,
  maxKeyBytes = MAX_SCAN_KEY_BYTES,
) {
  await con.run(`CREATE OR REPLACE TEMP TABLE src AS SELECT v::${sourceType} AS k FROM (${values}) t(v)`);
  const keys = (await collected())?.keysAs(targetType);
  const sql = await dynamicFilter(con, new Serial(), reduction, targetType, maxKeyBytes);
  // No filter from the frames: the range, from the TEMP table (the SQL path).
  const frames = keys && keysFilter(reduction, keys, maxKeyBytes);
  return { sql: comparable(sql), frames: frames && comparable(frames), answered: keys !== undefined };
}

const INTEGERS = ['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT'];

/** Values in some order, with repeats, NULLs or negative numbers: within TINYINT's range, so every type holds them. */
const SHAPES: [string, string][] = [
  ['sorted', 'SELECT i FROM range(0, 120) t(i)'],
  ['sorted with repeats', 'SELECT i // 3 FROM range(0, 360) t(i)'],
  [
    'unsorted with repeats and NULLs',
    'SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE (i * 37) % 101 END FROM range(500) t(i)',
  ],
  ['negative and positive, unsorted', 'SELECT (i * 53) % 255 - 127 FROM range(300) t(i)'],
  ['only NULLs', 'SELECT NULL FROM range(10)'],
  ['no rows', 'SELECT 1 WHERE false'],
];

it.each(INTEGERS.flatMap((type) => SHAPES.map(([shape, sql]) => [type, shape, sql])))(
  '%s keys, %s: the same filter as the SQL path',
  async (type, shape, sql) => {
    // Unsigned types hold no negative number: those rows are left out of the source.
    const values = type.startsWith('U') ? `SELECT * FROM (${sql}) t(v) WHERE v IS NULL OR v >= 0` : sql;
    const { sql: oracle, frames, answered } = await bothPaths(type, values, type);
    expect(answered, shape).toBe(true);
    expect(frames).toEqual(oracle);
  },
);

/** Source type, values, reduced column's type: the cast drops what does not fit, as TRY_CAST does. */
const ACROSS_TYPES: [string, string, string][] = [
  ['INTEGER', 'SELECT (i * 7919) % 100003 - 50000 FROM range(20000) t(i)', 'BIGINT'],
  ['BIGINT', 'SELECT (i * 7919) % 100003 * 100000 - 5000000000 FROM range(20000) t(i)', 'INTEGER'],
  ['BIGINT', 'SELECT i * 3 - 400 FROM range(300) t(i)', 'UTINYINT'],
  ['INTEGER', 'SELECT i * 999 - 70000 FROM range(200) t(i)', 'SMALLINT'],
  ['UBIGINT', 'SELECT i * 1000000007 FROM range(5000) t(i)', 'BIGINT'],
  ['BIGINT', 'SELECT i * 1000000007 - 2000000000000 FROM range(5000) t(i)', 'UINTEGER'],
  ['USMALLINT', 'SELECT i * 13 FROM range(5000) t(i)', 'TINYINT'],
  // Between 2^52 and 2^53: exact Numbers, delta-encoded through the fixed layout's BigInt path.
  ['BIGINT', 'SELECT 4503599627370496 + i * 1000003 FROM range(3000) t(i)', 'BIGINT'],
  ['TINYINT', 'SELECT i - 128 FROM range(256) t(i)', 'UBIGINT'],
];

it.each(ACROSS_TYPES)(
  '%s keys (%s) reducing a %s column: the same filter as the SQL path',
  async (source, values, target) => {
    const { sql, frames, answered } = await bothPaths(source, values, target);
    expect(answered).toBe(true);
    expect(frames).toEqual(sql);
  },
);

it('many dense keys travel delta-encoded, as the SQL path sends them', async () => {
  const { sql, frames, answered } = await bothPaths(
    'INTEGER',
    'SELECT * FROM range(1000, 201000, 4)',
    'INTEGER',
  );
  expect(answered).toBe(true);
  expect(frames?.keys?.encoding).toBe('delta');
  expect(frames).toEqual(sql);
});

it('keys over a small budget: fixed where the delta form is no smaller, else the range', async () => {
  // Gaps of 2^30: a delta key takes 5 bytes, a fixed INTEGER 4.
  const wide = 'SELECT i * 1073741824 - 2147483648 FROM range(4) t(i)';
  const fixed = await bothPaths('INTEGER', wide, 'INTEGER', 100);
  expect(fixed.frames?.keys?.encoding).toBeUndefined();
  expect(fixed.frames).toEqual(fixed.sql);
  const range = await bothPaths('BIGINT', 'SELECT * FROM range(0, 3000, 7)', 'BIGINT', 200);
  expect(range.answered).toBe(true);
  expect(range.frames).toBeUndefined();
  expect(range.sql.description).toMatch(/range/);
});

it('more distinct keys than any filter carries: none held, the SQL path makes the range', async () => {
  const values = `SELECT * FROM range(0, ${(MAX_SCAN_KEY_BYTES + 10) * 2}, 2)`;
  const { sql, answered } = await bothPaths('BIGINT', values, 'BIGINT');
  expect(answered).toBe(false);
  expect(sql.description).toMatch(/range/);
});

it('leaves the SQL path to answer what it does not read', async () => {
  await con.run(
    `CREATE OR REPLACE TEMP TABLE src AS SELECT * FROM (VALUES (1::BIGINT), (1152921504606846976::BIGINT)) t(k)`,
  );
  expect((await collected())?.keysAs('BIGINT')).toBeUndefined();
  await con.run(`CREATE OR REPLACE TEMP TABLE src AS SELECT i::BIGINT AS k FROM range(10) t(i)`);
  expect((await collected())?.keysAs('DOUBLE')).toBeUndefined();
  expect((await collected())?.keysAs('BIGINT')).toBeDefined();
  expect(await collected(false)).toBeUndefined();
  await con.run(`CREATE OR REPLACE TEMP TABLE src AS SELECT i::DOUBLE AS k FROM range(10) t(i)`);
  expect(await collected()).toBeUndefined();
  // Unsorted keys past twice the reach are not held (repeats would pile up).
  const many = (MAX_SCAN_KEY_BYTES * 2 + 10) * 2;
  await con.run(
    `CREATE OR REPLACE TEMP TABLE src AS SELECT (i * 7919) % 1000::BIGINT AS k FROM range(${many}) t(i)`,
  );
  expect((await collected())?.keysAs('BIGINT')).toBeUndefined();
});

it('completes the keys at the end frame, before the TEMP table closes', async () => {
  await con.run('CREATE OR REPLACE TEMP TABLE src AS SELECT i::INTEGER AS k FROM range(10) t(i)');
  const { columns, frames } = await framesOfSource();
  let flush = () => {};
  const flushing = new Promise<void>((resolve) => (flush = resolve));
  const keys = new SourceKeys();
  const wrap = keys.collecting('src', ['k']);
  const target = (wrap as (t: FrameTarget) => FrameTarget)({ ...nowhere, close: () => flushing });
  let gatheredWhole = () => {};
  const gathered = new Promise<void>((resolve) => (gatheredWhole = resolve));
  let ended = false;
  void keys.ended('src', gathered).then(() => (ended = true));
  await target.open(columns);
  for (const [wire, rows] of frames) await target.write(wire, rows);
  expect(keys.of('src', 'k')).toBeUndefined();
  const closed = target.close(true);
  await new Promise((resolve) => setImmediate(resolve));
  expect(ended).toBe(true);
  expect(keys.of('src', 'k')?.keysAs('INTEGER')?.rows).toBe(10);
  flush();
  await closed;
  gatheredWhole();
  // A scan that collects nothing is in hand once gathered.
  expect(keys.collecting('other', [])).toBeUndefined();
  await expect(keys.ended('other', Promise.resolve('gathered'))).resolves.toBe('gathered');
});

it('sorts and drops repeats of dense keys (bitmap), across word boundaries and zero', () => {
  for (const [count, span] of [
    [2, 2],
    [64, 64],
    [50_000, 120_000],
    [200_000, 6_000_000],
  ]) {
    const values = Array.from({ length: count }, (_, i) => ((i * 7919) % span) - Math.floor(span / 3));
    values.push(values[0], values[count - 1]);
    const keys = Float64Array.from(values);
    const n = sortDistinct(keys, keys.length);
    const expected = [...new Set(values)].sort((a, b) => a - b);
    expect(Array.from(keys.subarray(0, n))).toEqual(expected);
  }
});

it('sorts and drops repeats across spans (radix) and beyond 2^32 (typed array sort)', () => {
  for (const span of [1, 100, 2 ** 20, 2 ** 31, 2 ** 40]) {
    const values = Array.from(
      { length: 5000 },
      (_, i) => ((i * 7919) % 3001) * Math.floor(span / 3000) - Math.floor(span / 2),
    );
    const keys = Float64Array.from(values);
    const n = sortDistinct(keys, keys.length);
    const expected = [...new Set(values)].sort((a, b) => a - b);
    expect(Array.from(keys.subarray(0, n))).toEqual(expected);
  }
});

it("a failed source's progress left unread is no unhandled rejection (the process would end)", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const keys = new SourceKeys();
    keys.collecting('orders', ['o_orderkey'], ['o_orderkey']);
    const failed = Promise.reject(new Error('scan of table orders failed'));
    // The query awaits the gather itself (Promise.all in execute.ts): that one is handled.
    failed.catch(() => undefined);
    const ended = keys.ended('orders', failed);
    const rowsIn = keys.rowsIn('orders', failed);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(unhandled).toEqual([]);
    // Read, they still say the source failed.
    await expect(ended).rejects.toThrow('failed');
    await expect(rowsIn).rejects.toThrow('failed');
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
