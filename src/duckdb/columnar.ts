/**
 * DuckDB chunks ⇄ wire columns, without turning values into JS values.
 *
 * Fixed-width columns travel as DuckDB's own in-memory bytes (copied with one memcpy each
 * way); VARCHAR/BLOB as one byte buffer plus offsets; everything else (nested, ENUM, BIT…)
 * as DuckDB's VARCHAR cast of the value, cast back by the receiver. Both ends run the same
 * DuckDB build, so the byte layout agrees; the receiver still checks sizes.
 */
import { type DuckDBDataChunk, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import type { ColumnSchema, WireColumn, WireKind } from '../protocol/frames.js';

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

export interface WireLayout {
  wire: WireKind;
  width?: number;
}

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

function rawVector(chunk: DuckDBDataChunk, column: number): duckdb.Vector {
  return duckdb.data_chunk_get_vector((chunk as unknown as { chunk: duckdb.DataChunk }).chunk, column);
}

/** Grows a byte buffer geometrically; `bytes()` is a view of what was written. */
class ByteBuilder {
  private buf: Uint8Array;
  length = 0;

  constructor(initial: number) {
    this.buf = new Uint8Array(Math.max(64, initial));
  }

  append(bytes: Uint8Array): void {
    const need = this.length + bytes.length;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    this.buf.set(bytes, this.length);
    this.length = need;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function grown<T extends Uint8Array | Int32Array>(array: T, size: number, make: (n: number) => T): T {
  if (array.length >= size) return array;
  const next = make(Math.max(size, array.length * 2));
  next.set(array);
  return next;
}

function isValid(validity: Uint8Array | null, row: number): boolean {
  return !validity || (validity[row >> 3] & (1 << (row & 7))) !== 0;
}

/** Accumulates one column of a frame from successive DuckDB chunks. */
class ColumnBuilder {
  private readonly data: ByteBuilder;
  private offsets: Int32Array | undefined;
  private nulls: Uint8Array | undefined;
  private rows = 0;

  constructor(
    private readonly layout: WireLayout,
    expectedRows: number,
  ) {
    this.data = new ByteBuilder(expectedRows * (layout.wire === 'fixed' ? (layout.width as number) : 16));
    if (layout.wire !== 'fixed') this.offsets = new Int32Array(expectedRows + 1);
  }

  get byteLength(): number {
    return this.data.length + (this.offsets ? this.rows * 4 : 0) + (this.nulls ? this.rows : 0);
  }

  /** Appends rows [0, count) of `vector`. */
  appendVector(vector: duckdb.Vector, count: number): void {
    const validity = duckdb.vector_get_validity(vector, Math.ceil(count / 64) * 8);
    if (this.nulls) this.nulls = grown(this.nulls, this.rows + count, (n) => new Uint8Array(n));
    if (validity) this.markNulls(validity, count);
    if (this.layout.wire === 'fixed') {
      this.data.append(duckdb.vector_get_data(vector, count * (this.layout.width as number)));
    } else {
      this.appendStrings(vector, count, validity);
    }
    this.rows += count;
  }

  private markNulls(validity: Uint8Array, count: number): void {
    for (let i = 0; i < count; i++) {
      if (!isValid(validity, i)) {
        this.nulls ??= new Uint8Array(Math.max(this.rows + count, 8192));
        this.nulls[this.rows + i] = 1;
      }
    }
  }

  /** duckdb_string_t: 4-byte length, then 12 inline bytes, or a 4-byte prefix and a pointer. */
  private appendStrings(vector: duckdb.Vector, count: number, validity: Uint8Array | null): void {
    const raw = duckdb.vector_get_data(vector, count * 16);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const offsets = grown(this.offsets as Int32Array, this.rows + count + 1, (n) => new Int32Array(n));
    this.offsets = offsets;
    for (let i = 0; i < count; i++) {
      if (isValid(validity, i)) {
        const at = i * 16;
        const len = view.getUint32(at, true);
        this.data.append(
          len <= 12
            ? raw.subarray(at + 4, at + 4 + len)
            : duckdb.get_data_from_pointer(raw.buffer as ArrayBuffer, raw.byteOffset + at + 8, len),
        );
      }
      offsets[this.rows + i + 1] = this.data.length;
    }
  }

  finish(): WireColumn {
    const column: WireColumn = { data: this.data.bytes() };
    if (this.offsets) column.offsets = this.offsets.subarray(0, this.rows + 1);
    if (this.nulls) column.nulls = this.nulls.subarray(0, this.rows);
    return column;
  }
}

/** Packs successive DuckDB chunks into frames of about `targetBytes`. */
export class FrameBuilder {
  private builders: ColumnBuilder[] = [];
  rows = 0;

  constructor(
    private readonly layouts: WireLayout[],
    private readonly targetBytes: number,
  ) {
    this.reset();
  }

  private reset(): void {
    this.builders = this.layouts.map((l) => new ColumnBuilder(l, 8192));
    this.rows = 0;
  }

  get byteLength(): number {
    let total = 0;
    for (const b of this.builders) total += b.byteLength;
    return total;
  }

  get full(): boolean {
    return this.byteLength >= this.targetBytes;
  }

  /** Appends the first `count` rows of `chunk` (all when omitted). */
  append(chunk: DuckDBDataChunk, count = chunk.rowCount): void {
    for (let c = 0; c < this.builders.length; c++) {
      this.builders[c].appendVector(rawVector(chunk, c), count);
    }
    this.rows += count;
  }

  /** The accumulated columns; the builder starts over. */
  take(): { rows: number; columns: WireColumn[] } {
    const out = { rows: this.rows, columns: this.builders.map((b) => b.finish()) };
    this.reset();
    return out;
  }
}

const VECTOR_SIZE = duckdb.vector_size();

/**
 * Writes `rows` rows of wire columns into DuckDB chunks (made by `createChunk`, with the
 * receiving table's column types; `text` columns are VARCHAR there) and hands each to `append`.
 * Call `checkWireColumns` first.
 */
export function writeWireColumns(
  layouts: WireLayout[],
  columns: WireColumn[],
  rows: number,
  createChunk: (rows: number) => DuckDBDataChunk,
  append: (chunk: DuckDBDataChunk) => void,
): void {
  for (let start = 0; start < rows; start += VECTOR_SIZE) {
    const n = Math.min(VECTOR_SIZE, rows - start);
    const chunk = createChunk(n);
    for (let c = 0; c < columns.length; c++) {
      writeColumnSlice(rawVector(chunk, c), layouts[c], columns[c], start, n);
    }
    append(chunk);
  }
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
    const offsets = column.offsets as Int32Array;
    for (let i = 0; i < n; i++) {
      if (nulls?.[start + i]) continue;
      duckdb.vector_assign_string_element_len(
        vector,
        i,
        column.data.subarray(offsets[start + i], offsets[start + i + 1]),
      );
    }
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

/** Refuses columns whose sizes do not add up, before any byte reaches DuckDB's memory. */
export function checkWireColumns(
  layouts: WireLayout[],
  columns: WireColumn[],
  rows: number,
): string | undefined {
  if (!Array.isArray(columns) || columns.length !== layouts.length) {
    return `expected ${layouts.length} columns, got ${Array.isArray(columns) ? columns.length : 'none'}`;
  }
  for (let c = 0; c < layouts.length; c++) {
    const { data, offsets, nulls } = columns[c];
    if (!(data instanceof Uint8Array)) return `column ${c} has no data bytes`;
    if (nulls !== undefined && (!(nulls instanceof Uint8Array) || nulls.length !== rows)) {
      return `column ${c} has a null mask of the wrong length`;
    }
    if (layouts[c].wire === 'fixed') {
      const expected = rows * (layouts[c].width as number);
      if (data.length !== expected)
        return `column ${c} holds ${data.length} bytes where ${expected} were expected`;
      continue;
    }
    if (!(offsets instanceof Int32Array) || offsets.length !== rows + 1 || offsets[0] !== 0) {
      return `column ${c} has bad offsets`;
    }
    for (let i = 0; i < rows; i++) {
      if (offsets[i + 1] < offsets[i]) return `column ${c} has decreasing offsets`;
    }
    if (offsets[rows] !== data.length) return `column ${c} offsets do not match its ${data.length} bytes`;
  }
  return undefined;
}
