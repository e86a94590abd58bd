/**
 * ArrowStreamEncoder over wire columns as they arrive from NATS: views into a message at any
 * byte offset (a misaligned int64 column must be copied, not refused), and NULLs.
 */
import { tableFromIPC } from 'apache-arrow';
import { expect, it } from 'vitest';
import { ArrowStreamEncoder } from '../../src/arrow/arrow-stream.js';
import { wireRowWriter } from '../../src/scan-client/wire-rows.js';

/** `bytes` placed at an odd offset of a larger buffer, as a msgpack message may hold them. */
function misaligned(bytes: Uint8Array): Buffer {
  const holder = Buffer.alloc(bytes.byteLength + 3);
  holder.set(bytes, 3);
  return holder.subarray(3);
}

const columns = [
  { name: 'id', type: 'BIGINT', wire: 'fixed' as const, width: 8 },
  { name: 'x', type: 'DOUBLE', wire: 'fixed' as const, width: 8 },
];
const ids = misaligned(new Uint8Array(BigInt64Array.of(1n, -2n, 9007199254740993n).buffer));
const xs = misaligned(new Uint8Array(Float64Array.of(0.5, 0, -1e300).buffer));
const wire = [{ data: ids }, { data: xs, nulls: Uint8Array.of(0, 1, 0) }];

it('encodes columns at odd offsets, with their NULLs', () => {
  const encoder = new ArrowStreamEncoder(columns);
  const table = tableFromIPC(Buffer.concat([...encoder.batch(3, wire), ...encoder.end()]));
  expect(table.getChild('id')?.toArray()).toEqual(BigInt64Array.of(1n, -2n, 9007199254740993n));
  expect([...(table.getChild('x') ?? [])]).toEqual([0.5, null, -1e300]);
});

it('lays a batch out around the wire buffers, copying none', () => {
  const text = { name: 's', type: 'VARCHAR', wire: 'varlen' as const };
  const data = misaligned(Buffer.from('abcdé'));
  const strings = { data, offsets: Int32Array.of(0, 1, 1, 3, 6), nulls: Uint8Array.of(0, 1, 0, 0) };
  const encoder = new ArrowStreamEncoder([text, columns[0]]);
  const ints = misaligned(new Uint8Array(BigInt64Array.of(7n, 8n, 9n, 10n).buffer));
  const pieces = encoder.batch(4, [strings, { data: ints }]);
  expect(pieces.filter((p) => p.buffer === data.buffer || p.buffer === ints.buffer)).toHaveLength(2);
  const table = tableFromIPC(Buffer.concat([...pieces, ...encoder.end()]));
  expect([...(table.getChild('s') ?? [])]).toEqual(['a', null, 'bc', 'dé']);
  expect(table.getChild('id')?.toArray()).toEqual(BigInt64Array.of(7n, 8n, 9n, 10n));
});

it('writes NDJSON from columns at odd offsets', () => {
  const text = wireRowWriter('ndjson', columns)?.(3, wire).toString('utf8');
  expect(text).toBe('{"id":1,"x":0.5}\n{"id":-2,"x":null}\n{"id":"9007199254740993","x":-1e+300}\n');
});
