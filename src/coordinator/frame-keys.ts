/**
 * A reduction's keys read straight from its source's frames as they pass into the TEMP
 * table: once the source's end frame is in, the reduced scan can go without waiting for
 * the TEMP table's flush and a DISTINCT query over it (~10 ms of a 1%-selective join).
 * Only for fixed-width keys of 1, 2, 4 or 8 bytes, whose bytes are their identity; anything
 * else, or more keys than a request may carry, is left to dynamicFilter's SQL.
 */
import { type ColumnSchema, MAX_SCAN_KEY_BYTES, type ScanKeys, type WireColumn } from '../protocol/frames.js';
import type { FrameTarget } from './gather.js';

type Sortable = Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

const ARRAYS: Record<number, (bytes: ArrayBuffer) => Sortable> = {
  1: (b) => new Uint8Array(b),
  2: (b) => new Uint16Array(b),
  4: (b) => new Uint32Array(b),
  8: (b) => new BigUint64Array(b),
};

/** The distinct values of fixed-width keys, as bytes; NULLs already left out. */
export function distinctKeys(values: Uint8Array, width: number): Uint8Array {
  const sorted = ARRAYS[width](values.slice().buffer).sort();
  let kept = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[kept++] = sorted[i];
  }
  return new Uint8Array(sorted.buffer, 0, kept * width);
}

/** A FrameTarget that also collects the non-NULL values of one column. */
export class KeyTap implements FrameTarget {
  /** The keys once the source's last frame is in; undefined where SQL must find them. */
  readonly keys: Promise<ScanKeys | undefined>;
  private settle: (keys: ScanKeys | undefined) => void = () => {};
  private index = -1;
  private width = 0;
  private parts: Uint8Array[] = [];
  private bytes = 0;

  constructor(
    private readonly inner: FrameTarget,
    private readonly sourceColumn: string,
    /** The reduced column: its name in the keys, and its catalog type, which must be the source's. */
    private readonly target: { column: string; type: string },
  ) {
    this.keys = new Promise((resolve) => (this.settle = resolve));
  }

  open(columns: ColumnSchema[]): Promise<void> {
    const norm = (t: string) => t.replace(/\s+/g, '').toUpperCase();
    const index = columns.findIndex((c) => c.name.toLowerCase() === this.sourceColumn.toLowerCase());
    const column = columns[index];
    if (
      column?.wire === 'fixed' &&
      ARRAYS[column.width ?? 0] &&
      norm(column.type) === norm(this.target.type)
    ) {
      this.index = index;
      this.width = column.width as number;
    }
    return this.inner.open(columns);
  }

  write(columns: WireColumn[], rows: number): Promise<void> {
    if (this.index >= 0) this.collect(columns[this.index], rows);
    return this.inner.write(columns, rows);
  }

  close(complete: boolean): Promise<void> {
    this.settle(complete ? this.result() : undefined);
    return this.inner.close(complete);
  }

  private collect(column: WireColumn, rows: number): void {
    const { data, nulls } = column;
    let values = new Uint8Array(data.subarray(0, rows * this.width));
    if (nulls) {
      const kept = new Uint8Array(values.length);
      let at = 0;
      for (let i = 0; i < rows; i++) {
        if (nulls[i]) continue;
        kept.set(values.subarray(i * this.width, (i + 1) * this.width), at);
        at += this.width;
      }
      values = kept.subarray(0, at);
    }
    this.parts.push(values);
    this.bytes += values.length;
    // Far past what distinct keys could fit in: leave it to SQL (a range).
    if (this.bytes > 16 * MAX_SCAN_KEY_BYTES) {
      this.index = -1;
      this.parts = [];
    }
  }

  private result(): ScanKeys | undefined {
    if (this.index < 0) return undefined;
    const all = new Uint8Array(this.bytes);
    let at = 0;
    for (const part of this.parts) {
      all.set(part, at);
      at += part.length;
    }
    const data = distinctKeys(all, this.width);
    if (data.length > MAX_SCAN_KEY_BYTES) return undefined;
    return {
      column: this.target.column,
      rows: data.length / this.width,
      values: { data: Buffer.from(data.buffer, 0, data.length) },
    };
  }
}
