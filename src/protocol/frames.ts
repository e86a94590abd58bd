/**
 * The scan contract: one request, then a stream of numbered frames to the reply subject.
 *
 *   schema (seq 0) → data (seq 1..n) → end (seq n+1)      or, at any point, error
 *
 * A request with `keysFirst` (NATS only) holds its rows once narrowed and sends their keys
 * first: schema → keys… → held → (a `filter` with `held: true` narrows the held rows) →
 * data… → end. Keys and held frames take seqs as data frames do.
 *
 * Data frames are columnar. Binary mode (msgpack) carries raw little-endian column bytes
 * exactly as DuckDB holds them, so nothing is converted on either side; JSON mode (for
 * `nats req` by hand) carries rows of JSON-safe values instead.
 *
 * Around the numbered frames, two kinds of message that are not frames of their own:
 * - `heartbeat` `{seq}`: the sender is alive and has sent every frame before `seq`. A request
 *   with an `id` gets one at once (its control subject is subscribed by then), and every
 *   sender sends one whenever it has sent nothing for HEARTBEAT_MS, so a receiver that hears
 *   nothing for SILENCE_MS knows the sender is gone, first frame or not.
 * - `part` `{seq, at, of, bytes | base64}`: a frame larger than one message (NATS's
 *   max_payload) travels as consecutive parts of its encoded bytes, `[at, at + length)` of
 *   `of`; the receiver joins them and reads frame `seq`. Rows are packed by bytes, so only a
 *   frame holding one very long value (or a very long schema or error) is ever split.
 *
 * Control (NATS only) goes to `duckdb.<table>.control.<id>` (subjects.ts): acks, cancel and a
 * dynamic filter, honoured from the moment the request arrives.
 */
import { z } from 'zod';
import type { IntegerPack } from './integer-pack.js';

export const MAX_SCAN_LIMIT = Number.MAX_SAFE_INTEGER;
export const MAX_ACK_TIMEOUT_MS = 600_000;
/** Bytes of semi-join keys one request may carry: with the rest, far under NATS's 1 MiB max_payload. */
export const MAX_SCAN_KEY_BYTES = 384 * 1024;

const typedArray = <T>(type: new (...args: never[]) => T, what: string) =>
  z.custom<T>((v) => v instanceof type, {
    message: `${what}; keys travel only in msgpack requests, where typed arrays keep their type`,
  });

/** A predicate over the table's columns, as SQL. */
const WhereSchema = z
  .string()
  .min(1)
  .max(512 * 1024);

/** A column a scan computes: its name and its expression over the table's columns. */
export const ComputedColumnSchema = z.object({ name: z.string().min(1).max(256), sql: WhereSchema }).strict();
export type ComputedColumn = z.infer<typeof ComputedColumnSchema>;
export const MAX_COMPUTED_COLUMNS = 64;

/** Branches of an OR a key's code may name (one bit each of one byte). */
export const MAX_BRANCHES = 8;

/** The column of branch codes in keys frames (`keysFirstBranches`), beside the keys of `keysFirst`. */
export const BRANCHES_COLUMN = '__scan_branches';

/**
 * Dynamic filtering with the keys as data: only rows whose `column` equals one of `values`
 * (a wire column in that column's own DuckDB type, as data frames carry it). The container
 * loads them into a TEMP table and semi-joins, so a long key set costs no SQL parsing.
 */
export const ScanKeysSchema = z
  .object({
    column: z.string().min(1).max(256),
    rows: z.number().int().min(0),
    /**
     * `delta`, for an integer column only: `values.data` holds the keys ascending and distinct
     * as LEB128 varints, the first zigzag-encoded, then each gap to the previous key
     * (duckdb/delta-keys.ts); no offsets or nulls.
     */
    encoding: z.literal('delta').optional(),
    values: z
      .object({
        data: typedArray<Uint8Array>(Uint8Array, 'keys.values.data must be bytes'),
        offsets: typedArray<Int32Array>(Int32Array, 'keys.values.offsets must be an Int32Array').optional(),
        nulls: typedArray<Uint8Array>(Uint8Array, 'keys.values.nulls must be bytes').optional(),
      })
      .strict(),
    /**
     * With `delta` keys: the value each key carries, in the keys' order, as a code of `width`
     * bytes (unsigned, little-endian) the requester gave each value (equal values, equal
     * codes). Of the key sets of one request with the same `group`, a row is kept only where
     * the codes its keys carry are all equal: a cycle of joins closed at this table (Q5's
     * lineitem: its order's customer's nation is its supplier's nation).
     */
    match: z
      .object({
        group: z.number().int().min(0).max(15),
        width: z.union([z.literal(1), z.literal(2), z.literal(4)]),
        codes: typedArray<Uint8Array>(Uint8Array, 'keys.match.codes must be bytes'),
      })
      .strict()
      .optional(),
    /**
     * With `delta` keys: the branches of an OR each key's row satisfied on the requester's
     * side (its code: one byte per key in the keys' order, bit i for `where[i]`), and what this
     * table's row must satisfy for each: a row is kept only where, for its key, some bit i is
     * set and `where[i]` is TRUE (TPC-H Q19's lineitem keeps a line only where its part and
     * the line satisfy the same branch). Each `where[i]` is a predicate over the table's
     * columns, as `where` is; with `match`, not both.
     */
    branches: z
      .object({
        codes: typedArray<Uint8Array>(Uint8Array, 'keys.branches.codes must be bytes'),
        where: z.array(WhereSchema).min(1).max(MAX_BRANCHES),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((k) => !k.match || k.encoding === 'delta', 'keys.match needs delta-encoded keys (distinct)')
  .refine((k) => !k.branches || k.encoding === 'delta', 'keys.branches needs delta-encoded keys (distinct)')
  .refine((k) => !(k.branches && k.match), 'keys.branches and keys.match do not go together; send one')
  .refine(
    (k) => !k.branches || k.branches.codes.byteLength === k.rows,
    'keys.branches.codes must hold one byte per key',
  )
  .refine(
    (k) => !k.match || k.match.codes.byteLength === k.rows * k.match.width,
    'keys.match.codes must hold one code of width bytes per key',
  )
  .refine(
    (k) => keyBytes(k) <= MAX_SCAN_KEY_BYTES,
    `keys may take at most ${MAX_SCAN_KEY_BYTES} bytes; send a range in where instead`,
  );

export type ScanKeys = z.output<typeof ScanKeysSchema>;

function keyBytes(k: {
  values: { data: Uint8Array; offsets?: Int32Array };
  match?: { codes: Uint8Array };
  branches?: { codes: Uint8Array; where: string[] };
}): number {
  return (
    k.values.data.byteLength +
    (k.values.offsets?.byteLength ?? 0) +
    (k.match?.codes.byteLength ?? 0) +
    (k.branches?.codes.byteLength ?? 0) +
    (k.branches?.where.reduce((n, w) => n + w.length, 0) ?? 0)
  );
}

/**
 * One key set, or several on different columns (or the same one) that a row must all match:
 * the keys of several joins' other sides, intersected. All together within MAX_SCAN_KEY_BYTES.
 */
const ScanKeySetsSchema = z
  .union([ScanKeysSchema, z.array(ScanKeysSchema).min(1).max(16)])
  .refine(
    (k) => (Array.isArray(k) ? k : [k]).reduce((n, one) => n + keyBytes(one), 0) <= MAX_SCAN_KEY_BYTES,
    `keys may take at most ${MAX_SCAN_KEY_BYTES} bytes in all; send a range in where instead`,
  );

/** The key sets of a request or filter, as a list. */
export function keySets(keys: ScanKeys | ScanKeys[] | undefined): ScanKeys[] {
  return keys === undefined ? [] : Array.isArray(keys) ? keys : [keys];
}

/** A scan id becomes a subject token: letters, digits, `_` and `-` only. */
export const SCAN_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_SCAN_TIMEOUT_MS = 24 * 3600_000;

export const ScanRequestSchema = z
  .object({
    /**
     * Chosen by the requester (random, e.g. a nuid): the sender listens for control messages on
     * `duckdb.<table>.control.<id>` from the moment the request arrives, and acknowledges it
     * at once with a heartbeat. Without one the sender picks an id and names the subject in
     * the schema frame's `control`.
     */
    id: z.string().regex(SCAN_ID_PATTERN, 'id must be 1-64 letters, digits, _ or -').optional(),
    /** Milliseconds the requester will wait in all: the sender stops the scan then (and at its own --query-timeout-ms). */
    timeoutMs: z.number().int().min(1).max(MAX_SCAN_TIMEOUT_MS).optional(),
    /** Columns to return, in this order. Empty means every column. */
    columns: z.array(z.string().min(1).max(256)).max(4096).default([]),
    /** One SQL boolean expression over the table's columns. */
    where: WhereSchema.optional(),
    /**
     * Columns the sender computes and sends after `columns`, in this order: each one scalar
     * expression over the table's columns (checked as `where` is; no aggregate or window),
     * under a name no column of the table has. The requester reads the value where its SQL
     * would compute it, and then need not fetch the columns only that expression reads
     * (projection pushdown: TPC-H Q14's `p_type LIKE 'PROMO%'` travels as a BOOLEAN, not as
     * the string). With `columns`, not with `query`.
     */
    computed: z.array(ComputedColumnSchema).max(MAX_COMPUTED_COLUMNS).optional(),
    limit: z.number().int().min(0).max(MAX_SCAN_LIMIT).optional(),
    /**
     * `where` is offered, not required: the requester applies it again itself, so a sender that
     * cannot (a function or construct it does not know) scans without it, and without `limit`,
     * and says why in the schema frame's `declined`, instead of failing the scan.
     */
    declinable: z.boolean().optional(),
    /**
     * Each distinct row of `columns` once (after `where` and keys), for a requester that reads
     * them only for which rows exist. Rows read in batches are distinct within each batch, so a
     * row may still come more than once. With `columns`, not with `query`.
     */
    distinct: z.boolean().optional(),
    /**
     * Only rows whose key column holds one of these keys (with `columns`, not with `query`);
     * with several key sets, rows that match every one.
     */
    keys: ScanKeySetsSchema.optional(),
    /**
     * Instead of columns/where/limit: one read-only SELECT over this table, run whole by the
     * container (the coordinator pushes single-table queries down this way).
     */
    query: z.string().min(1).max(1_048_576).optional(),
    /**
     * A dynamic filter follows on the control subject (a `filter` message, NATS only): the
     * sender runs `where` at once and sends rows only once the filter has arrived and
     * narrowed them further. With `columns`, not with `query` or `keys`.
     */
    awaitFilter: z.boolean().optional(),
    /**
     * With `awaitFilter`: wait only where `where` keeps more rows than this (estimated on a
     * sample of the table); fewer go at once, unfiltered, being cheaper to send than to hold and
     * filter again. The schema frame's `awaitsFilter` says which it did.
     */
    awaitFilterAbove: z.number().int().min(0).optional(),
    /**
     * With `awaitFilter`: columns the filter's keys may come for. The sender makes their keys
     * tables while it waits, so that less stands between the keys' arrival and the rows.
     */
    filterKeyColumns: z.array(z.string().min(1).max(256)).max(16).optional(),
    /**
     * Columns whose keys the requester wants before the rows (a two-way semi-join: the keys
     * narrow another table's scan, whose own keys then narrow these rows). The sender keeps
     * the rows its predicate and filter leave, sends each column's distinct non-NULL values
     * (`keys` frames), then a `held` frame, and waits for a `filter` with `held: true` before
     * the rows go. Where the rows or their keys are too many to hold, the `held` frame says it
     * does not wait (`waits: false`), and the rows follow at once. NATS only, with `columns`.
     */
    keysFirst: z.array(z.string().min(1).max(256)).min(1).max(16).optional(),
    /**
     * With `keysFirst`: hold the rows only where they are more than this many; fewer go at
     * once (the held frame says `waits: false`), their keys with them.
     */
    holdAbove: z.number().int().min(0).optional(),
    /**
     * With `keysFirst`: predicates over the table's columns (as `where`), the branches of an OR
     * the requester codes keys by. Each row held gets a code, bit i set where `branches[i]` is
     * TRUE on it, and the codes go in keys frames of column BRANCHES_COLUMN (UTINYINT), after
     * the keysFirst columns' and lined up row by row with them; they are not in the data.
     */
    keysFirstBranches: z.array(WhereSchema).min(1).max(MAX_BRANCHES).optional(),
    /**
     * The receiver widens packed integer columns (WireColumn.pack): where a data or keys
     * frame's values of a SMALLINT, INTEGER, BIGINT or DATE column span less than 2^8, 2^16 or
     * 2^32, the sender may send them as offsets from the least (binary mode).
     */
    packIntegers: z.boolean().optional(),
    /** Frames the sender may have in flight before it waits for an ack. */
    window: z.number().int().min(1).max(1024).optional(),
    /** Milliseconds the sender waits for an ack before it gives up on the receiver. */
    ackTimeoutMs: z.number().int().min(100).max(MAX_ACK_TIMEOUT_MS).optional(),
  })
  .strict();

export type ScanRequest = z.input<typeof ScanRequestSchema>;
export type ParsedScanRequest = z.output<typeof ScanRequestSchema>;

/**
 * How a column travels:
 * - `fixed`: `width` bytes per row, DuckDB's in-memory layout (integers, floats, DATE as
 *   int32 days, TIMESTAMP as int64 µs, DECIMAL as its integer, UUID/HUGEINT as int128...);
 * - `varlen`: VARCHAR/BLOB as one byte buffer plus n+1 int32 offsets;
 * - `text`: anything nested or exotic, sent as DuckDB's own VARCHAR cast of the value and
 *   cast back by the receiver, so no value changes.
 */
export type WireKind = 'fixed' | 'varlen' | 'text';

export interface ColumnSchema {
  name: string;
  /** DuckDB's type, as `typeof()`/DESCRIBE prints it, e.g. `DECIMAL(18,3)`. */
  type: string;
  wire: WireKind;
  /** Bytes per row for `fixed`. */
  width?: number;
}

/** How keys frames carry branch codes (`keysFirstBranches`): a column of no data frame. */
export const BRANCHES_SCHEMA: ColumnSchema = {
  name: BRANCHES_COLUMN,
  type: 'UTINYINT',
  wire: 'fixed',
  width: 1,
};

export interface WireColumn {
  /** fixed: rows × width bytes; varlen/text: concatenated UTF-8 (or blob) bytes. */
  data: Uint8Array;
  /** varlen/text only: rows + 1 byte offsets into `data`. */
  offsets?: Int32Array;
  /** Present when any row is NULL: one byte per row, 1 = NULL. */
  nulls?: Uint8Array;
  /**
   * An integer column packed (ScanRequest.packIntegers): `data` holds rows × `pack.width`
   * bytes, each an unsigned little-endian offset from `pack.base` (integer-pack.ts).
   */
  pack?: IntegerPack;
}

export interface SchemaFrame {
  type: 'schema';
  seq: 0;
  columns: ColumnSchema[];
  /** Where the receiver sends acks and cancel (NATS only): `duckdb.<table>.control.<id>`. */
  control?: string;
  /** The SQL the container ran, for stats and debugging. */
  sql: string;
  /** On the answer to an `awaitFilter` request: whether the sender waits for the filter (see `awaitFilterAbove`). */
  awaitsFilter?: boolean;
  /** On the answer to a `declinable` request whose `where` the sender did not apply: why. */
  declined?: string;
}

export interface DataFrame {
  type: 'data';
  seq: number;
  rows: number;
  /** Binary mode. */
  columns?: WireColumn[];
  /** JSON mode: rows of JSON-safe values (big integers and decimals as strings). */
  values?: unknown[][];
}

export interface EndFrame {
  type: 'end';
  seq: number;
  rows: number;
  /** Payload bytes of all data frames. */
  bytes: number;
  frames: number;
  ms: number;
  /** The NATS micro service instance id of the replica that served the scan (NATS only). */
  instance?: string;
}

export interface ErrorFrame {
  type: 'error';
  seq: number;
  error: string;
  message: string;
}

/**
 * Answer to `keysFirst`: the distinct non-NULL values of `column` among the rows held, in the
 * column's type, ascending (`values` a wire column, binary mode only). One frame per column.
 */
export interface KeysFrame {
  type: 'keys';
  seq: number;
  column: string;
  rows: number;
  values: WireColumn;
}

/**
 * Answer to `keysFirst`, after its keys frames: `rows` rows are held and wait for a `filter`
 * with `held: true` (`waits`), or (`waits: false`: too many rows or keys to hold, or no
 * binary mode) no keys came and the rows follow at once.
 */
export interface HeldFrame {
  type: 'held';
  seq: number;
  waits: boolean;
  rows: number;
}

export type Frame = SchemaFrame | DataFrame | KeysFrame | HeldFrame | EndFrame | ErrorFrame;

/** Not a frame: the sender is alive, and frames 0..seq-1 were sent before this (see above). */
export interface HeartbeatMessage {
  type: 'heartbeat';
  seq: number;
  /**
   * The sender's NATS micro service instance id (NATS only): a receiver that stops hearing
   * from it asks `duckdb.<table>.instance.<id>`, and "no responders" means it is gone.
   */
  instance?: string;
}

/** Not a frame: bytes [at, at + length) of frame `seq`'s encoding, `of` bytes in all (see above). */
export interface PartMessage {
  type: 'part';
  seq: number;
  at: number;
  of: number;
  /** msgpack. */
  bytes?: Uint8Array;
  /** JSON. */
  base64?: string;
}

/** Everything a sender puts on the reply subject. */
export type ReplyMessage = Frame | HeartbeatMessage | PartMessage;

/** The dynamic filter a request with `awaitFilter` waits for: keys as data, a predicate, or both (or neither: no narrowing). */
export const ScanFilterSchema = z
  .object({
    type: z.literal('filter'),
    /** For the rows a `keysFirst` request holds (after its `held` frame), not its awaited filter. */
    held: z.literal(true).optional(),
    where: WhereSchema.optional(),
    keys: ScanKeySetsSchema.optional(),
  })
  .strict();

export type ScanFilter = z.input<typeof ScanFilterSchema>;

/**
 * Receiver → sender, on the control subject. An ack is cumulative: it says every data frame
 * up to `seq` was taken; an ack beyond the frames sent is refused (ignored), so it cannot
 * open the window.
 */
export type ControlMessage = { type: 'ack'; seq: number } | { type: 'cancel'; reason?: string } | ScanFilter;

export const DEFAULT_WINDOW = 8;
export const DEFAULT_ACK_TIMEOUT_MS = 30_000;
/** A sender that has sent nothing for this long sends a heartbeat. */
export const HEARTBEAT_MS = 1_000;
/** A receiver that hears nothing for this long (a few heartbeats) fails the scan: the sender is gone. */
export const SILENCE_MS = 5_000;
/** Data frames aim at this many payload bytes; far under NATS's default 1 MiB max_payload. */
export const TARGET_FRAME_BYTES = 512 * 1024;
