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
  Binary,
  Bool,
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
  Schema,
  TimeMicrosecond,
  Timestamp,
  TimeUnit,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
} from 'apache-arrow';
// The IPC message encoder apache-arrow's own writer uses: record batches are laid out here,
// around the wire buffers, so that no value is copied (see ArrowStreamEncoder).
import {
  BufferRegion,
  FieldNode,
  Message,
  RecordBatch as RecordBatchHeader,
} from 'apache-arrow/ipc/metadata/message';
import type { ColumnSchema, WireColumn } from '../protocol/frames.js';

/** How one column's wire bytes become Arrow buffers. */
interface ArrowColumn {
  type: DataType;
  /** The column's buffers after its validity bitmap: values, or offsets then values. */
  buffers(column: WireColumn, rows: number): Uint8Array[];
}

export const ARROW_STREAM_TYPE = 'application/vnd.apache.arrow.stream';

/** Arrow's validity bitmap (1 = valid) and NULL count of `rows` wire rows; no bitmap when none is NULL. */
function validityOf(column: WireColumn, rows: number): { nullCount: number; bitmap: Uint8Array } {
  const nulls = column.nulls;
  const none = { nullCount: 0, bitmap: new Uint8Array(0) };
  if (!nulls) return none;
  const bitmap = new Uint8Array(Math.ceil(rows / 8)).fill(0xff);
  let nullCount = 0;
  for (let i = 0; i < rows; i++) {
    if (nulls[i]) {
      bitmap[i >> 3] &= ~(1 << (i & 7));
      nullCount++;
    }
  }
  return nullCount ? { nullCount, bitmap } : none;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** A column whose wire bytes are Arrow's values buffer as they are: `width` bytes a row. */
function direct(type: DataType, width: number): ArrowColumn {
  return { type, buffers: (c, rows) => [c.data.subarray(0, rows * width)] };
}

/** A column whose values buffer `values` makes from the wire bytes. */
function converted(type: DataType, values: (c: WireColumn, rows: number) => ArrayBufferView): ArrowColumn {
  return { type, buffers: (c, rows) => [bytesOf(values(c, rows))] };
}

/** Offsets and values, as Arrow has them: wire offsets start at 0 (checkWireColumns, the frame builders). */
function stringBuffers(offsets: Int32Array, data: Uint8Array, rows: number): Uint8Array[] {
  return [bytesOf(offsets.subarray(0, rows + 1)), data.subarray(0, offsets[rows])];
}

function strings(type: Utf8 | Binary): ArrowColumn {
  return {
    type,
    buffers: (c, rows) => stringBuffers(c.offsets ?? new Int32Array(rows + 1), c.data, rows),
  };
}

/** Text made per row from the fixed-width bytes (types with no exact Arrow match). */
function textOf(width: number, format: (view: DataView, at: number) => string): ArrowColumn {
  const encoder = new TextEncoder();
  return {
    type: new Utf8(),
    buffers: (c, rows) => {
      const dv = new DataView(c.data.buffer, c.data.byteOffset, c.data.byteLength);
      const offsets = new Int32Array(rows + 1);
      let text = '';
      for (let i = 0; i < rows; i++) {
        if (!c.nulls?.[i]) text += format(dv, i * width);
        offsets[i + 1] = text.length;
      }
      // Every formatter writes ASCII, so string offsets are byte offsets.
      return stringBuffers(offsets, encoder.encode(text), rows);
    },
  };
}

function packBits(c: WireColumn, rows: number): Uint8Array {
  const bits = new Uint8Array(Math.ceil(rows / 8));
  for (let i = 0; i < rows; i++) if (c.data[i]) bits[i >> 3] |= 1 << (i & 7);
  return bits;
}

/** DuckDB stores DECIMAL(p,s) in 2, 4 or 8 bytes; Arrow's decimal128 wants 16, sign-extended. */
function widenDecimal(width: number) {
  return (c: WireColumn, rows: number): Uint32Array => {
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
  TINYINT: () => direct(new Int8(), 1),
  SMALLINT: () => direct(new Int16(), 2),
  INTEGER: () => direct(new Int32(), 4),
  BIGINT: () => direct(new Int64(), 8),
  UTINYINT: () => direct(new Uint8(), 1),
  USMALLINT: () => direct(new Uint16(), 2),
  UINTEGER: () => direct(new Uint32(), 4),
  UBIGINT: () => direct(new Uint64(), 8),
  HUGEINT: () => direct(new Decimal(0, 38, 128), 16),
  FLOAT: () => direct(new Float32(), 4),
  DOUBLE: () => direct(new Float64(), 8),
  DATE: () => direct(new DateDay(), 4),
  TIME: () => direct(new TimeMicrosecond(), 8),
  TIMESTAMP: () => direct(new Timestamp(TimeUnit.MICROSECOND), 8),
  TIMESTAMP_S: () => direct(new Timestamp(TimeUnit.SECOND), 8),
  TIMESTAMP_MS: () => direct(new Timestamp(TimeUnit.MILLISECOND), 8),
  TIMESTAMP_NS: () => direct(new Timestamp(TimeUnit.NANOSECOND), 8),
  'TIMESTAMP WITH TIME ZONE': () => direct(new Timestamp(TimeUnit.MICROSECOND, 'UTC'), 8),
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
    const type = new Decimal(scale, precision, 128);
    return schema.width === 16 ? direct(type, 16) : converted(type, widenDecimal(schema.width as number));
  }
  const make = FIXED[schema.type];
  if (!make) throw new Error(`no Arrow type for the DuckDB type ${schema.type}`);
  return make();
}

const CONTINUATION = -1;
const ZEROS = new Uint8Array(8);

/** Bytes to add after `length` bytes so that what follows starts at a multiple of 8. */
function padding(length: number): number {
  return (8 - (length % 8)) % 8;
}

/** An IPC message's start: the continuation marker, the metadata's length, the metadata, padded to 8. */
function messageStart(message: Message): Buffer {
  const metadata = Message.encode(message);
  const padded = metadata.byteLength + padding(metadata.byteLength);
  const start = Buffer.alloc(8 + padded);
  start.writeInt32LE(CONTINUATION, 0);
  start.writeInt32LE(padded, 4);
  start.set(metadata, 8);
  return start;
}

/**
 * Encodes one Arrow IPC stream: `batch()` for each frame of rows, `end()` once. A record
 * batch's body is the wire buffers themselves (Arrow's layout where the wire's is the same),
 * with the message's metadata written here: nothing is copied into a batch.
 */
export class ArrowStreamEncoder {
  private readonly columns: ArrowColumn[];
  private readonly schema: Schema;
  private batches = 0;

  constructor(columns: ColumnSchema[]) {
    this.columns = columns.map(arrowColumnFor);
    this.schema = new Schema(columns.map((c, i) => new Field(c.name, this.columns[i].type, true)));
  }

  /**
   * One record batch of `rows` rows, as pieces of stream bytes (the schema comes before the
   * first). The pieces are views of the wire columns' buffers: write them out before those
   * are reused.
   */
  batch(rows: number, wire: WireColumn[]): Buffer[] {
    const nodes: FieldNode[] = [];
    const regions: BufferRegion[] = [];
    const body: Uint8Array[] = [];
    let bodyLength = 0;
    this.columns.forEach((column, i) => {
      const { nullCount, bitmap } = validityOf(wire[i], rows);
      nodes.push(new FieldNode(rows, nullCount));
      // Each region's length counts its padding, as apache-arrow's own writer writes it.
      for (const buffer of [bitmap, ...column.buffers(wire[i], rows)]) {
        const padded = buffer.byteLength + padding(buffer.byteLength);
        regions.push(new BufferRegion(bodyLength, padded));
        body.push(buffer, ZEROS.subarray(0, padded - buffer.byteLength));
        bodyLength += padded;
      }
    });
    const header = new RecordBatchHeader(rows, nodes, regions, null);
    const pieces = [messageStart(Message.from(header, bodyLength))];
    if (this.batches++ === 0) pieces.unshift(messageStart(Message.from(this.schema)));
    for (const bytes of body)
      if (bytes.byteLength > 0) pieces.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return pieces;
  }

  /** The end of the stream (with the schema and an empty batch when no rows came). */
  end(): Buffer[] {
    const empty = this.batches === 0 ? this.emptyBatch() : [];
    const eos = Buffer.alloc(8);
    eos.writeInt32LE(CONTINUATION, 0);
    return [...empty, eos];
  }

  private emptyBatch(): Buffer[] {
    return this.batch(
      0,
      this.columns.map(() => ({ data: new Uint8Array(0), offsets: new Int32Array(1) })),
    );
  }
}
