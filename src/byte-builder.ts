/** "00" to "99": two digits per division. */
const DIGIT_PAIRS = Uint8Array.from(
  { length: 200 },
  (_, i) => 0x30 + (i & 1 ? (i >> 1) % 10 : Math.floor(i / 20)),
);

/** Digits of 0 <= value < 2^31. */
function digitCount(value: number): number {
  if (value < 100_000) return value < 100 ? (value < 10 ? 1 : 2) : value < 1000 ? 3 : value < 10_000 ? 4 : 5;
  if (value < 10_000_000) return value < 1_000_000 ? 6 : 7;
  return value < 100_000_000 ? 8 : value < 1_000_000_000 ? 9 : 10;
}

/** The digits of 0 <= value < 2^31, ending just before `end`. */
function writeDigits(buf: Uint8Array, end: number, value: number): void {
  let at = end;
  let rest = value;
  while (rest >= 100) {
    const next = (rest / 100) | 0;
    const pair = (rest - next * 100) << 1;
    buf[--at] = DIGIT_PAIRS[pair + 1];
    buf[--at] = DIGIT_PAIRS[pair];
    rest = next;
  }
  if (rest >= 10) {
    buf[--at] = DIGIT_PAIRS[(rest << 1) + 1];
    buf[--at] = DIGIT_PAIRS[rest << 1];
  } else buf[--at] = 0x30 + rest;
}

/** A byte buffer that grows geometrically and is reused: `clear()` keeps its memory. */
export class ByteBuilder {
  buf: Uint8Array;
  length = 0;

  constructor(initial: number) {
    this.buf = new Uint8Array(Math.max(64, initial));
  }

  /** Makes room for `extra` more bytes; `buf` may be a new array afterwards. */
  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  /** Short byte strings (keys, `null`): a loop beats a native call each. */
  short(source: Uint8Array): void {
    this.reserve(source.length);
    const buf = this.buf;
    let at = this.length;
    for (let i = 0; i < source.length; i++) buf[at++] = source[i];
    this.length = at;
  }

  /** Text as UTF-8: ASCII (numbers, dates) byte by byte, anything else through Buffer. */
  text(text: string): void {
    this.reserve(text.length * 3);
    const buf = this.buf;
    let at = this.length;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) {
        this.length += Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).write(
          text,
          this.length,
          'utf8',
        );
        return;
      }
      buf[at++] = code;
    }
    this.length = at;
  }

  /** A safe integer's decimal digits, as String(value) writes them (-0 as 0), with no string between. */
  integer(value: number): void {
    this.reserve(17);
    const buf = this.buf;
    let at = this.length;
    let rest = value;
    if (rest < 0) {
      buf[at++] = 0x2d; // -
      rest = -rest;
    }
    if (rest < 2 ** 31) {
      this.length = at + digitCount(rest);
      writeDigits(buf, this.length, rest);
      return;
    }
    // Above int32, the last 8 digits apart: each part stays in int32 arithmetic.
    const high = Math.floor(rest / 1e8);
    this.length = at + digitCount(high) + 8;
    writeDigits(buf, this.length - 8, high);
    let low = rest - high * 1e8;
    for (let end = this.length; end > this.length - 8; end -= 2) {
      const next = (low / 100) | 0;
      const pair = (low - next * 100) << 1;
      buf[end - 1] = DIGIT_PAIRS[pair + 1];
      buf[end - 2] = DIGIT_PAIRS[pair];
      low = next;
    }
  }

  clear(): void {
    this.length = 0;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}
