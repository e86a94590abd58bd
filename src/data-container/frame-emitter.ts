/**
 * A scan's rows as frames: chunks cut into data frames of about TARGET_FRAME_BYTES, held where
 * the scan holds its rows (held-frames.ts), and the frames that carry no rows (keys, held).
 */
import type { DuckDBDataChunk } from '@duckdb/node-api';
import { FrameBuilder } from '../duckdb/columnar.js';
import { jsonValueConverter } from '../duckdb/json-values.js';
import type { Encoding } from '../protocol/codec.js';
import {
  type ColumnSchema,
  type Frame,
  type HeldFrame,
  type KeysFrame,
  type ScanFilter,
  TARGET_FRAME_BYTES,
} from '../protocol/frames.js';
import type { HeldFrames } from './held-frames.js';

/**
 * Where frames go. `send` resolves when the next frame may follow (flow control lives here).
 * A data frame's column buffers are reused for the next frame once `send` resolves: a sink
 * encodes (or copies) the frame before that.
 */
export interface FrameSink {
  send(frame: Frame): Promise<void>;
  /**
   * The dynamic filter a request with `awaitFilter` waits for, or (`held`) the filter of the
   * rows a `keysFirst` request holds; only transports with a control channel have it.
   */
  awaitFilter?(held?: boolean): Promise<ScanFilter>;
  /**
   * Largest message the transport carries (NATS: the server's max_payload). Frames aim at the
   * smaller of this and TARGET_FRAME_BYTES and stay under it, but for a single row larger
   * than a message, which the transport splits into parts (frames.ts).
   */
  readonly maxFrameBytes?: number;
}

/** What a data frame's encoding adds to its columns' bytes: keys, headers, lengths. */
function frameOverhead(columns: number): number {
  return 64 + 64 * columns;
}

/**
 * Turns chunks into data frames of about TARGET_FRAME_BYTES, columnar or JSON rows, each
 * within the transport's largest message: a chunk is cut by rows where it would not fit.
 */
export class FrameEmitter {
  rows = 0;
  bytes = 0;
  frames = 0;
  /** The next frame's number (the schema frame was 0). */
  seq = 1;
  private held: HeldFrames | undefined;
  private readonly builder: FrameBuilder | undefined;
  private jsonRows: unknown[][] = [];
  private jsonBytes = 0;
  /** Bytes a frame aims at, and (but for one long row) never exceeds. */
  private readonly targetBytes: number;
  private readonly limitBytes: number;

  /** `branched`: the last of `columns` is BRANCHES_COLUMN, held but never sent (PlanBase). */
  constructor(
    private readonly sink: FrameSink,
    encoding: Encoding,
    columns: ColumnSchema[],
    private readonly branched: boolean,
  ) {
    // Without a message size (HTTP), frames still stay near the target.
    const limit = (sink.maxFrameBytes ?? 2 * TARGET_FRAME_BYTES) - frameOverhead(columns.length);
    this.limitBytes = Math.max(1, limit);
    this.targetBytes = Math.min(TARGET_FRAME_BYTES, this.limitBytes);
    if (encoding === 'msgpack') {
      this.builder = new FrameBuilder(
        columns.map((c) => ({ wire: c.wire, width: c.width })),
        this.targetBytes,
        this.limitBytes,
      );
    }
  }

  async emit(chunk: DuckDBDataChunk): Promise<void> {
    if (this.builder) {
      for (let from = 0; from < chunk.rowCount; ) {
        from += this.builder.append(chunk, from);
        if (this.builder.full || from < chunk.rowCount) await this.flush();
      }
      return;
    }
    // JSON text grows on encoding (escapes, brackets, UTF-8): aim at half.
    const budget = this.targetBytes / 2;
    for (const row of chunk.convertRows(jsonValueConverter)) {
      const size = JSON.stringify(row).length;
      if (this.jsonRows.length > 0 && this.jsonBytes + size > budget) await this.flush();
      this.jsonRows.push(row as unknown[]);
      this.jsonBytes += size;
      if (this.jsonBytes >= budget) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.builder) {
      if (this.builder.rows === 0) return;
      const bytes = this.builder.byteLength;
      const { rows, columns } = this.builder.take();
      await this.sendData(rows, bytes, { columns });
    } else {
      if (this.jsonRows.length === 0) return;
      const values = this.jsonRows;
      const bytes = this.jsonBytes;
      this.jsonRows = [];
      this.jsonBytes = 0;
      await this.sendData(values.length, bytes, { values });
    }
  }

  private async sendData(
    rows: number,
    bytes: number,
    body: Pick<Frame & { type: 'data' }, 'columns' | 'values'>,
  ) {
    if (this.held && body.columns) {
      if (this.held.add(rows, bytes, body.columns)) return;
      await this.stopHolding();
    }
    // The branch codes went (or never go) in keys frames: not in the data, nor in its bytes.
    if (this.branched && body.columns) {
      const codes = body.columns[body.columns.length - 1];
      bytes -= codes.data.byteLength + (codes.nulls?.byteLength ?? 0);
      body = { columns: body.columns.slice(0, -1) };
    }
    this.rows += rows;
    this.bytes += bytes;
    this.frames++;
    await this.sink.send({ type: 'data', seq: this.seq++, rows, ...body });
  }

  /** Sends a frame that carries no rows (keys, held) in its turn; data frames made are sent first. */
  async control(frame: Omit<KeysFrame, 'seq'> | Omit<HeldFrame, 'seq'>): Promise<void> {
    await this.flush();
    await this.sendControl(frame);
  }

  private async sendControl(frame: Omit<KeysFrame, 'seq'> | Omit<HeldFrame, 'seq'>): Promise<void> {
    await this.sink.send({ ...frame, seq: this.seq++ } as KeysFrame | HeldFrame);
  }

  /** Data frames are kept by `held` instead of sent (held-frames.ts), until releaseHeld. */
  hold(held: HeldFrames | undefined): void {
    this.held = held;
  }

  /**
   * Frames past what may be held: the held frame says the rows do not wait, and those held
   * go first.
   */
  private async stopHolding(): Promise<void> {
    const held = this.held;
    this.held = undefined;
    await this.sendControl({ type: 'held', waits: false, rows: 0 });
    try {
      for (const f of held?.held() ?? []) await this.sendData(f.rows, f.bytes, { columns: f.columns });
    } finally {
      held?.release();
    }
  }

  /**
   * The rows held (all made: finish() came first): their keys go, then the held frame; once
   * `narrowing` gives the filter of the held rows, those it keeps. At most `above` rows (a
   * request's holdAbove), or none: nothing waits, they go at once.
   */
  async releaseHeld(above: number, narrowing: () => Promise<ScanFilter>): Promise<void> {
    const held = this.held;
    if (!held) return;
    if (held.rows === 0 || held.rows <= above) return this.stopHolding();
    this.held = undefined;
    try {
      for (const keys of held.keyFrames()) await this.sendControl(keys);
      await this.sendControl({ type: 'held', waits: true, rows: held.rows });
      for (const f of held.narrowed(await narrowing())) {
        if (f.rows > 0) await this.sendData(f.rows, f.bytes, { columns: f.columns });
      }
    } finally {
      held.release();
    }
  }

  /** Flushes what is left. */
  async finish(): Promise<void> {
    await this.flush();
  }
}
