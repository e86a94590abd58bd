/**
 * Frame encoding. msgpack (with typed arrays kept as typed arrays) is the default; JSON is
 * used when the request itself was JSON so that humans can use `nats req`.
 */
import { Packr } from 'msgpackr';

export type Encoding = 'msgpack' | 'json';

const packr = new Packr({ moreTypes: true, useRecords: false, int64AsType: 'bigint' });

export function encode(value: unknown, encoding: Encoding): Uint8Array {
  if (encoding === 'json') return Buffer.from(JSON.stringify(value));
  return packr.pack(value);
}

export function decode(bytes: Uint8Array, encoding: Encoding): unknown {
  if (encoding === 'json')
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  return packr.unpack(bytes);
}

/** A request whose first non-blank byte opens a JSON object or array is JSON; anything else msgpack. */
export function detectEncoding(bytes: Uint8Array): Encoding {
  for (const b of bytes) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x7b || b === 0x5b ? 'json' : 'msgpack';
  }
  return 'json';
}
