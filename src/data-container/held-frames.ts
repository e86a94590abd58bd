/**
 * The held half of a scan with `keysFirst` (a two-way semi-join): the scan's data frames are
 * made as for sending, but kept; the values of its key columns go first (keys frames), and
 * once the requester's filter of the held rows comes (keys of the tables those keys narrowed),
 * each frame leaves narrowed to the rows whose keys are in it. The rows are read from DuckDB
 * once and filtered here, in the wire form they travel in: holding them in a TEMP table and
 * semi-joining there costs several times more (docs/performance.md).
 *
 * Where the rows pass MAX_HELD_ROWS or MAX_HELD_BYTES (memory stays bounded; keys that many
 * would not fit a filter either), the scan stops holding, and they go at once.
 */
import { type IntegerType, integerType } from '../duckdb/integer-values.js';
import { KeyMembership } from '../duckdb/key-membership.js';
import { QueryError } from '../errors.js';
import { returnFrameBuffers, takeBuffer } from '../protocol/data-frame-encoder.js';
import {
  type ColumnSchema,
  type KeysFrame,
  keySets,
  type ScanFilter,
  type ScanKeys,
  type WireColumn,
} from '../protocol/frames.js';
import { keyValues } from './scan-keys.js';

/**
 * Rows held at most: the keys of more rarely fit a filter (MAX_SCAN_KEY_BYTES, a byte a key at
 * least) or narrow anything, and a requester does not wait for a source that large
 * (reduction-schedule.ts MAX_AWAITED_SOURCE_ROWS): its rows go at once, so that it proves large.
 */
export const MAX_HELD_ROWS = 200_000;
/** Bytes held at most. */
export const MAX_HELD_BYTES = 64 * 1024 * 1024;

/** A data frame kept: its rows, payload bytes and columns. */
export interface KeptFrame {
  rows: number;
  bytes: number;
  columns: WireColumn[];
}

/** A column's index in the scan's output and its integer type, by its name. */
function keyColumn(columns: ColumnSchema[], name: string): { index: number; type: IntegerType } | undefined {
  const index = columns.findIndex((c) => c.name.toLowerCase() === name.toLowerCase());
  const type = index < 0 || columns[index].wire !== 'fixed' ? undefined : integerType(columns[index].type);
  return type && { index, type };
}

/** Bytes a frame's columns take, in the layout they are held in. */
function columnBytes(columns: WireColumn[]): number {
  return columns.reduce(
    (n, c) => n + c.data.byteLength + (c.offsets?.byteLength ?? 0) + (c.nulls?.byteLength ?? 0),
    0,
  );
}

/**
 * A frame's columns copied into `buf` (taken from the frame buffers' pool: fresh memory costs
 * a page fault per 4 KiB on first touch, more than the copy), each array at 8-byte alignment.
 */
function copyInto(buf: Uint8Array, columns: WireColumn[]): WireColumn[] {
  let at = 0;
  // Each at 8-byte alignment: key columns are read as typed arrays, which need it.
  const place = (bytes: Uint8Array): Uint8Array => {
    at = (at + 7) & ~7;
    const view = buf.subarray(at, at + bytes.byteLength);
    view.set(bytes);
    at += bytes.byteLength;
    return view;
  };
  return columns.map((c) => {
    const data = place(c.data);
    const nulls = c.nulls && place(c.nulls);
    let offsets: Int32Array | undefined;
    if (c.offsets) {
      at = (at + 7) & ~7;
      offsets = new Int32Array(buf.buffer, buf.byteOffset + at, c.offsets.length);
      offsets.set(c.offsets);
      at += c.offsets.byteLength;
    }
    return { data, ...(offsets && { offsets }), ...(nulls && { nulls }) };
  });
}

export class HeldFrames {
  private frames: KeptFrame[] = [];
  /** Pooled buffers the frames are held in, given back by release(). */
  private buffers: Uint8Array[] = [];
  rows = 0;
  bytes = 0;

  private constructor(
    private readonly columns: ColumnSchema[],
    private readonly keys: string[],
  ) {}

  /**
   * Frames of a scan with these output columns to hold, for the keys of `keys`; undefined
   * where one is not an integer column of the scan (its rows go at once).
   */
  static for(columns: ColumnSchema[], keys: string[]): HeldFrames | undefined {
    return keys.every((k) => keyColumn(columns, k)) ? new HeldFrames(columns, keys) : undefined;
  }

  /** Keeps a frame (copied: a frame builder reuses its buffers); false where that passes the bounds. */
  add(rows: number, bytes: number, columns: WireColumn[]): boolean {
    if (this.rows + rows > MAX_HELD_ROWS || this.bytes + bytes > MAX_HELD_BYTES) return false;
    // Room for each array's alignment.
    const buf = takeBuffer(columnBytes(columns) + 24 * columns.length);
    this.buffers.push(buf);
    this.frames.push({ rows, bytes, columns: copyInto(buf, columns) });
    this.rows += rows;
    this.bytes += bytes;
    return true;
  }

  /** The frames held, in order (valid until release()). */
  held(): KeptFrame[] {
    return this.frames;
  }

  /** Gives the buffers back to the pool: the frames must have been sent (their bytes copied) by then. */
  release(): void {
    returnFrameBuffers(this.buffers);
    this.buffers = [];
    this.frames = [];
  }

  /**
   * Each key column's values among the rows of each frame held (repeats and NULLs as they
   * are), as keys frames: one per frame and column, lined up row by row. A keysFirst scan's
   * branch codes (BRANCHES_COLUMN, keysFirstBranches) are one more key column, the last.
   */
  keyFrames(): Omit<KeysFrame, 'seq'>[] {
    return this.keys.flatMap((name) => {
      const { index } = keyColumn(this.columns, name) as { index: number };
      return this.frames.map((f) => {
        const { data, nulls } = f.columns[index];
        return {
          type: 'keys' as const,
          column: this.columns[index].name,
          rows: f.rows,
          values: { data, ...(nulls && { nulls }) },
        };
      });
    });
  }

  /**
   * The frames held, each narrowed to the rows whose key columns hold one of the filter's keys
   * (every key set's). A held filter narrows by keys only. Each narrowed frame lives in a
   * scratch buffer until the next is made: it must be sent (copied) before.
   */
  *narrowed(filter: ScanFilter): Generator<KeptFrame> {
    if (filter.where !== undefined) {
      throw new QueryError(
        'bad_request',
        'the filter of held rows narrows them by keys only; a where cannot follow a keysFirst scan',
      );
    }
    const sets = keySets(filter.keys).map((set) => {
      const key = keyColumn(this.columns, set.column);
      if (!key) {
        throw new QueryError(
          'bad_request',
          `the keys of held rows must be for an integer column the scan returns; ${set.column} is not one`,
        );
      }
      return { ...key, membership: KeyMembership.of(fixedKeys(set, key.type), set.rows, key.type) };
    });
    const largest = Math.max(0, ...this.frames.map((f) => columnBytes(f.columns) + 24 * f.columns.length));
    const scratch = takeBuffer(largest);
    try {
      for (const frame of this.frames) {
        const keep = new Uint8Array(frame.rows).fill(1);
        for (const { index, type, membership } of sets) {
          const { data, nulls } = frame.columns[index];
          membership.narrow(keep, data, frame.rows, type);
          if (nulls) for (let i = 0; i < frame.rows; i++) if (nulls[i] === 1) keep[i] = 0;
        }
        yield compacted(frame, this.columns, keep, scratch);
      }
    } finally {
      returnFrameBuffers([scratch]);
    }
  }
}

/** A key set in its column's fixed layout, checked (held keys have no NULLs). */
function fixedKeys(set: ScanKeys, type: IntegerType): Uint8Array {
  const what = `held column ${set.column}`;
  const values = keyValues(set, { wire: 'fixed', width: type.width }, type, what);
  if (values.nulls) {
    throw new QueryError('bad_request', `the keys for ${what} are malformed: keys have no NULLs`);
  }
  return values.data;
}

/** `frame`'s rows where `keep` is 1, in runs of consecutive rows, laid out in `buf`. */
function compacted(frame: KeptFrame, schema: ColumnSchema[], keep: Uint8Array, buf: Uint8Array): KeptFrame {
  const runs: number[] = [];
  let kept = 0;
  for (let i = 0; i < frame.rows; ) {
    if (keep[i] === 0) {
      i++;
      continue;
    }
    const from = i;
    while (i < frame.rows && keep[i] === 1) i++;
    runs.push(from, i);
    kept += i - from;
  }
  if (kept === frame.rows) return frame;
  let at = 0;
  const take = (n: number) => {
    at = (at + 7) & ~7;
    const view = buf.subarray(at, at + n);
    at += n;
    return view;
  };
  let bytes = 0;
  const columns = frame.columns.map((column, c): WireColumn => {
    const given = column.nulls;
    const nulls = given && take(kept);
    if (given && nulls) {
      let to = 0;
      for (let r = 0; r < runs.length; r += 2) {
        nulls.set(given.subarray(runs[r], runs[r + 1]), to);
        to += runs[r + 1] - runs[r];
      }
    }
    bytes += nulls ? kept : 0;
    if (schema[c].wire === 'fixed') {
      const width = schema[c].width as number;
      const data = take(kept * width);
      let to = 0;
      for (let r = 0; r < runs.length; r += 2) {
        data.set(column.data.subarray(runs[r] * width, runs[r + 1] * width), to);
        to += (runs[r + 1] - runs[r]) * width;
      }
      bytes += data.length;
      return { data, ...(nulls && { nulls }) };
    }
    const from = column.offsets as Int32Array;
    let size = 0;
    for (let r = 0; r < runs.length; r += 2) size += from[runs[r + 1]] - from[runs[r]];
    const data = take(size);
    at = (at + 7) & ~7;
    const offsets = new Int32Array(buf.buffer, buf.byteOffset + at, kept + 1);
    offsets[0] = 0;
    at += offsets.byteLength;
    let row = 0;
    let end = 0;
    for (let r = 0; r < runs.length; r += 2) {
      const [a, b] = [runs[r], runs[r + 1]];
      data.set(column.data.subarray(from[a], from[b]), end);
      for (let i = a; i < b; i++) offsets[++row] = end + from[i + 1] - from[a];
      end += from[b] - from[a];
    }
    bytes += data.length + kept * 4;
    return { data, offsets, ...(nulls && { nulls }) };
  });
  return { rows: kept, bytes, columns };
}
