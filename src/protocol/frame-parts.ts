/**
 * A frame larger than one message travels as `part` messages (frames.ts): the sender cuts
 * the frame's encoding into pieces that each fit a message, the receiver joins them.
 */
import { decode, type Encoding, encode } from './codec.js';
import type { PartMessage } from './frames.js';

/** What a part message adds to its piece of the frame: its keys, numbers and lengths. */
const PART_OVERHEAD = 128;

/** The messages that carry `bytes`, the encoding of frame `seq`, each at most `maxMessage` bytes. */
export function splitFrame(
  bytes: Uint8Array,
  seq: number,
  encoding: Encoding,
  maxMessage: number,
): Uint8Array[] {
  const room = Math.max(1, maxMessage - PART_OVERHEAD);
  // base64 takes 4 characters for every 3 bytes.
  const piece = encoding === 'json' ? Math.max(3, Math.floor(room / 4) * 3) : room;
  const parts: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; at += piece) {
    const slice = Buffer.from(bytes.buffer, bytes.byteOffset + at, Math.min(piece, bytes.byteLength - at));
    const part: PartMessage = {
      type: 'part',
      seq,
      at,
      of: bytes.byteLength,
      ...(encoding === 'json' ? { base64: slice.toString('base64') } : { bytes: slice }),
    };
    parts.push(encode(part, encoding));
  }
  return parts;
}

/** Joins the parts of one frame at a time; says what is wrong with a part that does not follow. */
export class PartJoiner {
  private seq = -1;
  private pieces: Buffer[] = [];
  private received = 0;
  private total = 0;

  /** A part of frame `seq` is pending. */
  get pending(): boolean {
    return this.seq >= 0;
  }

  /**
   * Adds `part`; returns the decoded frame once its last part is in, undefined before. Throws
   * an Error (its message says why) for a part out of place.
   */
  add(part: PartMessage, encoding: Encoding): unknown {
    const piece = encoding === 'json' ? Buffer.from(String(part.base64 ?? ''), 'base64') : part.bytes;
    if (!(piece instanceof Uint8Array) || typeof part.at !== 'number' || typeof part.of !== 'number') {
      throw new Error(`part of frame ${part.seq} is malformed`);
    }
    if (!this.pending) {
      if (part.at !== 0)
        throw new Error(`frame ${part.seq} began at byte ${part.at}: its first parts were lost`);
      this.seq = part.seq;
      this.total = part.of;
    } else if (part.seq !== this.seq || part.at !== this.received || part.of !== this.total) {
      throw new Error(
        `part of frame ${part.seq} at byte ${part.at} arrived where frame ${this.seq}'s byte ${this.received} was due`,
      );
    }
    this.pieces.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
    this.received += piece.byteLength;
    if (this.received > this.total)
      throw new Error(`frame ${this.seq} has more bytes than its ${this.total}`);
    if (this.received < this.total) return undefined;
    const bytes = Buffer.concat(this.pieces);
    this.seq = -1;
    this.pieces = [];
    this.received = 0;
    return decode(bytes, encoding);
  }
}
