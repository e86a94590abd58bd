/**
 * Arrow IPC streams (the schema, one record batch per frame of rows, end of stream) from
 * wire columns: a scan's columnar frames as they arrive, or a DuckDB result cut into the
 * same columns. No value goes through JSON or a JS value on the way. Types stay exact:
 * integers keep their width (BIGINT is int64), DECIMAL(p,s) is decimal128(p,s), HUGEINT
 * decimal128(38,0), DATE date32, TIME time64[us], TIMESTAMP timestamp[us] (TIMESTAMP_S/MS/NS
 * their own unit; WITH TIME ZONE in UTC), INTERVAL month_day_nano, BLOB binary. Types Arrow
 * has no exact match for (UUID, UHUGEINT, TIME WITH TIME ZONE) and nested ones (which travel
 * as DuckDB's text of the value) are utf8 text.
 */
import {
  AsyncByteQueue,
  Binary,
  Bool,
  type Data,
  type DataType,
  DateDay,
  Decimal,
  Field,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  IntervalMonthDayNano,
  makeData,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  TimeMicrosecond,
  Timestamp,
  TimeUnit,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
} from 'apache-arrow';
import type { ColumnSchema, WireColumn } from '../protocol/frames.js';

/** How one column's wire bytes become Arrow data. */
interface ArrowColumn {
  type: DataType;
  data(column: WireColumn, rows: number, nulls: Nulls): Data;
}

interface Nulls {
  nullCount: number;
  /** Arrow validity bits (1 = valid), absent when no row is NULL. */
  nullBitmap?: Uint8Array;
}

export const ARROW_STREAM_TYPE = 'application/vnd.apache.arrow.stream';

function nullsOf(column: WireColumn, rows: number): Nulls {
  const nulls = column.nulls;
  if (!nulls) return { nullCount: 0 };
  const bitmap = new Uint8Array(Math.ceil(rows / 8)).fill(0xff);
  let nullCount = 0;
  for (let i = 0; i < rows; i++) {
    if (nulls[i]) {
      bitmap[i >> 3] &= ~(1 << (i & 7));
      nullCount++;
    }
  }
  return nullCount ? { nullCount, nullBitmap: bitmap } : { nullCount: 0 };
}

/** `bytes` as a typed array of `Type`, copied only when its offset is not aligned for it. */
function view<T>(
  bytes: Uint8Array,
  Type: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number },
): T {
  const size = Type.BYTES_PER_ELEMENT;
  const aligned = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes); // a copy: Buffer#slice would be a view
  return new Type(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / size);
}

/** A column whose wire bytes are Arrow's values buffer as they are. */
function direct(
  type: DataType,
  Type: { new (b: ArrayBuffer, o: number, n: number): ArrayLike<unknown>; BYTES_PER_ELEMENT: number },
): ArrowColumn {
  return {
    type,
    data: (c, rows, nulls) => makeData({ type, length: rows, ...nulls, data: view(c.data, Type) } as never),
  };
}

/** A column built by `values`, which turns the wire bytes into Arrow's values buffer. */
function converted(type: DataType, values: (c: WireColumn, rows: number) => ArrayBufferView): ArrowColumn {
  return {
    type,
    data: (c, rows, nulls) => makeData({ type, length: rows, ...nulls, data: values(c, rows) } as never),
  };
}

function strings(type: Utf8 | Binary): ArrowColumn {
  return {
    type,
    data: (c, rows, nulls) =>
      makeData({
        type,
        length: rows,
        ...nulls,
        valueOffsets: (c.offsets ?? new Int32Array(rows + 1)).subarray(0, rows + 1),
        data: c.data,
      } as never),
  };
}

/** Text made per row from the fixed-width bytes (types with no exact Arrow match). */
function textOf(width: number, format: (view: DataView, at: number) => string): ArrowColumn {
  const type = new Utf8();
  const encoder = new TextEncoder();
  return {
    type,
    data: (c, rows, nulls) => {
      const dv = new DataView(c.data.buffer, c.data.byteOffset, c.data.byteLength);
      const offsets = new Int32Array(rows + 1);
      let text = '';
      for (let i = 0; i < rows; i++) {
        if (!c.nulls?.[i]) text += format(dv, i * width);
        offsets[i + 1] = text.length;
      }
      // Every formatter writes ASCII, so string offsets are byte offsets.
      return makeData({ type, length: rows, ...nulls, valueOffsets: offsets, data: encoder.encode(text) });
    },
  };
}

function packBits(c: WireColumn, rows: number): Uint8Array {
  const bits = new Uint8Array(Math.ceil(rows / 8));
  for (let i = 0; i < rows; i++) if (c.data[i]) bits[i >> 3] |= 1 << (i & 7);
  return bits;
}

/** DuckDB stores DECIMAL(p,s) in 2, 4, 8 or 16 bytes; Arrow's decimal128 wants 16, sign-extended. */
function widenDecimal(width: number) {
  return (c: WireColumn, rows: number): Uint32Array => {
    if (width === 16) return view(c.data, Uint32Array);
    const dv = new DataView(c.data.buffer, c.data.byteOffset, c.data.byteLength);
    const out = new Uint32Array(rows * 4);
    for (let i = 0; i < rows; i++) {
      const at = i * width;
      const low = width === 2 ? dv.getInt16(at, true) : dv.getInt32(at, true);
      const high = width === 8 ? dv.getInt32(at + 4, true) : low < 0 ? -1 : 0;
      const sign = high < 0 ? 0xffffffff : 0;
      out[i * 4] = low >>> 0;
      out[i * 4 + 1] = high >>> 0;
      out[i * 4 + 2] = sign;
      out[i * 4 + 3] = sign;
    }
    return out;
  };
}

/** DuckDB's interval (months, days, micros) as Arrow's (months, days, nanos). */
function intervalNanos(c: WireColumn, rows: number): Int32Array {
  const source = new DataView(c.data.buffer, c.data.byteOffset, c.data.byteLength);
  const out = new Int32Array(rows * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < rows; i++) {
    const at = i * 16;
    dv.setInt32(at, source.getInt32(at, true), true);
    dv.setInt32(at + 4, source.getInt32(at + 4, true), true);
    dv.setBigInt64(at + 8, source.getBigInt64(at + 8, true) * 1000n, true);
  }
  return out;
}

const hex64 = (v: bigint) => v.toString(16).padStart(16, '0');

/** DuckDB keeps a UUID as a HUGEINT whose top bit is flipped (so that they sort as text does). */
function uuidText(dv: DataView, at: number): string {
  const upper = dv.getBigUint64(at + 8, true) ^ 0x8000000000000000n;
  const h = hex64(upper) + hex64(dv.getBigUint64(at, true));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function uhugeintText(dv: DataView, at: number): string {
  return ((dv.getBigUint64(at + 8, true) << 64n) | dv.getBigUint64(at, true)).toString();
}

const two = (n: number) => String(n).padStart(2, '0');

/** DuckDB's TIME WITH TIME ZONE: micros in the top 40 bits, 57599 − offset seconds in the low 24. */
function timeTzText(dv: DataView, at: number): string {
  const bits = dv.getBigUint64(at, true);
  const micros = Number(bits >> 24n);
  const offset = 57_599 - Number(bits & 0xffffffn);
  const seconds = Math.floor(micros / 1e6);
  const fraction = micros % 1e6 ? `.${String(micros % 1e6).padStart(6, '0')}` : '';
  const abs = Math.abs(offset);
  const offsetText = `${offset < 0 ? '-' : '+'}${two(Math.floor(abs / 3600))}${abs % 3600 ? `:${two(Math.floor((abs % 3600) / 60))}` : ''}`;
  return `${two(Math.floor(seconds / 3600))}:${two(Math.floor((seconds % 3600) / 60))}:${two(seconds % 60)}${fraction}${offsetText}`;
}

const FIXED: Record<string, () => ArrowColumn> = {
  BOOLEAN: () => converted(new Bool(), packBits),
  TINYINT: () => direct(new Int8(), Int8Array),
  SMALLINT: () => direct(new Int16(), Int16Array),
  INTEGER: () => direct(new Int32(), Int32Array),
  BIGINT: () => direct(new Int64(), BigInt64Array),
  UTINYINT: () => direct(new Uint8(), Uint8Array),
  USMALLINT: () => direct(new Uint16(), Uint16Array),
  UINTEGER: () => direct(new Uint32(), Uint32Array),
  UBIGINT: () => direct(new Uint64(), BigUint64Array),
  HUGEINT: () => direct(new Decimal(0, 38, 128), Uint32Array),
  FLOAT: () => direct(new Float32(), Float32Array),
  DOUBLE: () => direct(new Float64(), Float64Array),
  DATE: () => direct(new DateDay(), Int32Array),
  TIME: () => direct(new TimeMicrosecond(), BigInt64Array),
  TIMESTAMP: () => direct(new Timestamp(TimeUnit.MICROSECOND), BigInt64Array),
  TIMESTAMP_S: () => direct(new Timestamp(TimeUnit.SECOND), BigInt64Array),
  TIMESTAMP_MS: () => direct(new Timestamp(TimeUnit.MILLISECOND), BigInt64Array),
  TIMESTAMP_NS: () => direct(new Timestamp(TimeUnit.NANOSECOND), BigInt64Array),
  'TIMESTAMP WITH TIME ZONE': () => direct(new Timestamp(TimeUnit.MICROSECOND, 'UTC'), BigInt64Array),
  INTERVAL: () => converted(new IntervalMonthDayNano(), intervalNanos),
  UUID: () => textOf(16, uuidText),
  UHUGEINT: () => textOf(16, uhugeintText),
  'TIME WITH TIME ZONE': () => textOf(8, timeTzText),
};

/** The Arrow type a column of `schema` travels as. */
function arrowColumnFor(schema: ColumnSchema): ArrowColumn {
  if (schema.wire === 'varlen') return strings(schema.type === 'BLOB' ? new Binary() : new Utf8());
  if (schema.wire === 'text') return strings(new Utf8());
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(schema.type);
  if (decimal) {
    const [precision, scale] = [Number(decimal[1]), Number(decimal[2])];
    return converted(new Decimal(scale, precision, 128), widenDecimal(schema.width as number));
  }
  const make = FIXED[schema.type];
  if (!make) throw new Error(`no Arrow type for the DuckDB type ${schema.type}`);
  return make();
}

/** Takes what the Arrow writer writes, piece by piece, instead of queueing it for a reader. */
class CollectedBytes extends AsyncByteQueue {
  private pieces: Uint8Array[] = [];

  override write(value: Uint8Array): void {
    if (value.byteLength > 0) this.pieces.push(value);
  }

  /** What was written since the last take, copied into one buffer. */
  take(): Buffer {
    const bytes = Buffer.concat(this.pieces);
    this.pieces = [];
    return bytes;
  }
}

/** Encodes one Arrow IPC stream: `batch()` for each frame of rows, `end()` once. */
export class ArrowStreamEncoder {
  private readonly columns: ArrowColumn[];
  private readonly schema: Schema;
  private readonly sink = new CollectedBytes();
  private readonly writer = new RecordBatchStreamWriter();
  private batches = 0;

  constructor(columns: ColumnSchema[]) {
    this.columns = columns.map(arrowColumnFor);
    this.schema = new Schema(columns.map((c, i) => new Field(c.name, this.columns[i].type, true)));
    this.writer.reset(this.sink as never, this.schema);
  }

  /**
   * One record batch of `rows` rows, as stream bytes (the schema comes before the first).
   * The wire columns may be reused once it returns: the bytes are a copy.
   */
  batch(rows: number, wire: WireColumn[]): Buffer {
    const children = this.columns.map((c, i) => c.data(wire[i], rows, nullsOf(wire[i], rows)));
    const data = makeData({ type: new Struct(this.schema.fields), length: rows, nullCount: 0, children });
    this.writer.write(new RecordBatch(this.schema, data));
    this.batches++;
    return this.sink.take();
  }

  /** The end of the stream (with the schema and an empty batch when no rows came). */
  end(): Buffer {
    const empty = this.batches === 0 ? this.emptyBatch() : Buffer.alloc(0);
    this.writer.finish();
    return Buffer.concat([empty, this.sink.take()]);
  }

  private emptyBatch(): Buffer {
    return this.batch(
      0,
      this.columns.map(() => ({ data: new Uint8Array(0), offsets: new Int32Array(1) })),
    );
  }
}
