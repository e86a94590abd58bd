/**
 * A source's integer key column read from its data frames as they arrive, so that a dynamic
 * filter's keys are in hand at the source's end frame: no wait for its TEMP table's flush nor
 * a DuckDB query over it, both queued on the query's connection behind other scans' appends.
 * The keys are the ones the SQL path (dynamic-filter.ts) reads: distinct, ascending, NULLs
 * dropped, cast to the reduced column's type as TRY_CAST does (a key out of that type's range
 * is dropped). Anything else — another type, a key beyond ±2^53, more keys than a filter
 * carries, a source that failed — leaves the collector without an answer, and the SQL path
 * reads the TEMP table as before.
 */
import type { IntegerLayout } from '../../duckdb/delta-keys.js';
import { type IntegerType, integerType, readIntegers } from '../../duckdb/integer-values.js';
import {
  BRANCHES_COLUMN,
  BRANCHES_SCHEMA,
  type ColumnSchema,
  type KeysFrame,
  MAX_SCAN_KEY_BYTES,
  type WireColumn,
} from '../../protocol/frames.js';
import type { FrameTarget } from './gather.js';
import { PairCollector, type Pairs } from './pair-collector.js';

/**
 * Distinct keys beyond which no filter can carry them: a delta-encoded key takes a byte at
 * least. Past it the collector keeps none (its memory stays bounded).
 */
const REACH = MAX_SCAN_KEY_BYTES;

/**
 * Keys held unsorted (repeats kept) beyond which the collector gives up (its memory stays
 * bounded), leaving the SQL path to answer: DuckDB's DISTINCT on its own threads copes with
 * many repeats better than a sort of them all here, on the event loop.
 */
const MAX_UNSORTED = 2 * REACH;

/** Keys ascending and distinct, each within a reduced column's type (`layout`). */
export interface KeySet {
  rows: number;
  /** The keys as Numbers, every one exact. */
  numbers: Float64Array;
  layout: IntegerLayout;
}

export class KeyCollector {
  private keys = new Float64Array(1024);
  private count = 0;
  /** Whether `keys[0, count)` is ascending and distinct (frames of a table clustered by key are). */
  private sorted = true;
  /** `given up`: past what it holds, or a key it cannot read; the SQL path answers. */
  private state: 'collecting' | 'complete' | 'given up' = 'collecting';

  private constructor(private readonly type: IntegerType) {}

  /** A collector for `column`, or undefined for a type it does not read. */
  static of(column: ColumnSchema): KeyCollector | undefined {
    const type = integerType(column.type);
    return type && column.wire === 'fixed' && column.width === type.width
      ? new KeyCollector(type)
      : undefined;
  }

  /** Reads the keys of a data frame's column (checked against the schema already). */
  add(column: WireColumn, rows: number): void {
    if (this.state !== 'collecting') return;
    const values = readIntegers(column.data, rows, this.type);
    const nulls = column.nulls;
    for (let i = 0; i < rows; i++) {
      if (nulls && nulls[i] === 1) continue;
      const value = values(i);
      if (Number.isNaN(value)) this.giveUp();
      else this.push(value);
      if (this.state !== 'collecting') return;
    }
  }

  /** The source ended (`complete`), or failed: then the SQL path is left to answer. */
  end(complete: boolean): void {
    if (this.state === 'collecting') this.state = complete ? 'complete' : 'given up';
    else if (!complete) this.giveUp();
  }

  /**
   * The keys cast to `type` (a DuckDB type name), ascending and distinct; undefined where the
   * SQL path must answer (more keys than any filter carries among them: the range).
   */
  keysAs(type: string): KeySet | undefined {
    const target = integerType(type);
    if (!target || this.state !== 'complete') return undefined;
    if (!this.sorted) {
      this.count = sortDistinct(this.keys, this.count);
      this.sorted = true;
    }
    const keys = this.keys.subarray(0, this.count);
    // Ascending: the keys out of the reduced type's range are at either end.
    let from = 0;
    let to = keys.length;
    while (from < to && keys[from] < target.min) from++;
    while (to > from && keys[to - 1] > target.max) to--;
    return { rows: to - from, numbers: keys.subarray(from, to), layout: target };
  }

  private push(value: number): void {
    const last = this.count > 0 ? this.keys[this.count - 1] : Number.NaN;
    if (this.sorted && value === last) return;
    if (this.sorted && value < last) this.sorted = false;
    if (this.count === this.keys.length) {
      const grown = new Float64Array(this.keys.length * 2);
      grown.set(this.keys);
      this.keys = grown;
    }
    this.keys[this.count++] = value;
    if (this.count > (this.sorted ? REACH : MAX_UNSORTED)) this.giveUp();
  }

  private giveUp(): void {
    this.state = 'given up';
    this.keys = new Float64Array(0);
    this.count = 0;
  }
}

/** Sorts `keys[0, count)` ascending and drops repeats; returns how many remain. */
export function sortDistinct(keys: Float64Array, count: number): number {
  const all = keys.subarray(0, count);
  if (count < 2) return count;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    if (all[i] < min) min = all[i];
    if (all[i] > max) max = all[i];
  }
  const span = max - min + 1;
  if (span <= BITMAP_WORDS_PER_KEY * 32 * count && span < 2 ** 32) return bitmapSorted(all, min, span);
  if (span <= 2 ** 32) radixSorted(all, min, max);
  else all.sort();
  let n = 0;
  for (let i = 0; i < count; i++) if (n === 0 || all[i] !== all[n - 1]) all[n++] = all[i];
  return n;
}

/**
 * Keys whose span takes at most this many 32-bit words per key are sorted through a bitmap of
 * the span: one pass to set a bit per key, one over the words to read them back in order,
 * repeats gone. Join keys of filtered rows are most often dense in their domain (an order
 * key, a customer key): a few words per key, several times quicker than the radix sort's
 * passes, on the link's critical path.
 */
const BITMAP_WORDS_PER_KEY = 4;

/** `keys` (from `min`, spanning `span` < 2^32 values) ascending and distinct in place; how many. */
function bitmapSorted(keys: Float64Array, min: number, span: number): number {
  const words = new Uint32Array(Math.ceil(span / 32));
  for (let i = 0; i < keys.length; i++) {
    const offset = keys[i] - min;
    words[offset >>> 5] |= 1 << (offset & 31);
  }
  let n = 0;
  for (let w = 0; w < words.length; w++) {
    let word = words[w];
    while (word !== 0) {
      const lowest = word & -word;
      keys[n++] = min + w * 32 + (31 - Math.clz32(lowest));
      word ^= lowest;
    }
  }
  return n;
}

/**
 * LSD radix sort of integers from `min` to `max` spanning at most 2^32 values (their offsets
 * from `min` fit a Uint32Array), in as few passes of at most 11 bits as the span needs.
 */
function radixSorted(keys: Float64Array, min: number, max: number): void {
  let from = new Uint32Array(keys.length);
  let to = new Uint32Array(keys.length);
  for (let i = 0; i < keys.length; i++) from[i] = keys[i] - min;
  const bits = Math.max(1, Math.ceil(Math.log2(max - min + 1)));
  const passes = Math.ceil(bits / 11);
  const digit = Math.ceil(bits / passes);
  const mask = 2 ** digit - 1;
  const starts = new Uint32Array(mask + 1);
  for (let pass = 0; pass < passes; pass++) {
    const shift = pass * digit;
    starts.fill(0);
    for (let i = 0; i < from.length; i++) starts[(from[i] >>> shift) & mask]++;
    let sum = 0;
    for (let d = 0; d <= mask; d++) {
      const n = starts[d];
      starts[d] = sum;
      sum += n;
    }
    for (let i = 0; i < from.length; i++) {
      const v = from[i];
      to[starts[(v >>> shift) & mask]++] = v;
    }
    [from, to] = [to, from];
  }
  for (let i = 0; i < keys.length; i++) keys[i] = from[i] + min;
}

/**
 * A source's frames into `target`, with the columns named in `collect` (those that feed
 * reductions) read into collectors on the way. Its end frame completes the collectors and
 * calls `onEnd` before `target` closes (the TEMP table's flush queues on the query's
 * connection), so that keys can leave at once. A source that holds its rows and sends the keys
 * of its columns `first` before them (keys frames, then a held frame that says its rows wait)
 * completes those at its held frame, and calls `onKeys` then (else at its end); `onHeld` is
 * told whether its rows wait, or (false) that it ended first.
 */
export class KeyCollectingTarget implements FrameTarget {
  private readonly collectors = new Map<
    string,
    { column: number; collector: KeyCollector; first: boolean }
  >();
  private readonly pairCollectors = new Map<
    string,
    { names: [string, string]; columns: [number, number]; collector: PairCollector }
  >();
  private keysIn = false;
  private ended = false;

  constructor(
    private readonly target: FrameTarget,
    private readonly collect: readonly string[],
    private readonly on: {
      end?: () => void;
      keys?: () => void;
      held?: (waits: boolean) => void;
      first?: readonly string[];
      /** Columns read together, as pairs (key, value) sorted by key (pair-collector.ts). */
      pairs?: readonly (readonly [string, string])[];
    } = {},
  ) {}

  async open(columns: ColumnSchema[]): Promise<void> {
    const first = new Set((this.on.first ?? []).map((name) => name.toLowerCase()));
    // DuckDB's identifiers are case-insensitive: the SQL path finds the column so too.
    const only = (name: string) => {
      const matches = columns.flatMap((c, i) => (c.name.toLowerCase() === name.toLowerCase() ? [i] : []));
      return matches.length === 1 ? matches[0] : undefined;
    };
    for (const name of this.collect) {
      const at = only(name);
      const collector = at === undefined ? undefined : KeyCollector.of(columns[at]);
      if (at !== undefined && collector)
        this.collectors.set(name, { column: at, collector, first: first.has(name.toLowerCase()) });
    }
    for (const [key, value] of this.on.pairs ?? []) {
      const k = only(key);
      // Branch codes are computed where the rows are held: in keys frames only, not a column.
      const branches = value === BRANCHES_COLUMN;
      const v = branches ? -1 : only(value);
      const valueColumn = branches ? BRANCHES_SCHEMA : v === undefined ? undefined : columns[v];
      const how = branches ? { orValues: true, keysFramesOnly: true } : {};
      const collector =
        k === undefined || v === undefined || !valueColumn
          ? undefined
          : PairCollector.of(columns[k], valueColumn, how);
      if (k !== undefined && v !== undefined && collector)
        this.pairCollectors.set(pairName(key, value), {
          names: [key.toLowerCase(), value.toLowerCase()],
          columns: [k, v],
          collector,
        });
    }
    await this.target.open(columns);
  }

  async write(columns: WireColumn[], rows: number): Promise<void> {
    for (const { column, collector, first } of this.collectors.values())
      if (!(first && this.keysIn)) collector.add(columns[column], rows);
    if (!this.keysIn)
      for (const {
        columns: [k, v],
        collector,
      } of this.pairCollectors.values())
        if (v >= 0) collector.addRows(columns[k], columns[v], rows);
    await this.target.write(columns, rows);
  }

  keys(frame: KeysFrame): void {
    const name = frame.column.toLowerCase();
    for (const [collected, { collector, first }] of this.collectors)
      if (first && collected.toLowerCase() === name) collector.add(frame.values, frame.rows);
    for (const {
      names: [key, value],
      collector,
    } of this.pairCollectors.values()) {
      if (key === name) collector.addKeysFrame(0, frame.values, frame.rows);
      if (value === name) collector.addKeysFrame(1, frame.values, frame.rows);
    }
  }

  held(waits: boolean): void {
    if (waits) {
      for (const { collector, first } of this.collectors.values()) if (first) collector.end(true);
      for (const { collector } of this.pairCollectors.values()) collector.keysIn();
      this.keysIn = true;
      this.on.keys?.();
    }
    this.on.held?.(waits);
  }

  async close(complete: boolean): Promise<void> {
    for (const { collector } of this.collectors.values()) collector.end(complete);
    for (const { collector } of this.pairCollectors.values()) collector.end(complete);
    this.ended = complete;
    if (complete) {
      this.on.keys?.();
      this.on.end?.();
    }
    this.on.held?.(false);
    await this.target.close(complete);
  }

  /** `name`'s collector, once its keys are all in (the end frame came, or its keys came first). */
  collected(name: string): KeyCollector | undefined {
    const entry = this.collectors.get(name);
    return entry && (this.ended || (entry.first && this.keysIn)) ? entry.collector : undefined;
  }

  /** The pairs of `key` and `value`, once complete (all rows came, or the keys frames of held rows). */
  paired(key: string, value: string): Pairs | undefined {
    return this.pairCollectors.get(pairName(key, value))?.collector.pairs();
  }
}

const pairName = (key: string, value: string) => JSON.stringify([key, value]);

/** The collecting targets of one query's scans, by scan name. */
export class SourceKeys {
  private readonly targets = new Map<string, KeyCollectingTarget>();
  private readonly keyFrames = new Map<string, Promise<void>>();
  private readonly endFrames = new Map<string, Promise<void>>();
  private readonly holding = new Map<string, Promise<boolean>>();

  /**
   * What wraps `scan`'s target to collect `columns`; undefined where no reduction reads its
   * keys. `first`: the columns whose keys it is asked to send before its rows, which it holds.
   */
  collecting(
    scan: string,
    columns: readonly string[],
    first: readonly string[] = [],
    pairs: readonly (readonly [string, string])[] = [],
  ): ((target: FrameTarget) => FrameTarget) | undefined {
    if (columns.length === 0 && pairs.length === 0) return undefined;
    let keys = () => {};
    let end = () => {};
    let held: (waits: boolean) => void = () => {};
    this.keyFrames.set(scan, new Promise<void>((resolve) => (keys = resolve)));
    this.endFrames.set(scan, new Promise<void>((resolve) => (end = resolve)));
    if (first.length > 0) this.holding.set(scan, new Promise<boolean>((resolve) => (held = resolve)));
    return (target) => {
      const collecting = new KeyCollectingTarget(target, columns, { keys, end, held, first, pairs });
      this.targets.set(scan, collecting);
      return collecting;
    };
  }

  /**
   * Resolves once the keys `scan` sends first are in (its held frame, where its rows wait) or
   * its end frame came, where it collects keys, else once `gathered` (its gather) does;
   * rejects with it.
   */
  ended(scan: string, gathered: Promise<unknown>): Promise<unknown> {
    const keys = this.keyFrames.get(scan);
    return keys ? handled(Promise.race([keys, gathered])) : gathered;
  }

  /** Resolves once `scan`'s end frame came (all its rows, all its keys), else as `gathered`. */
  rowsIn(scan: string, gathered: Promise<unknown>): Promise<unknown> {
    const end = this.endFrames.get(scan);
    return end ? handled(Promise.race([end, gathered])) : gathered;
  }

  /**
   * Resolves true once `scan` holds its rows until keys of later scans come (its first keys
   * are then all that a filter may read of it: its TEMP table waits for those scans), false
   * once it is known not to (it was not asked to, said no, ended, or `gathered` settled).
   */
  holds(scan: string, gathered: Promise<unknown>): Promise<boolean> {
    const held = this.holding.get(scan);
    if (!held) return Promise.resolve(false);
    const settled = gathered.then(
      () => false,
      () => false,
    );
    return Promise.race([held, settled]);
  }

  /** `column`'s collector of `scan`, once its keys are all in. */
  of(scan: string, column: string): KeyCollector | undefined {
    return this.targets.get(scan)?.collected(column);
  }

  /** `scan`'s pairs of `key` and `value` values, once complete. */
  pairs(scan: string, key: string, value: string): Pairs | undefined {
    return this.targets.get(scan)?.paired(key, value);
  }
}

/**
 * `promise`, marked handled: a source's progress is made for every reduction that may read it,
 * and most read only part of it. A failed source's gather is reported where the query awaits
 * it; a race left unread would otherwise be an unhandled rejection, which ends the process.
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
