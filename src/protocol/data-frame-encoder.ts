/**
 * Data frames written as msgpack by hand, into buffers that are used again: msgpackr
 * allocates a fresh buffer for every large message, 160 MB of them for a 5M-row scan, which
 * the process gets back only when V8 collects them (a data container's RSS grew by ~1.2 GB
 * over a few scans). Any msgpack reader decodes these frames as it decodes msgpackr's:
 * `data` and `nulls` as binary (msgpackr hands them over as views of the message, without a
 * copy), `offsets` as msgpackr's Int32Array extension.
 */
import type { IntegerType } from '../duckdb/integer-values.js';
import type { ColumnSchema, DataFrame, KeysFrame, WireColumn } from './frames.js';
import { type IntegerPack, packableType, packingOf, writePacked } from './integer-pack.js';

/** How a column goes packed as offsets (integer-pack.ts): its layout and its pack. */
export interface ColumnPacking {
  type: IntegerType;
  pack: IntegerPack;
}

/** How `rows` values of `column` (the schema's `schema`) go packed, where they do. */
export function columnPacking(
  column: WireColumn,
  rows: number,
  schema: ColumnSchema | undefined,
): ColumnPacking | undefined {
  const type = schema && packableType(schema);
  const pack = type && packingOf(column, rows, type);
  return pack && type && { type, pack };
}

const INT32_ARRAY_EXT = 0x74;
/** msgpackr's code for Int32Array within its typed-array extension. */
const INT32_ARRAY_CODE = 5;

class MsgpackWriter {
  at = 0;

  constructor(readonly buf: Uint8Array) {}

  private u32(value: number): void {
    this.buf[this.at++] = value >>> 24;
    this.buf[this.at++] = (value >>> 16) & 0xff;
    this.buf[this.at++] = (value >>> 8) & 0xff;
    this.buf[this.at++] = value & 0xff;
  }

  /** A map header; `keys` ≤ 15. */
  map(keys: number): void {
    this.buf[this.at++] = 0x80 | keys;
  }

  /** A short ASCII string (≤ 31 bytes): the frame's keys and its type. */
  key(text: string): void {
    this.buf[this.at++] = 0xa0 | text.length;
    for (let i = 0; i < text.length; i++) this.buf[this.at++] = text.charCodeAt(i);
  }

  /** A UTF-8 string of any length (str 32). */
  text(value: string): void {
    const bytes = new TextEncoder().encode(value);
    this.buf[this.at++] = 0xdb;
    this.u32(bytes.byteLength);
    this.buf.set(bytes, this.at);
    this.at += bytes.byteLength;
  }

  uint(value: number): void {
    this.buf[this.at++] = 0xce;
    this.u32(value);
  }

  array(length: number): void {
    this.buf[this.at++] = 0xdd;
    this.u32(length);
  }

  bin(bytes: Uint8Array): void {
    this.binHeader(bytes.byteLength);
    this.buf.set(bytes, this.at);
    this.at += bytes.byteLength;
  }

  /** A bin 32 header; its `length` bytes follow, written by the caller. */
  binHeader(length: number): void {
    this.buf[this.at++] = 0xc6;
    this.u32(length);
  }

  /** Any Number, as a float 64 (exact for integers within ±2^53). */
  float(value: number): void {
    this.buf[this.at++] = 0xcb;
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat64(this.at, value);
    this.at += 8;
  }

  int32Array(values: Int32Array): void {
    this.buf[this.at++] = 0xc9;
    this.u32(values.byteLength + 1);
    this.buf[this.at++] = INT32_ARRAY_EXT;
    this.buf[this.at++] = INT32_ARRAY_CODE;
    this.buf.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), this.at);
    this.at += values.byteLength;
  }
}

/** Bytes a frame takes: its payloads, plus a generous bound on everything else. */
function encodedSize(columns: WireColumn[]): number {
  // A keys frame's column name: at most 256 characters, 4 UTF-8 bytes each.
  let size = 64 + 1024;
  for (const c of columns) {
    size += 64 + c.data.byteLength + (c.offsets?.byteLength ?? 0) + (c.nulls?.byteLength ?? 0);
  }
  return size;
}

/**
 * Large frame buffers that scans have finished with, for the next scans: buffers allocated
 * per scan and dropped at its end made V8 run a full GC every few frames (about 50 in six
 * 5M-row scans, against one when the buffers were kept).
 */
const MIN_POOLED_BYTES = 64 * 1024;
const MAX_POOLED_BUFFERS = 32;
const pool: Uint8Array[] = [];

/** A buffer of at least `size` bytes: one scans gave back, or a new one. */
export function takeBuffer(size: number): Uint8Array {
  const found = pool.findIndex((b) => b.byteLength >= size);
  if (found >= 0) return pool.splice(found, 1)[0];
  return new Uint8Array(size);
}

/** Gives buffers back for later scans; the caller must know nothing holds them any more. */
export function returnFrameBuffers(buffers: Uint8Array[]): void {
  for (const b of buffers) {
    if (b.byteLength >= MIN_POOLED_BYTES && pool.length < MAX_POOLED_BUFFERS) pool.push(b);
  }
}

/**
 * Encodes the binary data frames of one scan into `slots` buffers taken in turn: frame `seq`
 * goes into slot `seq % slots`, so a buffer is written again only `slots` frames later. The
 * caller must know by then that the frame it held was sent (NatsFrameSink: it was acked).
 */
export class DataFrameEncoder {
  private readonly buffers: (Uint8Array | undefined)[];

  constructor(private readonly slots: number) {
    this.buffers = new Array(slots);
  }

  /** `packs`: how each column goes packed, where it does (by position; a keys frame's one column). */
  encode(
    frame: (DataFrame & { columns: WireColumn[] }) | KeysFrame,
    packs: (ColumnPacking | undefined)[] = [],
  ): Uint8Array {
    const columns = frame.type === 'data' ? frame.columns : [frame.values];
    const w = this.writer(frame.seq, encodedSize(columns));
    const keys = frame.type === 'keys';
    w.map(keys ? 5 : 4);
    w.key('type');
    w.key(frame.type);
    w.key('seq');
    w.uint(frame.seq);
    if (keys) {
      w.key('column');
      w.text(frame.column);
    }
    w.key('rows');
    w.uint(frame.rows);
    if (keys) {
      w.key('values');
      this.column(w, frame.values, frame.rows, packs[0]);
    } else {
      w.key('columns');
      w.array(frame.columns.length);
      for (const [i, column] of frame.columns.entries()) this.column(w, column, frame.rows, packs[i]);
    }
    return w.buf.subarray(0, w.at);
  }

  /** A writer into frame `seq`'s slot, of at least `size` bytes. */
  private writer(seq: number, size: number): MsgpackWriter {
    const slot = seq % this.slots;
    let buf = this.buffers[slot];
    if (!buf || buf.byteLength < size) {
      buf = takeBuffer(size);
      this.buffers[slot] = buf;
    }
    return new MsgpackWriter(buf);
  }

  private column(w: MsgpackWriter, column: WireColumn, rows: number, packing?: ColumnPacking): void {
    w.map(1 + (column.offsets ? 1 : 0) + (column.nulls ? 1 : 0) + (packing ? 1 : 0));
    w.key('data');
    if (packing) {
      const length = rows * packing.pack.width;
      w.binHeader(length);
      writePacked(w.buf.subarray(w.at, w.at + length), column, rows, packing.type, packing.pack);
      w.at += length;
      w.key('pack');
      w.map(2);
      w.key('width');
      w.uint(packing.pack.width);
      w.key('base');
      w.float(packing.pack.base);
    } else {
      w.bin(column.data);
    }
    if (column.offsets) {
      w.key('offsets');
      w.int32Array(column.offsets);
    }
    if (column.nulls) {
      w.key('nulls');
      w.bin(column.nulls);
    }
  }

  /** The buffers used, for returnFrameBuffers once the frames in them are known sent. */
  release(): Uint8Array[] {
    const used = this.buffers.filter((b): b is Uint8Array => b !== undefined);
    this.buffers.fill(undefined);
    return used;
  }
}
