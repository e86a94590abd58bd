/** A frame larger than one message goes in parts and comes back whole; a part out of place is an error. */
import { describe, expect, it } from 'vitest';
import { decode, type Encoding, encode } from '../../src/protocol/codec.js';
import { PartJoiner, splitFrame } from '../../src/protocol/frame-parts.js';
import type { PartMessage } from '../../src/protocol/frames.js';

const frame = { type: 'data', seq: 3, rows: 1, values: [[7, 'é'.repeat(100_000)]] };

describe.each(['msgpack', 'json'] as Encoding[])('%s', (encoding) => {
  const bytes = encode(frame, encoding);
  const parts = splitFrame(bytes, 3, encoding, 16 * 1024);
  const decoded = parts.map((p) => decode(p, encoding) as PartMessage);

  it('every part fits the message size, and they join into the frame', () => {
    expect(parts.length).toBeGreaterThan(10);
    for (const p of parts) expect(p.byteLength).toBeLessThanOrEqual(16 * 1024);
    const joiner = new PartJoiner();
    const results = decoded.map((p) => joiner.add(p, encoding));
    expect(results.slice(0, -1).every((r) => r === undefined)).toBe(true);
    expect(results.at(-1)).toEqual(frame);
    expect(joiner.pending).toBe(false);
  });

  it('a lost part is an error, never a short frame', () => {
    const joiner = new PartJoiner();
    joiner.add(decoded[0], encoding);
    expect(() => joiner.add(decoded[2], encoding)).toThrow(/arrived where frame 3's byte \d+ was due/);
    expect(() => new PartJoiner().add(decoded[1], encoding)).toThrow(/first parts were lost/);
  });
});
