import { expect, test } from 'vitest';
import { distinctKeys, KeyTap } from '../../src/coordinator/frame-keys.js';
import type { FrameTarget } from '../../src/coordinator/gather.js';
import { type ColumnSchema, MAX_SCAN_KEY_BYTES, type WireColumn } from '../../src/protocol/frames.js';

const sink: FrameTarget = { open: async () => {}, write: async () => {}, close: async () => {} };

test('distinct keys are the distinct values, whatever their width', () => {
  for (const [width, make] of [
    [1, (n: number) => new Uint8Array(n).map((_, i) => (i * 37) % 11)],
    [2, (n: number) => new Int16Array(n).map((_, i) => ((i * 7919) % 301) - 150)],
    [4, (n: number) => new Float32Array(n).map((_, i) => ((i * 13) % 97) / 4 - 3)],
    [8, (n: number) => new BigInt64Array(n).map((_, i) => BigInt((i * 7919) % 1009) - 2n ** 62n)],
  ] as const) {
    const values = make(5_000);
    const bytes = new Uint8Array(values.buffer);
    const distinct = distinctKeys(bytes, width);
    const seen = (b: Uint8Array) =>
      new Set(
        Array.from({ length: b.length / width }, (_, i) => b.subarray(i * width, (i + 1) * width).join()),
      );
    expect(seen(distinct).size).toBe(distinct.length / width);
    expect(seen(distinct)).toEqual(seen(bytes));
  }
});

const schema: ColumnSchema[] = [
  { name: 'name', type: 'VARCHAR', wire: 'varlen' },
  { name: 'Label_Id', type: 'BIGINT', wire: 'fixed', width: 8 },
];

function frame(ids: (number | null)[]): WireColumn[] {
  const data = new Uint8Array(new BigInt64Array(ids.map((v) => BigInt(v ?? 0))).buffer);
  const nulls = ids.some((v) => v === null) ? Uint8Array.from(ids, (v) => (v === null ? 1 : 0)) : undefined;
  return [
    { data: new Uint8Array(0), offsets: new Int32Array(ids.length + 1) },
    { data, ...(nulls && { nulls }) },
  ];
}

async function tapped(type: string, frames: (number | null)[][], complete = true) {
  const tap = new KeyTap(sink, 'label_id', { column: 'lid', type });
  await tap.open(schema);
  for (const ids of frames) await tap.write(frame(ids), ids.length);
  await tap.close(complete);
  return tap.keys;
}

test('the tap keeps each non-NULL key once, named as the reduced column', async () => {
  const keys = await tapped('BIGINT', [
    [3, 1, null, 3],
    [2, null, 1],
  ]);
  expect(keys?.column).toBe('lid');
  expect(keys?.rows).toBe(3);
  expect(Array.from(new BigInt64Array(new Uint8Array(keys?.values.data as Uint8Array).buffer))).toEqual([
    1n,
    2n,
    3n,
  ]);
  expect((await tapped('BIGINT', [[null]]))?.rows).toBe(0);
});

test('the tap leaves to SQL other types, too many keys and a failed source', async () => {
  expect(await tapped('INTEGER', [[1, 2]])).toBeUndefined();
  expect(await tapped('BIGINT', [[1, 2]], false)).toBeUndefined();
  const many = Array.from({ length: MAX_SCAN_KEY_BYTES / 8 + 1 }, (_, i) => i);
  expect(await tapped('BIGINT', [many])).toBeUndefined();
  expect((await tapped('BIGINT', [many.slice(1)]))?.rows).toBe(many.length - 1);
});
