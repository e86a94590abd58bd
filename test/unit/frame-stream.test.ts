import { expect, test } from 'vitest';
import { FrameSplitter, framePrefix } from '../../src/protocol/frame-stream.js';

test('frames come back whole however the byte stream is cut', () => {
  const frames = [0, 1, 3, 4, 5, 100, 70_000, 2].map((n, i) => Buffer.alloc(n, i + 1));
  const stream = Buffer.concat(frames.flatMap((f) => [framePrefix(f.length), f]));
  for (const cut of [1, 2, 3, 5, 7, 64, 4096, 65_536, stream.length]) {
    const splitter = new FrameSplitter();
    const out: Buffer[] = [];
    for (let at = 0; at < stream.length; at += cut) out.push(...splitter.push(stream.subarray(at, at + cut)));
    expect(out).toEqual(frames);
  }
});
