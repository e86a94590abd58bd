/** ByteBuilder writes integers as String() does, across every digit count and both int32 edges. */
import { expect, it } from 'vitest';
import { ByteBuilder } from '../../src/byte-builder.js';

function written(value: number): string {
  const out = new ByteBuilder(1);
  out.integer(value);
  return Buffer.from(out.bytes()).toString('latin1');
}

it('writes safe integers as String() does', () => {
  const values = [0, -0, 1, -1, 9, 10, 99, 100, 101, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32, 1e8, 1e8 - 1];
  values.push(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1e15, 1e15 + 1, 123456789012345);
  for (let p = 1; p < 1e16; p *= 10) values.push(p - 1, p, p + 1, -p, 7 * p);
  // A fixed spread of magnitudes, so that a failure is the same on every run.
  for (let i = 0; i < 5000; i++) {
    const fraction = ((i * 2654435761) % 1000003) / 1000003;
    values.push(Math.floor(fraction * 2 ** (i % 54)) * (i % 3 ? 1 : -1));
  }
  for (const value of values.filter(Number.isSafeInteger)) expect(written(value)).toBe(String(value));
});

it('appends after what is there, growing as needed', () => {
  const out = new ByteBuilder(1);
  out.text('n=');
  out.integer(-9007199254740991);
  out.byte(0x2c);
  out.integer(42);
  expect(Buffer.from(out.bytes()).toString('latin1')).toBe('n=-9007199254740991,42');
});
