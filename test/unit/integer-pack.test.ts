/**
 * Packed integer columns (ScanRequest.packIntegers): what a sender packs into a data or keys
 * frame (integers and dates as offsets from the least), the receiver's frame sequence widens
 * back to exactly the column it had, NULLs kept; spans too wide, values past ±2^53 and columns
 * that are not integers go as they are; a malformed pack is a protocol error, never wrong values.
 */
import { expect, test } from 'vitest';
import { integerType } from '../../src/duckdb/integer-values.js';
import { encode } from '../../src/protocol/codec.js';
import {
  type ColumnPacking,
  columnPacking,
  DataFrameEncoder,
} from '../../src/protocol/data-frame-encoder.js';
import type { ColumnSchema, DataFrame, Frame, KeysFrame, WireColumn } from '../../src/protocol/frames.js';
import { packableType, packingOf } from '../../src/protocol/integer-pack.js';
import { FrameSequence } from '../../src/scan-client/scan-stream.js';
import { seededRandom } from '../../src/seeded-random.js';

const SCHEMA: ColumnSchema[] = [
  { name: 'big', type: 'BIGINT', wire: 'fixed', width: 8 },
  { name: 'int', type: 'INTEGER', wire: 'fixed', width: 4 },
  { name: 'small', type: 'SMALLINT', wire: 'fixed', width: 2 },
  { name: 'ubig', type: 'UBIGINT', wire: 'fixed', width: 8 },
  { name: 'dbl', type: 'DOUBLE', wire: 'fixed', width: 8 },
  { name: 'day', type: 'DATE', wire: 'fixed', width: 4 },
  { name: 'rate', type: 'DOUBLE', wire: 'fixed', width: 8 },
  { name: 'real', type: 'FLOAT', wire: 'fixed', width: 4 },
];

/** `values` (null: NULL) as a column of `type`'s fixed layout; NULL rows hold garbage bytes. */
function column(type: string, values: (number | bigint | null)[]): WireColumn {
  const width = (integerType(type)?.width ?? (type === 'DATE' || type === 'FLOAT' ? 4 : 8)) as 2 | 4 | 8;
  const data = new Uint8Array(values.length * width);
  const view = new DataView(data.buffer);
  values.forEach((v, i) => {
    if (v === null) view.setUint8(i * width, 0xab);
    else if (type === 'DOUBLE') view.setFloat64(i * 8, Number(v), true);
    else if (type === 'FLOAT') view.setFloat32(i * 4, Number(v), true);
    else if (width === 8) view.setBigInt64(i * 8, BigInt(v), true);
    else if (width === 4) view.setInt32(i * 4, Number(v), true);
    else view.setInt16(i * 2, Number(v), true);
  });
  const nulls = values.some((v) => v === null)
    ? Uint8Array.from(values, (v) => (v === null ? 1 : 0))
    : undefined;
  return { data, ...(nulls && { nulls }) };
}

/** A column's values as the receiver reads them (NULLs as null, garbage bytes ignored). */
function values(c: WireColumn, schema: ColumnSchema, rows: number): (string | null)[] {
  const view = new DataView(c.data.buffer, c.data.byteOffset, c.data.byteLength);
  return Array.from({ length: rows }, (_, i) => {
    if (c.nulls?.[i] === 1) return null;
    if (schema.type === 'DOUBLE') return String(view.getFloat64(i * 8, true));
    if (schema.type === 'FLOAT') return String(view.getFloat32(i * 4, true));
    if (schema.width === 8)
      return String(
        schema.type === 'UBIGINT' ? view.getBigUint64(i * 8, true) : view.getBigInt64(i * 8, true),
      );
    return String(schema.width === 4 ? view.getInt32(i * 4, true) : view.getInt16(i * 2, true));
  });
}

/** How a sender packs each column of `columns` (NatsFrameSink's choice). */
function packsOf(columns: WireColumn[], rows: number, schema: ColumnSchema[]): (ColumnPacking | undefined)[] {
  return columns.map((c, i) => columnPacking(c, rows, schema[i]));
}

/** Frames through a sender's encoder and a receiver's sequence. */
function received(frames: Frame[], packs: (ColumnPacking | undefined)[][]): Frame[] {
  const sequence = new FrameSequence('table "t"', 'msgpack');
  const encoder = new DataFrameEncoder(4);
  return frames.map((f, i) => {
    const bytes =
      f.type === 'data' || f.type === 'keys'
        ? encoder.encode(f as (DataFrame & { columns: WireColumn[] }) | KeysFrame, packs[i])
        : encode(f, 'msgpack');
    return sequence.accept(bytes) as Frame;
  });
}

test('packed columns are widened back to the very values, NULLs kept, for random spans', () => {
  const random = seededRandom(20261207);
  for (let round = 0; round < 200; round++) {
    const rows = 1 + Math.floor(random() * 300);
    // Spans around each width's bounds, and bases anywhere in the type, negative too.
    const span = [0, 1, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 40][Math.floor(random() * 9)];
    const gen = (lo: number, hi: number) => () =>
      random() < 0.1 ? null : Math.min(hi, lo + Math.floor(random() * (span + 1)));
    const base = (lo: number, hi: number) =>
      Math.max(lo, Math.min(hi - span, lo + Math.floor(random() * (hi - lo))));
    const b = base(-(2 ** 52), 2 ** 52);
    const i = base(-(2 ** 31), 2 ** 31 - 1);
    const s = base(-(2 ** 15), 2 ** 15 - 1);
    const u = base(0, 2 ** 52);
    const raw = {
      big: Array.from({ length: rows }, gen(b, 2 ** 52)),
      int: Array.from({ length: rows }, gen(i, 2 ** 31 - 1)),
      small: Array.from({ length: rows }, gen(s, 2 ** 15 - 1)),
      ubig: Array.from({ length: rows }, gen(u, 2 ** 52)),
      dbl: Array.from({ length: rows }, () => random() * 1e6),
      day: Array.from({ length: rows }, gen(s, 2 ** 15 - 1)),
      // A few distinct values (a dictionary), or more than a byte indexes.
      rate: Array.from({ length: rows }, () =>
        random() < 0.1 ? null : Math.floor(random() * (span < 65_536 ? 11 : 400)) / 100,
      ),
      real: Array.from({ length: rows }, () => (random() < 0.1 ? null : Math.floor(random() * 5) - 2.5)),
    };
    const columns = SCHEMA.map((c) => column(c.type, raw[c.name as keyof typeof raw]));
    const data: DataFrame & { columns: WireColumn[] } = { type: 'data', seq: 1, rows, columns };
    const keys: KeysFrame = { type: 'keys', seq: 2, column: 'BIG', rows, values: columns[0] };
    const packs = packsOf(columns, rows, SCHEMA);
    // Doubles and floats go as they are; a date of a few days' span packs.
    expect([packs[4], packs[6], packs[7]]).toEqual([undefined, undefined, undefined]);
    if (span < 65_536 && raw.day.some((v) => v !== null)) expect(packs[5]?.pack.width).toBeLessThan(4);
    const [, gotData, gotKeys] = received(
      [{ type: 'schema', seq: 0, columns: SCHEMA, sql: 'SELECT' }, data, keys],
      [[], packs, [packs[0]]],
    );
    SCHEMA.forEach((schema, c) => {
      const got = (gotData as DataFrame).columns?.[c] as WireColumn;
      expect(got.pack).toBeUndefined();
      expect(got.data.byteLength).toBe(rows * (schema.width as number));
      expect(values(got, schema, rows)).toEqual(values(columns[c], schema, rows));
    });
    expect(values((gotKeys as KeysFrame).values, SCHEMA[0], rows)).toEqual(
      values(columns[0], SCHEMA[0], rows),
    );
  }
});

test('packs the narrowest width below the type, and nothing it cannot', () => {
  const big = integerType('BIGINT');
  const int = integerType('INTEGER');
  if (!big || !int) throw new Error('integer types');
  expect(packingOf(column('BIGINT', [10, 265]), 2, big)).toEqual({ width: 1, base: 10 });
  expect(packingOf(column('BIGINT', [10, 266]), 2, big)).toEqual({ width: 2, base: 10 });
  expect(packingOf(column('BIGINT', [-5, 2 ** 32 - 6]), 2, big)).toEqual({ width: 4, base: -5 });
  expect(packingOf(column('BIGINT', [0, 2 ** 32]), 2, big)).toBeUndefined();
  expect(packingOf(column('BIGINT', [0, 2n ** 60n]), 2, big)).toBeUndefined();
  expect(packingOf(column('BIGINT', [null, null]), 2, big)).toBeUndefined();
  expect(packingOf(column('INTEGER', [-(2 ** 31), 2 ** 31 - 1]), 2, int)).toBeUndefined();
  expect(packingOf(column('INTEGER', [7, 7]), 2, int)).toEqual({ width: 1, base: 7 });
  expect(packableType(SCHEMA[4])).toBeUndefined();
  expect(packableType({ name: 't', type: 'TINYINT', wire: 'fixed', width: 1 })).toBeUndefined();
});

test('a malformed pack is a protocol error', () => {
  const schema: Frame = { type: 'schema', seq: 0, columns: SCHEMA.slice(0, 1), sql: 'SELECT' };
  const bad: [string, WireColumn][] = [
    ['pack width', { data: new Uint8Array(2), pack: { width: 3 as 1, base: 0 } }],
    ['pack width', { data: new Uint8Array(16), pack: { width: 8 as 4, base: 0 } }],
    ['pack base', { data: new Uint8Array(2), pack: { width: 1, base: 0.5 } }],
    ['pack base', { data: new Uint8Array(2), pack: { width: 1, base: 2 ** 60 } }],
    ['bytes where', { data: new Uint8Array(3), pack: { width: 1, base: 0 } }],
    ['past its type', { data: new Uint8Array([255, 255]), pack: { width: 1, base: 2 ** 53 - 100 } }],
  ];
  for (const [message, values] of bad) {
    const sequence = new FrameSequence('table "t"', 'msgpack');
    sequence.accept(encode(schema, 'msgpack'));
    const frame = { type: 'data', seq: 1, rows: 2, columns: [values] };
    expect(() => sequence.accept(encode(frame, 'msgpack'))).toThrow(message);
  }
  const sequence = new FrameSequence('table "t"', 'msgpack');
  sequence.accept(encode({ type: 'schema', seq: 0, columns: SCHEMA.slice(4) }, 'msgpack'));
  const onDouble = {
    type: 'data',
    seq: 1,
    rows: 1,
    columns: [{ data: new Uint8Array(1), pack: { width: 1, base: 0 } }],
  };
  expect(() => sequence.accept(encode(onDouble, 'msgpack'))).toThrow('not a packable integer column');
});
