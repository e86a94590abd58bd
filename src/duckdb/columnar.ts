/**
 * DuckDB chunks ⇄ wire columns, without turning values into JS values.
 *
 * Fixed-width columns travel as DuckDB's own in-memory bytes (copied with one memcpy each
 * way); VARCHAR/BLOB as one byte buffer plus offsets; everything else (nested, ENUM, BIT…)
 * as DuckDB's VARCHAR cast of the value, cast back by the receiver. Both ends run the same
 * DuckDB build, so the byte layout agrees; the receiver still checks sizes.
 */
import { DuckDBDataChunk, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { ByteBuilder } from '../byte-builder.js';
import type { ColumnSchema, WireColumn } from '../protocol/frames.js';
import type { WireLayout } from '../protocol/wire-check.js';

const FIXED_WIDTH: Partial<Record<DuckDBTypeId, number>> = {
  [DuckDBTypeId.BOOLEAN]: 1,
  [DuckDBTypeId.TINYINT]: 1,
  [DuckDBTypeId.UTINYINT]: 1,
  [DuckDBTypeId.SMALLINT]: 2,
  [DuckDBTypeId.USMALLINT]: 2,
  [DuckDBTypeId.INTEGER]: 4,
  [DuckDBTypeId.UINTEGER]: 4,
  [DuckDBTypeId.DATE]: 4,
  [DuckDBTypeId.FLOAT]: 4,
  [DuckDBTypeId.BIGINT]: 8,
  [DuckDBTypeId.UBIGINT]: 8,
  [DuckDBTypeId.DOUBLE]: 8,
  [DuckDBTypeId.TIME]: 8,
  [DuckDBTypeId.TIME_NS]: 8,
  [DuckDBTypeId.TIME_TZ]: 8,
  [DuckDBTypeId.TIMESTAMP]: 8,
  [DuckDBTypeId.TIMESTAMP_S]: 8,
  [DuckDBTypeId.TIMESTAMP_MS]: 8,
  [DuckDBTypeId.TIMESTAMP_NS]: 8,
  [DuckDBTypeId.TIMESTAMP_TZ]: 8,
  [DuckDBTypeId.INTERVAL]: 16,
  [DuckDBTypeId.HUGEINT]: 16,
  [DuckDBTypeId.UHUGEINT]: 16,
  [DuckDBTypeId.UUID]: 16,
};

/** DuckDB stores a DECIMAL in the smallest integer that holds its width. */
function decimalWidth(precision: number): number {
  if (precision <= 4) return 2;
  if (precision <= 9) return 4;
  if (precision <= 18) return 8;
  return 16;
}

export { checkWireColumns, type WireLayout } from '../protocol/wire-check.js';

export function wireLayoutFor(type: DuckDBType): WireLayout {
  if (type.typeId === DuckDBTypeId.VARCHAR || type.typeId === DuckDBTypeId.BLOB) return { wire: 'varlen' };
  if (type.typeId === DuckDBTypeId.DECIMAL) {
    return { wire: 'fixed', width: decimalWidth((type as unknown as { width: number }).width) };
  }
  const width = FIXED_WIDTH[type.typeId];
  return width === undefined ? { wire: 'text' } : { wire: 'fixed', width };
}

export function columnSchemaFor(name: string, type: DuckDBType): ColumnSchema {
  return { name, type: type.toString(), ...wireLayoutFor(type) };
}

/** The validity bytes of a vector's first `rows` rows (bit per row, 1 = valid), or null when all are valid. */
function validityOf(vector: duckdb.Vector, rows: number): Uint8Array | null {
  return duckdb.vector_get_validity(vector, Math.ceil(rows / 64) * 8);
}

/** Validity bytes of column `column` of `chunk`, as `validityOf`. */
export function columnValidity(chunk: DuckDBDataChunk, column: number, rows: number): Uint8Array | null {
  return validityOf(rawVector(chunk, column), rows);
}

function rawVector(chunk: DuckDBDataChunk, column: number): duckdb.Vector {
  return duckdb.data_chunk_get_vector((chunk as unknown as { chunk: duckdb.DataChunk }).chunk, column);
}

/** The heap pointer of a long duckdb_string_t at byte `at` (user-space pointers fit in 2^53). */
function pointerAt(view: DataView, at: number): number {
  return view.getUint32(at + 8, true) + view.getUint32(at + 12, true) * 2 ** 32;
}

function ascending(rows: number[], keys: Float64Array): boolean {
  for (let k = 1; k < rows.length; k++) if (keys[rows[k]] < keys[rows[k - 1]]) return false;
  return true;
}

/** Bytes between two strings that a run may read through: under a page, so always mapped. */
const MAX_GAP = 4096;
const MAX_RUN = 16 * 1024 * 1024;

interface HeapRuns {
  runs: Uint8Array[];
  /** Heap address of each run's first byte. */
  starts: number[];
  /** Run index of each long string's row. */
  runOf: Int32Array;
}

/**
 * Copies the long strings of a VARCHAR vector out of DuckDB's string heap in a few calls:
 * strings sit mostly side by side in the heap, so runs of them (sorted by address, merged
 * where the gap is under a page — memory between two mapped addresses less than a page
 * apart is mapped) are fetched with one get_data_from_pointer each. The pointer it reads is
 * written into a small buffer of our own, so the call reads only the runs' bytes. Rows
 * [from, to) of the vector.
 */
function readHeapRuns(view: DataView, from: number, to: number, validity: Uint8Array | null): HeapRuns {
  const rows: number[] = [];
  for (let i = from; i < to; i++) {
    if (isValid(validity, i) && view.getUint32(i * 16, true) > 12) rows.push(i);
  }
  const result: HeapRuns = { runs: [], starts: [], runOf: new Int32Array(to) };
  if (rows.length === 0) return result;
  const pointers = new Float64Array(to);
  for (const i of rows) pointers[i] = pointerAt(view, i * 16);
  // A materialized result mostly lays its strings out in row order: sort only when not.
  if (!ascending(rows, pointers)) rows.sort((a, b) => pointers[a] - pointers[b]);
  const address = new DataView(new ArrayBuffer(8));
  const fetchRun = (start: number, end: number) => {
    address.setUint32(0, start % 2 ** 32, true);
    address.setUint32(4, Math.floor(start / 2 ** 32), true);
    result.runs.push(duckdb.get_data_from_pointer(address.buffer, 0, end - start));
    result.starts.push(start);
  };
  let start = pointers[rows[0]];
  let end = start;
  for (const i of rows) {
    const p = pointers[i];
    const e = p + view.getUint32(i * 16, true);
    if (p > end + MAX_GAP || e - start > MAX_RUN) {
      fetchRun(start, end);
      start = p;
      end = e;
    } else {
      end = Math.max(end, e);
    }
    result.runOf[i] = result.runs.length;
  }
  fetchRun(start, end);
  return result;
}

function grown<T extends Uint8Array | Int32Array>(array: T, size: number, make: (n: number) => T): T {
  if (array.length >= size) return array;
  const next = make(Math.max(size, array.length * 2));
  next.set(array);
  return next;
}

/** Whether `row` is non-NULL in DuckDB validity bytes (null bytes: every row is valid). */
export function isValid(validity: Uint8Array | null, row: number): boolean {
  return !validity || (validity[row >> 3] & (1 << (row & 7))) !== 0;
}

/** A Buffer over the same memory, for Node's fast native UTF-8 slicing. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Calls `visit` for rows [0, rows) of VARCHAR column `column` of `chunk` with each string's
 * UTF-8 bytes, `source[from, to)` (`source` null for NULL), read in bulk: inline strings
 * from the copied structs, long ones from a few copied heap runs.
 */
export function visitStrings(
  chunk: DuckDBDataChunk,
  column: number,
  rows: number,
  visit: (row: number, source: Buffer | null, from: number, to: number) => void,
): void {
  const vector = rawVector(chunk, column);
  const validity = validityOf(vector, rows);
  const raw = duckdb.vector_get_data(vector, rows * 16);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const heap = readHeapRuns(view, 0, rows, validity);
  const inline = asBuffer(raw);
  const runs = heap.runs.map(asBuffer);
  for (let i = 0; i < rows; i++) {
    if (!isValid(validity, i)) {
      visit(i, null, 0, 0);
      continue;
    }
    const at = i * 16;
    const len = view.getUint32(at, true);
    if (len <= 12) visit(i, inline, at + 4, at + 4 + len);
    else {
      const run = heap.runOf[i];
      const from = pointerAt(view, at) - heap.starts[run];
      visit(i, runs[run], from, from + len);
    }
  }
}

/** Where each string of a VARCHAR column lies: `sources[row]` (null for NULL) from `froms[row]` to `tos[row]`. */
export interface StringSpans {
  sources: (Buffer | null)[];
  froms: Int32Array;
  tos: Int32Array;
}

/** The spans of rows [0, rows) of VARCHAR column `column` (visitStrings, kept for writing row by row). */
export function stringSpans(chunk: DuckDBDataChunk, column: number, rows: number): StringSpans {
  const spans: StringSpans = {
    sources: new Array(rows),
    froms: new Int32Array(rows),
    tos: new Int32Array(rows),
  };
  visitStrings(chunk, column, rows, (row, source, from, to) => {
    spans.sources[row] = source;
    spans.froms[row] = from;
    spans.tos[row] = to;
  });
  return spans;
}

/** Rows [0, rows) of VARCHAR column `column` of `chunk` as strings (null for NULL), read in bulk. */
export function readStringColumn(chunk: DuckDBDataChunk, column: number, rows: number): (string | null)[] {
  const out: (string | null)[] = new Array(rows);
  visitStrings(chunk, column, rows, (i, source, from, to) => {
    out[i] = source === null ? null : source.toString('utf8', from, to);
  });
  return out;
}

/** The 32-bit words of a copied duckdb_string_t array (length first), aligned for a Uint32Array. */
function stringWords(raw: Uint8Array): Uint32Array {
  const aligned = raw.byteOffset % 4 === 0 ? raw : raw.slice();
  return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >> 2);
}

/** One column of one chunk, read from DuckDB once for measuring and appending its rows. */
interface ChunkColumn {
  vector: duckdb.Vector;
  validity: Uint8Array | null;
  /** varlen/text: the chunk's duckdb_string_t structs, and their 32-bit words. */
  raw?: Uint8Array;
  words?: Uint32Array;
  /** varlen/text: bytes of all the chunk's strings, and whether any is stored out of line. */
  stringBytes?: number;
  anyLong?: boolean;
}

/** Bytes of the strings of rows [from, to), and whether any is longer than 12 (out of line). */
function stringSpan(words: Uint32Array, validity: Uint8Array | null, from: number, to: number) {
  let bytes = 0;
  let anyLong = false;
  for (let i = from; i < to; i++) {
    if (validity && !isValid(validity, i)) continue;
    const len = words[i * 4];
    bytes += len;
    if (len > 12) anyLong = true;
  }
  return { bytes, anyLong };
}

/**
 * Accumulates one column of a frame from successive DuckDB chunks. Its buffers are reused
 * from frame to frame, so what `finish()` returns is valid only until the next append.
 */
class ColumnBuilder {
  private readonly data: ByteBuilder;
  private offsets: Int32Array;
  /** One byte per row, 1 = NULL; allocated at the first NULL, cleared between frames. */
  private nulls: Uint8Array | undefined;
  private hasNulls = false;
  private rows = 0;

  constructor(
    private readonly layout: WireLayout,
    expectedRows: number,
  ) {
    this.data = new ByteBuilder(expectedRows * (layout.wire === 'fixed' ? (layout.width as number) : 16));
    this.offsets = new Int32Array(layout.wire === 'fixed' ? 0 : expectedRows + 1);
  }

  get byteLength(): number {
    return (
      this.data.length + (this.layout.wire === 'fixed' ? 0 : this.rows * 4) + (this.hasNulls ? this.rows : 0)
    );
  }

  /** Column `vector` of a chunk of `count` rows, read for `bytesOf` and `appendRows`. */
  read(vector: duckdb.Vector, count: number): ChunkColumn {
    const validity = validityOf(vector, count);
    if (this.layout.wire === 'fixed') return { vector, validity };
    const raw = duckdb.vector_get_data(vector, count * 16);
    const words = stringWords(raw);
    const { bytes, anyLong } = stringSpan(words, validity, 0, count);
    return { vector, validity, raw, words, stringBytes: bytes, anyLong };
  }

  /** Bytes rows [from, to) of a chunk of `count` add to the frame, NULL bytes aside. */
  bytesOf(column: ChunkColumn, from: number, to: number, count: number): number {
    if (this.layout.wire === 'fixed') return (to - from) * (this.layout.width as number);
    const strings =
      from === 0 && to === count
        ? (column.stringBytes as number)
        : stringSpan(column.words as Uint32Array, column.validity, from, to).bytes;
    return (to - from) * 4 + strings;
  }

  /** Bytes row `row` adds to the frame, its NULL byte aside. */
  rowBytes(column: ChunkColumn, row: number): number {
    if (this.layout.wire === 'fixed') return this.layout.width as number;
    return 4 + (isValid(column.validity, row) ? (column.words as Uint32Array)[row * 4] : 0);
  }

  /** Appends rows [from, to) of the chunk `column` was read from. */
  appendRows(column: ChunkColumn, from: number, to: number): void {
    const count = to - from;
    const { validity } = column;
    if (this.hasNulls)
      this.nulls = grown(this.nulls as Uint8Array, this.rows + count, (n) => new Uint8Array(n));
    if (validity) this.markNulls(validity, from, to);
    if (this.layout.wire === 'fixed') {
      const width = this.layout.width as number;
      const bytes = duckdb.vector_get_data(column.vector, to * width);
      this.data.append(from === 0 ? bytes : bytes.subarray(from * width));
    } else {
      this.appendStrings(column, from, to);
    }
    this.rows += count;
  }

  private markNulls(validity: Uint8Array, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      if (!isValid(validity, i)) {
        if (!this.hasNulls) {
          this.nulls = grown(
            this.nulls ?? new Uint8Array(0),
            Math.max(this.rows + to - from, 8192),
            (n) => new Uint8Array(n),
          );
          this.hasNulls = true;
        }
        (this.nulls as Uint8Array)[this.rows + i - from] = 1;
      }
    }
  }

  /**
   * duckdb_string_t: a 4-byte length, then 12 inline bytes, or a 4-byte prefix and a pointer
   * into the vector's string heap. Long strings are copied out in runs (see readHeapRuns):
   * one native call per run instead of one per string. One pass sizes the output, so the
   * copy loop writes straight into the buffer. Long strings that follow each other in the
   * heap as in the output (a materialized result stores them in row order) are copied as
   * one span: a copy per string cost more than the bytes it moved.
   */
  private appendStrings(column: ChunkColumn, from: number, to: number): void {
    const { validity } = column;
    const raw = column.raw as Uint8Array;
    const words = column.words as Uint32Array;
    const whole = from === 0 && to * 16 === raw.byteLength;
    const { bytes: total, anyLong } = whole
      ? { bytes: column.stringBytes as number, anyLong: column.anyLong as boolean }
      : stringSpan(words, validity, from, to);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const heap = anyLong ? readHeapRuns(view, from, to, validity) : undefined;
    // Row i of the chunk is row `base + i` of the frame.
    const base = this.rows - from;
    this.offsets = grown(this.offsets, this.rows + to - from + 1, (n) => new Int32Array(n));
    const offsets = this.offsets;
    // 12 bytes of slack: an inline string is written as its three whole words.
    this.data.reserve(total + 12);
    const buf = this.data.buf;
    const out = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = this.data.length;
    // The span of long strings not copied yet: bytes [spanFrom, spanTo) of run spanRun, for output at spanAt.
    let spanRun = -1;
    let spanFrom = 0;
    let spanTo = 0;
    let spanAt = 0;
    for (let i = from; i < to; i++) {
      if (isValid(validity, i)) {
        const len = words[i * 4];
        if (len <= 12) {
          out.setUint32(at, words[i * 4 + 1], true);
          out.setUint32(at + 4, words[i * 4 + 2], true);
          out.setUint32(at + 8, words[i * 4 + 3], true);
        } else {
          const { runs, starts, runOf } = heap as HeapRuns;
          const run = runOf[i];
          const start = pointerAt(view, i * 16) - starts[run];
          if (run !== spanRun || start !== spanTo || at !== spanAt + (spanTo - spanFrom)) {
            if (spanRun >= 0) buf.set(runs[spanRun].subarray(spanFrom, spanTo), spanAt);
            spanRun = run;
            spanFrom = start;
            spanAt = at;
          }
          spanTo = start + len;
        }
        at += len;
      }
      offsets[base + i + 1] = at;
    }
    // Inline strings wrote whole words past their end; the span's bytes land after them.
    if (spanRun >= 0) buf.set((heap as HeapRuns).runs[spanRun].subarray(spanFrom, spanTo), spanAt);
    this.data.length = at;
  }

  /**
   * The column's bytes go out as Buffers, which msgpack writes as plain binary: a receiver
   * decodes those as views of the message, where a typed array's extension is copied out.
   */
  finish(): WireColumn {
    const column: WireColumn = { data: asBuffer(this.data.bytes()) };
    if (this.layout.wire !== 'fixed') column.offsets = this.offsets.subarray(0, this.rows + 1);
    if (this.hasNulls) column.nulls = asBuffer((this.nulls as Uint8Array).subarray(0, this.rows));
    return column;
  }

  /** Empties the column for the next frame, keeping its buffers. */
  clear(): void {
    if (this.hasNulls) (this.nulls as Uint8Array).fill(0, 0, this.rows);
    this.hasNulls = false;
    this.data.clear();
    this.rows = 0;
  }
}

/**
 * Buffers start at one vector's rows and grow as needed, kept from frame to frame: a small
 * answer (most pushed queries) must not pay for allocating and touching a whole frame.
 */
const MAX_INITIAL_ROWS = 2048;

/**
 * Packs successive DuckDB chunks into frames of about `targetBytes`, and never over
 * `limitBytes` but for a single row larger than that (the transport splits such a frame):
 * a chunk that would take the frame over the limit is cut by rows. The buffers are reused:
 * a frame from `take()` must be encoded (or copied) before the next `append`.
 */
export class FrameBuilder {
  private readonly builders: ColumnBuilder[];
  /** The last frame taken still lives in the buffers; they are cleared at the next append. */
  private taken = false;
  rows = 0;

  /** `vectors`: the chunk column each layout reads (default: the layout's own position). */
  constructor(
    layouts: WireLayout[],
    private readonly targetBytes: number,
    private readonly limitBytes = Number.POSITIVE_INFINITY,
    private readonly vectors?: number[],
  ) {
    // Rows of a frame if every value took 8 bytes: buffers start near their final size.
    const rows = Math.min(Math.ceil(targetBytes / Math.max(8, 8 * layouts.length)), MAX_INITIAL_ROWS);
    this.builders = layouts.map((l) => new ColumnBuilder(l, rows));
  }

  get byteLength(): number {
    if (this.taken) return 0;
    let total = 0;
    for (const b of this.builders) total += b.byteLength;
    return total;
  }

  get full(): boolean {
    return this.byteLength >= this.targetBytes;
  }

  /**
   * Appends rows of `chunk` from row `from` on: all of them where the frame stays within its
   * limit, else as many as fill it to its target (at least one into an empty frame). Returns
   * how many it took; the caller takes the frame and appends the rest to the next.
   */
  append(chunk: DuckDBDataChunk, from = 0): number {
    const count = chunk.rowCount;
    if (this.taken) {
      for (const b of this.builders) b.clear();
      this.taken = false;
    }
    const columns = this.builders.map((b, c) => b.read(rawVector(chunk, this.vectors?.[c] ?? c), count));
    let to = count;
    if (this.limitBytes !== Number.POSITIVE_INFINITY) {
      const current = this.byteLength;
      // A NULL byte per value, counted whether or not the column has NULLs.
      let rest = (count - from) * this.builders.length;
      for (let c = 0; c < columns.length; c++)
        rest += this.builders[c].bytesOf(columns[c], from, count, count);
      if (current + rest > this.limitBytes)
        to = from + this.rowsWithin(columns, from, count, this.targetBytes - current);
    }
    for (let c = 0; c < columns.length; c++) this.builders[c].appendRows(columns[c], from, to);
    this.rows += to - from;
    return to - from;
  }

  /** Rows of [from, count) whose bytes fit in `budget`; at least one when the frame is empty. */
  private rowsWithin(columns: ChunkColumn[], from: number, count: number, budget: number): number {
    let used = 0;
    let row = from;
    for (; row < count; row++) {
      let bytes = this.builders.length;
      for (let c = 0; c < columns.length; c++) bytes += this.builders[c].rowBytes(columns[c], row);
      if (used + bytes > budget) break;
      used += bytes;
    }
    return row === from && this.rows === 0 ? 1 : row - from;
  }

  /** The accumulated columns, views of the builder's buffers (valid until the next append). */
  take(): { rows: number; columns: WireColumn[] } {
    const out = { rows: this.rows, columns: this.builders.map((b) => b.finish()) };
    this.taken = true;
    this.rows = 0;
    return out;
  }
}

/**
 * Each of `chunks` whole in the wire layouts of `layouts`: the columns a data frame of its rows
 * would carry, read as the frames of a source are (valid until the next is taken).
 */
export function* wireFrames(
  chunks: Iterable<DuckDBDataChunk>,
  layouts: WireLayout[],
  targetBytes: number,
): Generator<{ rows: number; columns: WireColumn[] }> {
  const builder = new FrameBuilder(layouts, targetBytes);
  for (const chunk of chunks) {
    builder.append(chunk);
    yield builder.take();
  }
}

const VECTOR_SIZE = duckdb.vector_size();

/**
 * Writes `rows` rows of wire columns into DuckDB chunks from `nextChunk` (with the receiving
 * table's column types; `text` columns are VARCHAR there), a slice of up to 2,048 rows each,
 * and hands each to `append`. Call `checkWireColumns` first.
 */
export function writeWireColumns(
  layouts: WireLayout[],
  columns: WireColumn[],
  rows: number,
  nextChunk: () => DuckDBDataChunk,
  append: (chunk: DuckDBDataChunk) => void,
): void {
  for (let start = 0; start < rows; start += VECTOR_SIZE) {
    const n = Math.min(VECTOR_SIZE, rows - start);
    const chunk = nextChunk();
    chunk.reset();
    chunk.rowCount = n;
    for (let c = 0; c < columns.length; c++) {
      writeColumnSlice(rawVector(chunk, c), layouts[c], columns[c], start, n);
    }
    append(chunk);
  }
}

/**
 * For `writeWireColumns` when each chunk is copied as soon as it is appended (an appender
 * copies): one chunk, created at first use, is handed out again and again.
 */
export function reusedChunk(types: DuckDBType[]): () => DuckDBDataChunk {
  let chunk: DuckDBDataChunk | undefined;
  return () => {
    chunk ??= DuckDBDataChunk.create(types);
    return chunk;
  };
}

function writeColumnSlice(
  vector: duckdb.Vector,
  layout: WireLayout,
  column: WireColumn,
  start: number,
  n: number,
): void {
  const nulls = column.nulls;
  if (layout.wire === 'fixed') {
    const width = layout.width as number;
    const bytes = column.data;
    duckdb.copy_data_to_vector(
      vector,
      0,
      bytes.buffer as ArrayBuffer,
      bytes.byteOffset + start * width,
      n * width,
    );
  } else {
    writeStrings(vector, column, start, n);
  }
  if (nulls) {
    // DuckDB's validity mask: one bit per row, 1 = valid, in 64-bit little-endian words.
    const validity = new Uint8Array(Math.ceil(n / 64) * 8).fill(0xff);
    for (let i = 0; i < n; i++) {
      if (nulls[start + i]) validity[i >> 3] &= ~(1 << (i & 7));
    }
    duckdb.vector_ensure_validity_writable(vector);
    duckdb.copy_data_to_vector_validity(vector, 0, validity.buffer, 0, validity.byteLength);
  }
}

/** `word` with only its low `bytes` bytes kept: the first bytes in memory, little-endian. */
function lowBytes(word: number, bytes: number): number {
  return bytes >= 4 ? word : word & ((1 << (8 * bytes)) - 1);
}

/**
 * Strings of up to 12 bytes are inlined in duckdb_string_t, so a whole slice of them is
 * written with one copy; only longer ones need DuckDB to place them in its string heap.
 * Inline bytes are moved four at a time, and what follows a string stays zero: DuckDB
 * compares inlined strings as whole 16-byte structs.
 */
function writeStrings(vector: duckdb.Vector, column: WireColumn, start: number, n: number): void {
  const { data, nulls } = column;
  const offsets = column.offsets as Int32Array;
  const structs = new Uint32Array(n * 4);
  const bytes = new Uint8Array(structs.buffer);
  const source = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const long: number[] = [];
  for (let i = 0; i < n; i++) {
    if (nulls?.[start + i]) continue;
    const from = offsets[start + i];
    const len = offsets[start + i + 1] - from;
    if (len > 12) {
      long.push(i);
      continue;
    }
    structs[i * 4] = len;
    if (from + 12 <= data.byteLength) {
      if (len > 0) structs[i * 4 + 1] = lowBytes(source.getUint32(from, true), len);
      if (len > 4) structs[i * 4 + 2] = lowBytes(source.getUint32(from + 4, true), len - 4);
      if (len > 8) structs[i * 4 + 3] = lowBytes(source.getUint32(from + 8, true), len - 8);
    } else {
      // Near the end of the buffer a whole word would read past it.
      for (let k = 0; k < len; k++) bytes[i * 16 + 4 + k] = data[from + k];
    }
  }
  if (long.length > 0) pointIntoHeap(vector, column, start, long, structs);
  duckdb.copy_data_to_vector(vector, 0, structs.buffer, 0, structs.byteLength);
}

/**
 * Long strings without a native call each (about 1.5 µs): the bytes from the first long
 * string of the slice to the end of the last go into the vector's string heap as one value
 * (of row `long[0]`, whose struct is then overwritten), and each long string's struct points
 * into that copy. The heap lives as long as the vector, and whoever reads the chunk (an
 * appender) copies the strings.
 */
function pointIntoHeap(
  vector: duckdb.Vector,
  column: WireColumn,
  start: number,
  long: number[],
  structs: Uint32Array,
): void {
  const { data } = column;
  const offsets = column.offsets as Int32Array;
  const from = offsets[start + long[0]];
  const to = offsets[start + (long.at(-1) as number) + 1];
  duckdb.vector_assign_string_element_len(vector, long[0], data.subarray(from, to));
  const placed = duckdb.vector_get_data(vector, (long[0] + 1) * 16);
  const base = pointerAt(new DataView(placed.buffer, placed.byteOffset, placed.byteLength), long[0] * 16);
  const source = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const i of long) {
    const at = offsets[start + i];
    const pointer = base + (at - from);
    structs[i * 4] = offsets[start + i + 1] - at;
    structs[i * 4 + 1] = source.getUint32(at, true);
    structs[i * 4 + 2] = pointer % 2 ** 32;
    structs[i * 4 + 3] = Math.floor(pointer / 2 ** 32);
  }
}
