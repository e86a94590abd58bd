/**
 * Two integer columns of a source read together from its frames, as pairs sorted by the first:
 * the value each key of a value match leads to (analyze/value-matches.ts; Q5's orders:
 * o_orderkey → o_custkey, customer: c_custkey → c_nationkey). Read from the data frames as they
 * come, or, where the source holds its rows, from its keys frames: each column's frames in the
 * same order, so that their rows line up. A NULL on either side makes no pair (a NULL equals
 * nothing). A key met with two values, a value past ±2^53, more pairs than a key filter
 * carries, or a source that failed leave no pairs: the plain keys go then.
 *
 * Typed arrays, not a Map: tens of thousands of pairs are read, joined and coded on the
 * critical path of a chain of scans, and a table's frames most often come in key order.
 */
import { type IntegerType, integerType, readIntegers } from '../../duckdb/integer-values.js';
import { type ColumnSchema, MAX_SCAN_KEY_BYTES, type WireColumn } from '../../protocol/frames.js';

/** Pairs beyond which no filter could carry the keys (a byte a key at least): none kept past it. */
const MAX_PAIRS = MAX_SCAN_KEY_BYTES;

export interface PairOptions {
  /** A key's values OR-ed bit by bit (codes of branches, bits of a byte), not given up on. */
  orValues?: boolean;
  /** The values come in keys frames only (computed where the rows are held): none without them. */
  keysFramesOnly?: boolean;
}

/** Keys ascending and distinct, each with its value. */
export interface Pairs {
  keys: Float64Array;
  values: Float64Array;
}

/** A growing column of Numbers. */
class Numbers {
  data = new Float64Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }
}

export class PairCollector {
  /** The pairs' columns as read (from data frames, or from keys frames: one column each). */
  private columns: [Numbers, Numbers] = [new Numbers(), new Numbers()];
  private fromKeysFrames = false;
  private result: Pairs | undefined;
  private state: 'collecting' | 'complete' | 'given up' = 'collecting';

  private constructor(
    private readonly types: [IntegerType, IntegerType],
    private readonly how: PairOptions,
  ) {}

  /** A collector of `key` → `value`, or undefined where either is not an integer column. */
  static of(key: ColumnSchema, value: ColumnSchema, how: PairOptions = {}): PairCollector | undefined {
    const keyType = readable(key);
    const valueType = readable(value);
    return keyType && valueType ? new PairCollector([keyType, valueType], how) : undefined;
  }

  /** The rows of a data frame (ignored once keys frames came). */
  addRows(key: WireColumn, value: WireColumn, rows: number): void {
    if (this.state !== 'collecting' || this.fromKeysFrames) return;
    this.read(0, key, rows);
    this.read(1, value, rows);
  }

  /** A keys frame of the key column (`which` 0) or of the value column (1). */
  addKeysFrame(which: 0 | 1, column: WireColumn, rows: number): void {
    if (this.state !== 'collecting') return;
    if (!this.fromKeysFrames) this.columns = [new Numbers(), new Numbers()];
    this.fromKeysFrames = true;
    this.read(which, column, rows);
  }

  /** The keys frames are all in: the pairs are theirs. */
  keysIn(): void {
    if (this.fromKeysFrames) this.end(true);
  }

  /** The source ended (`complete`: every row came), or failed. */
  end(complete: boolean): void {
    if (this.state !== 'collecting') return;
    const [keys, values] = this.columns;
    const read =
      complete && keys.length === values.length && (this.fromKeysFrames || !this.how.keysFramesOnly);
    const pairs = read ? sortedPairs(keys, values, this.how.orValues ?? false) : undefined;
    this.columns = [new Numbers(), new Numbers()];
    this.state = pairs ? 'complete' : 'given up';
    this.result = pairs;
  }

  /** The pairs, once complete; undefined where it gave up. */
  pairs(): Pairs | undefined {
    return this.result;
  }

  private read(which: 0 | 1, column: WireColumn, rows: number): void {
    const into = this.columns[which];
    if (into.length + rows > MAX_PAIRS) {
      this.state = 'given up';
      this.columns = [new Numbers(), new Numbers()];
      return;
    }
    const read = readIntegers(column.data, rows, this.types[which]);
    const nulls = column.nulls;
    for (let i = 0; i < rows; i++) into.push(nulls && nulls[i] === 1 ? Number.NaN : read(i));
  }
}

function readable(column: ColumnSchema): IntegerType | undefined {
  const type = integerType(column.type);
  return type && column.wire === 'fixed' && column.width === type.width ? type : undefined;
}

/**
 * The pairs without NULLs (NaN: NULL or past ±2^53), sorted by key, repeats dropped; undefined
 * where a key has two values, unless `orValues` (they are OR-ed).
 */
function sortedPairs(keys: Numbers, values: Numbers, orValues: boolean): Pairs | undefined {
  const n = keys.length;
  const order = keyOrder(keys.data.subarray(0, n));
  const outKeys = new Float64Array(n);
  const outValues = new Float64Array(n);
  let count = 0;
  for (let j = 0; j < n; j++) {
    const i = order ? order[j] : j;
    const k = keys.data[i];
    const v = values.data[i];
    if (Number.isNaN(k) || Number.isNaN(v)) continue;
    if (count > 0 && outKeys[count - 1] === k) {
      if (orValues) outValues[count - 1] |= v;
      else if (outValues[count - 1] !== v) return undefined;
      continue;
    }
    outKeys[count] = k;
    outValues[count++] = v;
  }
  return { keys: outKeys.subarray(0, count), values: outValues.subarray(0, count) };
}

/**
 * The positions of `keys` in ascending order of key (NaN anywhere: they are dropped after),
 * or undefined where they ascend already. A radix sort of the keys' offsets from the least
 * where they span less than 2^32 values (a scan's join keys: a hash join's output comes in no
 * key order), else a comparison sort.
 */
function keyOrder(keys: Float64Array): Uint32Array | undefined {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let ascending = true;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (Number.isNaN(k)) continue;
    if (k < max) ascending = false;
    if (k < min) min = k;
    if (k > max) max = k;
  }
  if (ascending) return undefined;
  const positions = new Uint32Array(keys.length);
  for (let i = 0; i < keys.length; i++) positions[i] = i;
  // NaN last: past every offset.
  const offset = (k: number) => (Number.isNaN(k) ? max - min + 1 : k - min);
  if (max - min + 1 >= 2 ** 32) return positions.sort((a, b) => offset(keys[a]) - offset(keys[b]));
  const digits = new Uint32Array(keys.length);
  for (let i = 0; i < keys.length; i++) digits[i] = offset(keys[i]);
  const bits = Math.max(1, Math.ceil(Math.log2(max - min + 2)));
  const passes = Math.ceil(bits / 11);
  const width = Math.ceil(bits / passes);
  const mask = 2 ** width - 1;
  const starts = new Uint32Array(mask + 1);
  let from = positions;
  let to = new Uint32Array(keys.length);
  for (let pass = 0; pass < passes; pass++) {
    const shift = pass * width;
    starts.fill(0);
    for (let i = 0; i < from.length; i++) starts[(digits[from[i]] >>> shift) & mask]++;
    let sum = 0;
    for (let d = 0; d <= mask; d++) {
      const c = starts[d];
      starts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < from.length; i++) {
      const p = from[i];
      to[starts[(digits[p] >>> shift) & mask]++] = p;
    }
    [from, to] = [to, from];
  }
  return from;
}

/**
 * A lookup of values by key among `pairs`: an array over the keys' span where they are dense
 * (join keys of a filtered table most often are), else a binary search.
 */
export function valuesByKey(pairs: Pairs): (key: number) => number | undefined {
  const { keys, values } = pairs;
  if (keys.length === 0) return () => undefined;
  const min = keys[0];
  const span = keys[keys.length - 1] - min + 1;
  if (span <= DENSE_SLOTS_PER_KEY * keys.length && span <= MAX_DENSE_SLOTS) {
    const slots = new Float64Array(span).fill(Number.NaN);
    for (let i = 0; i < keys.length; i++) slots[keys[i] - min] = values[i];
    return (key) => {
      const at = key - min;
      const v = at >= 0 && at < span ? slots[at] : Number.NaN;
      return Number.isNaN(v) ? undefined : v;
    };
  }
  return (key) => {
    let lo = 0;
    let hi = keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid];
      if (k === key) return values[mid];
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  };
}

/** A dense lookup takes at most this many slots (8 bytes each) per key, and this many in all. */
const DENSE_SLOTS_PER_KEY = 16;
const MAX_DENSE_SLOTS = 2 ** 24;
