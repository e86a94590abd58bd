/**
 * Delta-encoded keys come back as the same fixed-width bytes, over each integer type's whole
 * range, and the container refuses malformed ones with a sentence instead of loading them.
 */
import { DuckDBBigIntType, DuckDBIntegerType, DuckDBUBigIntType, DuckDBUTinyIntType } from '@duckdb/node-api';
import { expect, it } from 'vitest';
import { decodeDeltaKeys, encodeDeltaKeys, integerLayout } from '../../src/duckdb/delta-keys.js';

function fixedOf(values: bigint[], width: number, signed: boolean): Uint8Array {
  const bytes = new Uint8Array(values.length * width);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => {
    if (width === 8) (signed ? view.setBigInt64 : view.setBigUint64).call(view, i * 8, v, true);
    else if (width === 4) view.setInt32(i * 4, Number(v), true);
    else view.setUint8(i, Number(v));
  });
  return bytes;
}

const CASES: [string, ReturnType<typeof integerLayout>, bigint[]][] = [
  ['BIGINT extremes', integerLayout(DuckDBBigIntType.instance), [-(2n ** 63n), -1n, 0n, 5n, 2n ** 63n - 1n]],
  [
    'BIGINT dense',
    integerLayout(DuckDBBigIntType.instance),
    [...Array(1000).keys()].map((i) => BigInt(i * 3 - 700)),
  ],
  ['INTEGER', integerLayout(DuckDBIntegerType.instance), [-(2n ** 31n), -3n, 7n, 2n ** 31n - 1n]],
  ['UBIGINT', integerLayout(DuckDBUBigIntType.instance), [0n, 1n, 2n ** 64n - 1n]],
  ['UTINYINT', integerLayout(DuckDBUTinyIntType.instance), [0n, 17n, 255n]],
];

it.each(CASES)('%s keys round-trip', (_, layout, values) => {
  if (!layout) throw new Error('no layout');
  const fixed = fixedOf(values, layout.width, layout.signed);
  const delta = encodeDeltaKeys(fixed, values.length, layout, 1 << 20);
  if (!delta) throw new Error('not encoded');
  expect(decodeDeltaKeys(delta, values.length, layout)).toEqual(fixed);
});

it('keys near 2^52, where encoding switches from Numbers to BigInts, round-trip and encode alike', () => {
  const big = integerLayout(DuckDBBigIntType.instance)!;
  const unsigned = integerLayout(DuckDBUBigIntType.instance)!;
  const edge = 2n ** 52n;
  const lists: [typeof big, bigint[]][] = [
    [big, [-edge + 1n, -5n, 0n, edge - 2n, edge - 1n]],
    [big, [-edge, -edge + 1n, 3n]],
    [big, [1n, 2n, edge, edge + 1n]],
    [big, [0n, 2n ** 49n, 2n ** 51n + 7n, edge - 1n]],
    [unsigned, [0n, edge - 1n, edge, 2n ** 64n - 1n]],
  ];
  for (const [layout, values] of lists) {
    const delta = encodeDeltaKeys(fixedOf(values, 8, layout.signed), values.length, layout, 1 << 20);
    if (!delta) throw new Error('not encoded');
    expect(decodeDeltaKeys(delta, values.length, layout), String(values)).toEqual(
      fixedOf(values, 8, layout.signed),
    );
  }
  // The same keys encode to the same bytes whether the list stays under 2^52 or not.
  const under = [-700n, 5n, 9n, 2n ** 40n];
  const alone = encodeDeltaKeys(fixedOf(under, 8, true), under.length, big, 1 << 20);
  const withLarge = encodeDeltaKeys(fixedOf([...under, edge * 2n], 8, true), under.length + 1, big, 1 << 20);
  expect(withLarge?.subarray(0, alone?.length)).toEqual(alone);
});

it('unsigned and narrow keys refuse values beyond their type', () => {
  const u32 = { width: 4, signed: false };
  const i16 = { width: 2, signed: true };
  const fixed = new Uint8Array(8);
  new DataView(fixed.buffer).setUint32(4, 2 ** 32 - 1, true);
  const delta = encodeDeltaKeys(fixed, 2, u32, 1 << 10);
  if (!delta) throw new Error('not encoded');
  expect(decodeDeltaKeys(delta, 2, u32)).toEqual(fixed);
  expect(decodeDeltaKeys(new Uint8Array([1]), 1, u32)).toMatch(
    /key 0 \(-1\) does not fit the column's 32-bit type/,
  );
  expect(decodeDeltaKeys(new Uint8Array([0xfe, 0xff, 0x03]), 1, i16)).toEqual(new Uint8Array([0xff, 0x7f]));
  expect(decodeDeltaKeys(new Uint8Array([0x80, 0x80, 0x04]), 1, i16)).toMatch(/key 0 \(32768\) does not fit/);
});

it('dense keys take about a byte each, and a budget too small gives none', () => {
  const layout = integerLayout(DuckDBBigIntType.instance)!;
  const values = [...Array(10_000).keys()].map((i) => BigInt(1_000_000 + i * 50));
  const fixed = fixedOf(values, 8, true);
  expect(encodeDeltaKeys(fixed, values.length, layout, 1 << 20)?.length).toBeLessThan(10_010);
  expect(encodeDeltaKeys(fixed, values.length, layout, 5_000)).toBeUndefined();
});

it('refuses malformed keys', () => {
  const big = integerLayout(DuckDBBigIntType.instance)!;
  const tiny = integerLayout(DuckDBUTinyIntType.instance)!;
  expect(decodeDeltaKeys(new Uint8Array([2, 1]), 3, big)).toMatch(/end after 2 of 3/);
  expect(decodeDeltaKeys(new Uint8Array([2, 0]), 2, big)).toMatch(/repeats/);
  expect(decodeDeltaKeys(new Uint8Array([2, 1, 1]), 2, big)).toMatch(/1 bytes follow/);
  expect(decodeDeltaKeys(new Uint8Array([0x80, 0x04]), 1, tiny)).toMatch(/does not fit/);
  expect(decodeDeltaKeys(new Uint8Array([1]), 1, tiny)).toMatch(/does not fit/);
  expect(decodeDeltaKeys(new Uint8Array(12).fill(0x80), 1, big)).toMatch(/longer than 10 bytes/);
});
