/**
 * Frames over a byte stream (POST /scan): each frame is a 4-byte big-endian length and the
 * encoded frame. The response's content type names the encoding.
 */
import type { Encoding } from './codec.js';

export const FRAME_STREAM_CONTENT_TYPE = 'application/x-duckdb-frames';

export function frameStreamContentType(encoding: Encoding): string {
  return `${FRAME_STREAM_CONTENT_TYPE}; encoding=${encoding}`;
}

export function framePrefix(length: number): Buffer {
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeUInt32BE(length);
  return prefix;
}

/** Cuts a byte stream back into frames, copying each byte at most once. */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** The whole frames completed by `chunk`, in order. */
  push(chunk: Uint8Array): Buffer[] {
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.byteLength;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) return frames;
      const head = this.chunks[0].byteLength >= 4 ? this.chunks[0] : this.take(4, false);
      const length = head.readUInt32BE(0);
      if (this.buffered < 4 + length) return frames;
      frames.push(this.take(4 + length, true).subarray(4));
    }
  }

  /** The first `n` buffered bytes as one buffer; `consume` removes them. */
  private take(n: number, consume: boolean): Buffer {
    const joined = this.chunks[0].byteLength >= n ? this.chunks[0] : Buffer.concat(this.chunks);
    const taken = joined.subarray(0, n);
    if (!consume) {
      this.chunks = [joined];
      return taken;
    }
    const rest = joined.subarray(n);
    const index = this.chunks[0] === joined ? 1 : this.chunks.length;
    this.chunks = rest.byteLength > 0 ? [rest, ...this.chunks.slice(index)] : this.chunks.slice(index);
    this.buffered -= n;
    return taken;
  }
}
