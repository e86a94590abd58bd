/**
 * POST /query's answer as an Arrow IPC stream: DuckDB's vectors are cut into wire columns
 * (as a data container cuts them into frames) and each batch of them becomes a record batch
 * (src/arrow/arrow-stream.ts). Nested and exotic columns (lists, structs, maps, ENUM, BIT)
 * go as text: their JSON form, as the JSON answer writes them.
 */
import { Readable } from 'node:stream';
import { type DuckDBDataChunk, type DuckDBType, VARCHAR } from '@duckdb/node-api';
import type { FastifyReply } from 'fastify';
import { ARROW_STREAM_TYPE, ArrowStreamEncoder } from '../../../arrow/arrow-stream.js';
import { releasingChunks } from '../../../duckdb/chunk-memory.js';
import { columnSchemaFor, FrameBuilder } from '../../../duckdb/columnar.js';
import { type ChunkSource, chunksOf, columnValues, type JsonValue } from '../../../duckdb/json-values.js';
import type { ColumnSchema, WireColumn } from '../../../protocol/frames.js';
import type { OpenQuery } from '../../execute/query.js';

/** Bytes of wire columns per record batch: few batches, each well under what a client holds. */
const BATCH_BYTES = 4 * 1024 * 1024;

function textOf(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Texts of one column, kept until the batch is cut. */
class TextColumn {
  private values: (string | null)[] = [];

  constructor(readonly vector: number) {}

  append(chunk: DuckDBDataChunk): void {
    for (const value of columnValues(chunk, this.vector))
      this.values.push(value === null ? null : textOf(value));
  }

  take(): WireColumn {
    const rows = this.values.length;
    const offsets = new Int32Array(rows + 1);
    const nulls = new Uint8Array(rows);
    const parts: Buffer[] = [];
    let at = 0;
    this.values.forEach((value, i) => {
      if (value === null) nulls[i] = 1;
      else {
        const bytes = Buffer.from(value);
        parts.push(bytes);
        at += bytes.byteLength;
      }
      offsets[i + 1] = at;
    });
    this.values = [];
    return { data: Buffer.concat(parts), offsets, ...(nulls.includes(1) && { nulls }) };
  }
}

/** A result's column types: from its first chunk, else from the result itself. */
function typesOf(source: ChunkSource, first: DuckDBDataChunk | undefined): DuckDBType[] | undefined {
  if (first) return Array.from({ length: first.columnCount }, (_, c) => first.getColumnVector(c).type);
  return source.columnTypes?.();
}

/** Cuts chunks into record batches of an Arrow stream. */
class ArrowBatches {
  private readonly encoder: ArrowStreamEncoder;
  private readonly frames: FrameBuilder;
  private readonly texts: TextColumn[];
  /** For each answer column: its place among the frame's columns, or among the text columns (negative, -1 first). */
  private readonly places: number[] = [];

  constructor(names: string[], types: DuckDBType[]) {
    const schemas: ColumnSchema[] = names.map((name, c) => columnSchemaFor(name, types[c]));
    const direct = schemas.flatMap((s, c) => (s.wire === 'text' ? [] : [c]));
    this.texts = schemas.flatMap((s, c) => (s.wire === 'text' ? [new TextColumn(c)] : []));
    let text = 0;
    for (const s of schemas)
      this.places.push(s.wire === 'text' ? -1 - text++ : direct.indexOf(this.places.length));
    this.frames = new FrameBuilder(
      direct.map((c) => schemas[c]),
      BATCH_BYTES,
      Number.POSITIVE_INFINITY,
      direct,
    );
    this.encoder = new ArrowStreamEncoder(schemas);
  }

  /** Adds a chunk; returns a record batch's bytes once the batch is full. */
  append(chunk: DuckDBDataChunk): Buffer | undefined {
    this.frames.append(chunk);
    for (const t of this.texts) t.append(chunk);
    return this.frames.full ? this.cut() : undefined;
  }

  /** The rows not sent yet, then the end of the stream. */
  end(): Buffer {
    const last = this.frames.rows > 0 ? this.cut() : Buffer.alloc(0);
    return Buffer.concat([last, ...this.encoder.end()]);
  }

  private cut(): Buffer {
    const { rows, columns } = this.frames.take();
    const texts = this.texts.map((t) => t.take());
    const wire = this.places.map((p) => (p >= 0 ? columns[p] : texts[-1 - p]));
    // A copy: the frame builder's buffers, which the batch's pieces are views of, are reused.
    return Buffer.concat(this.encoder.batch(rows, wire));
  }
}

/** A result that can hand over its rows as wire columns: a query pushed whole, as its container sent them. */
interface WireFrames {
  wireSchema(): ColumnSchema[];
  nextWireFrame(): Promise<{ rows: number; columns: WireColumn[] } | null>;
}

function hasWireFrames(result: ChunkSource): result is ChunkSource & WireFrames {
  return typeof (result as Partial<WireFrames>).nextWireFrame === 'function';
}

/** Each frame a record batch, with no DuckDB chunk between nor copy: a frame's buffers are its own. */
async function* arrowOfFrames(
  result: ChunkSource & WireFrames,
  sent: { rows: number },
): AsyncGenerator<Buffer> {
  const names = result.deduplicatedColumnNames();
  const encoder = new ArrowStreamEncoder(result.wireSchema().map((c, i) => ({ ...c, name: names[i] })));
  for (let frame = await result.nextWireFrame(); frame; frame = await result.nextWireFrame()) {
    yield* encoder.batch(frame.rows, frame.columns);
    sent.rows += frame.rows;
  }
  yield* encoder.end();
}

/** The answer's bytes, batch by batch. */
export async function* arrowAnswer(result: ChunkSource, sent: { rows: number }): AsyncGenerator<Buffer> {
  if (hasWireFrames(result)) {
    yield* arrowOfFrames(result, sent);
    return;
  }
  const names = result.deduplicatedColumnNames();
  let batches: ArrowBatches | undefined;
  for await (const chunk of releasingChunks(chunksOf(result))) {
    batches ??= new ArrowBatches(names, typesOf(result, chunk) as DuckDBType[]);
    const bytes = batches.append(chunk);
    sent.rows += chunk.rowCount;
    if (bytes) yield bytes;
  }
  if (!batches) {
    const types = typesOf(result, undefined);
    batches = new ArrowBatches(names, types ?? names.map(() => VARCHAR));
  }
  yield batches.end();
}

/** Sends the open query's rows as an Arrow stream; the query is closed when the stream ends. */
export function sendArrowAnswer(reply: FastifyReply, open: OpenQuery, sent: { rows: number }): FastifyReply {
  const stream = Readable.from(arrowAnswer(open.result, sent));
  stream.on('close', () => open.close());
  // A failure midway cuts the response: a client never takes part of a stream for all of it.
  stream.on('error', () => reply.raw.destroy());
  return reply
    .header('x-source-tables', open.sourceTables.join(','))
    .header('x-query-stats', JSON.stringify(open.stats))
    .type(ARROW_STREAM_TYPE)
    .send(stream as never);
}
