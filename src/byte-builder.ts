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

  clear(): void {
    this.length = 0;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}
