import { expect, test } from 'vitest';
import { decode, encode } from '../../src/protocol/codec.js';
import { DataFrameEncoder, returnFrameBuffers } from '../../src/protocol/data-frame-encoder.js';
import type { DataFrame, WireColumn } from '../../src/protocol/frames.js';

function frame(seq: number, rows: number): DataFrame & { columns: WireColumn[] } {
  const text = Buffer.from('é'.repeat(rows));
  const offsets = Int32Array.from({ length: rows + 1 }, (_, i) => i * 2);
  const nulls = Uint8Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const fixed = new Uint8Array(new BigInt64Array(rows).map((_, i) => BigInt(i * seq) - 2n ** 62n).buffer);
  return {
    type: 'data',
    seq,
    rows,
    columns: [
      { data: fixed },
      { data: text, offsets, nulls },
      { data: new Uint8Array(0), offsets: new Int32Array(1) },
    ],
  };
}

/** What a receiver works with: plain values, whatever the typed array's class. */
function plain(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

test('decodes to what msgpackr encodes, with offsets still an Int32Array', () => {
  const encoder = new DataFrameEncoder(3);
  for (const rows of [0, 1, 300, 70_000]) {
    for (const seq of [1, 2, 3, 4, 70_000]) {
      const f = frame(seq, rows);
      const bytes = encoder.encode(f);
      expect(plain(decode(bytes, 'msgpack'))).toEqual(plain(decode(encode(f, 'msgpack'), 'msgpack')));
      const decoded = decode(bytes, 'msgpack') as { columns: WireColumn[] };
      expect(decoded.columns[1].offsets).toBeInstanceOf(Int32Array);
      expect(decoded.columns[1].data).toBeInstanceOf(Uint8Array);
    }
  }
});

test('writes a slot again only `slots` frames later', () => {
  const encoder = new DataFrameEncoder(3);
  const kept = [1, 2, 3].map((seq) => encoder.encode(frame(seq, 10)));
  const copies = kept.map((b) => Uint8Array.from(b));
  expect(kept.map((b) => b.buffer).every((b, i, all) => all.indexOf(b) === i)).toBe(true);
  expect(encoder.encode(frame(4, 10)).buffer).toBe(kept[0].buffer);
  expect(kept.slice(1)).toEqual(copies.slice(1));
});

test('buffers given back serve the next scan', () => {
  const first = new DataFrameEncoder(2);
  const bytes = first.encode(frame(1, 40_000));
  returnFrameBuffers(first.release());
  const next = new DataFrameEncoder(2);
  expect(next.encode(frame(1, 30_000)).buffer).toBe(bytes.buffer);
});
