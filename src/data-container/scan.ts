/**
 * Runs one scan request over a loaded table and emits its frames: schema, data…, end — or an
 * error frame. Plain scans read the table in rowid batches so that memory stays bounded
 * whatever the table's size; each batch is materialized, not streamed: a materialized result
 * packs the rows a predicate keeps into full chunks, where a streaming one hands over every
 * scanned vector, nearly empty under a selective predicate (one native round trip each);
 * without a predicate, streaming measured no faster here. A pushed-down `query` streams
 * (scan-plan.ts plans both).
 */
import type { DuckDBConnection, DuckDBDataChunk, DuckDBMaterializedResult } from '@duckdb/node-api';
import { releasingChunks } from '../duckdb/chunk-memory.js';
import { duckdbErrorToQueryError } from '../duckdb/duckdb-errors.js';
import { chunksOf, materializedChunks } from '../duckdb/json-values.js';
import { conjunction } from '../duckdb/sql.js';
import { QueryError } from '../errors.js';
import { observeScan } from '../metrics/container.js';
import type { Encoding } from '../protocol/codec.js';
import { BRANCHES_COLUMN, type ParsedScanRequest, type ScanFilter } from '../protocol/frames.js';
import { FrameEmitter, type FrameSink } from './frame-emitter.js';
import { HeldFrames } from './held-frames.js';
import { prefilter, type ScanSource } from './prefilter.js';
import { checkedComputed, knownColumns, resolveColumns } from './scan-columns.js';
import { ScanKeyTables } from './scan-keys.js';
import { interruptOnAbort } from './scan-liveness.js';
import { type BatchedPlan, planScan, type ScanPlan } from './scan-plan.js';
import { checkedWhere } from './scan-predicates.js';
import { errorFrame } from './scan-request.js';
import { connect, type LoadedTable } from './table.js';

export type { FrameSink } from './frame-emitter.js';

/**
 * Rows a batch of a plain scan aims to return: bounds the memory a scan holds at once. A scan
 * that keeps at most that many rows runs as one query with no rowid range (a 1%-selective scan
 * of 5M rows: ~72 ms of CPU, against ~82 in two rowid batches, whose range filter alone costs
 * ~5), as its source's size, a capped first try, or estimateRows says (wholeResult). Others
 * read rowid ranges: first one row group (its rows go out while the next range runs), then as
 * many rowids as the last range's selectivity says will return about ROWID_BATCH rows, growing
 * at most MAX_GROWTH× at a time, so that a sparse stretch of the table does not make the next
 * range swallow a dense one whole.
 */
const ROWID_BATCH = 1 << 20;
const FIRST_BATCH = 122_880;
const MAX_GROWTH = 4;

/** Rowids to read after a range of `span` rowids that kept `kept` rows. */
function nextSpan(kept: number, span: number): number {
  const forBatch = Math.max(ROWID_BATCH, Math.ceil((ROWID_BATCH * span) / Math.max(kept, 1)));
  return Math.min(forBatch, span * MAX_GROWTH);
}

/**
 * The whole scan as one query where it returns at most ROWID_BATCH rows; undefined where it
 * may return more. A source of at most that many rows runs at once. A scan narrowed by keys
 * runs at once too, capped at one row more, instead of being estimated first (the estimate
 * builds the keys' hash table as the scan does): where the cap is reached, its rows are
 * dropped and the scan reads rowid ranges, having spent at most one batch's work and memory.
 */
async function wholeResult(
  con: DuckDBConnection,
  plan: BatchedPlan,
): Promise<DuckDBMaterializedResult | undefined> {
  if (plan.source.rowCount <= ROWID_BATCH) return con.run(plan.batchSql());
  if (plan.keyed) {
    const capped = await con.run(plan.batchSql(undefined, ROWID_BATCH + 1));
    return capped.rowCount <= ROWID_BATCH ? capped : undefined;
  }
  return (await plan.keptRows()) <= ROWID_BATCH ? con.run(plan.batchSql()) : undefined;
}

/**
 * A batched plan's chunks. Without a LIMIT, the next batch runs in DuckDB's threads while
 * this one is read; with one, each batch asks only for the rows still missing.
 */
async function* batchedChunks(con: DuckDBConnection, plan: BatchedPlan): AsyncGenerator<DuckDBDataChunk> {
  let remaining = plan.limit;
  const whole = remaining === undefined ? await wholeResult(con, plan) : undefined;
  if (whole) {
    yield* materializedChunks(whole);
    return;
  }
  const batch = (lo: number, size: number) => con.run(plan.batchSql({ lo, hi: lo + size }, remaining));
  // rowids of an in-memory table run 0..rowCount-1; one more batch would find nothing.
  let lo = 0;
  let size = FIRST_BATCH;
  let next: Promise<DuckDBMaterializedResult> | undefined = batch(lo, size);
  try {
    while (next) {
      const result: DuckDBMaterializedResult = await next;
      const hi = lo + size;
      const following = nextSpan(result.rowCount, size);
      const more = hi < plan.source.rowCount;
      next = more && remaining === undefined ? batch(hi, following) : undefined;
      next?.catch(() => undefined);
      yield* materializedChunks(result);
      if (remaining !== undefined) {
        remaining -= result.rowCount;
        if (more && remaining > 0) next = batch(hi, following);
      }
      lo = hi;
      size = following;
    }
  } finally {
    await next?.catch(() => undefined);
  }
}

function planChunks(con: DuckDBConnection, plan: ScanPlan) {
  return plan.kind === 'query' ? chunksOf(plan.result) : batchedChunks(con, plan);
}

/**
 * The plan of a request with `awaitFilter`, once its filter has come: over the rows its own
 * predicate kept meanwhile (prefilter.ts), or over the whole table where those were too many
 * or the filter came first. Keeping them (a TEMP table's insert) costs several times what
 * reading the whole table instead adds to the filtered scan (docs/performance.md): a copy the
 * filter overtakes is interrupted, or not started.
 */
async function planFiltered(
  con: DuckDBConnection,
  table: LoadedTable,
  request: ParsedScanRequest,
  awaitFilter: () => Promise<ScanFilter>,
  estimated: number,
): Promise<ScanPlan> {
  const where = await checkedWhere(con, table, request.where);
  // The kept rows hold the columns computed columns read, so that they are computed over them.
  const reads = (await checkedComputed(con, table, request.computed)).flatMap((c) => c.reads);
  const keyTables = new ScanKeyTables(con, table.name);
  // Never rejects: a table that could not be made fails the scan once its keys come.
  const madeAhead = keyTables.prepare(knownColumns(table, request.filterKeyColumns ?? []));
  // `waited`: the filter came (or the wait failed), and the predicate's rows are no longer
  // worth keeping; `keeping`: the prefilter's statement may be running, the only one an
  // interrupt may then stop.
  let waited = false;
  let keeping = false;
  const kept =
    where === undefined
      ? undefined
      : madeAhead.then(async () => {
          if (waited) return undefined;
          keeping = true;
          try {
            return await prefilter(
              con,
              table,
              [...resolveColumns(table, request.columns), ...reads],
              where,
              estimated,
            );
          } finally {
            keeping = false;
          }
        });
  kept?.catch(() => undefined);
  let filter: ScanFilter;
  try {
    filter = await awaitFilter();
  } finally {
    waited = true;
    // Lost where it comes before the statement starts or after it ends: DuckDB stops only
    // the statement running.
    if (keeping) con.interrupt();
    // The connection is the scan's: nothing else may run on it while these do.
    await madeAhead;
    await kept?.catch(() => undefined);
  }
  // Without the kept rows (too many, overtaken, or the prefilter failed) the table is scanned again.
  const source = await kept?.catch(() => undefined);
  // Checked alone before it is joined to another predicate, so that it cannot escape its parentheses.
  const filterWhere = await checkedWhere(con, table, filter.where);
  const narrowed = (from: ScanSource, wheres: (string | undefined)[]) => {
    const all = wheres.filter((w) => w !== undefined);
    // keysFirst with its branches: the codes column the first plan's frames were made with.
    const narrowedRequest = {
      columns: request.columns,
      computed: request.computed,
      limit: request.limit,
      distinct: request.distinct,
      keysFirst: request.keysFirst,
      keysFirstBranches: request.keysFirstBranches,
      keys: filter.keys,
      ...(all.length > 0 && { where: conjunction(all) }),
    };
    return planScan(con, table, narrowedRequest, from, keyTables, request.declinable === true);
  };
  if (!source) return narrowed(table, [where, filterWhere]);
  try {
    return await narrowed(source, [filterWhere]);
  } catch (err) {
    // The filter reads a column the scan does not return, so the kept rows lack it.
    if (!(err instanceof QueryError && err.kind === 'unknown_column')) throw err;
    return narrowed(table, [where, filterWhere]);
  }
}

/**
 * `request` as it is planned: its keysFirstBranches checked to go with it, and left out but
 * in binary mode, the only one whose rows are held (their codes go in keys frames).
 */
function plannedRequest(
  table: LoadedTable,
  request: ParsedScanRequest,
  encoding: Encoding,
): ParsedScanRequest {
  if (!request.keysFirstBranches) return request;
  if (!request.keysFirst) {
    throw new QueryError(
      'bad_request',
      'keysFirstBranches code the rows a keysFirst scan holds: send them with keysFirst',
    );
  }
  if (table.columns.some((c) => c.name.toLowerCase() === BRANCHES_COLUMN)) {
    throw new QueryError(
      'bad_request',
      `table ${table.name} has a column named ${BRANCHES_COLUMN}, the name of the held rows' branch codes; send keysFirst without keysFirstBranches`,
    );
  }
  return encoding === 'msgpack' ? request : { ...request, keysFirstBranches: undefined };
}

/**
 * Sends schema, data…, end — or an error frame — to `sink`. Never throws; stops sending at
 * once when `signal` aborts (the receiver went away or cancelled).
 */
export async function executeScan(
  table: LoadedTable,
  received: ParsedScanRequest,
  encoding: Encoding,
  sink: FrameSink,
  signal: AbortSignal,
): Promise<void> {
  const started = performance.now();
  const observed = observeScan(table.name);
  const con = await connect(table);
  const stopInterrupting = interruptOnAbort(con, signal);
  let emitter: FrameEmitter | undefined;
  try {
    const request = plannedRequest(table, received, encoding);
    const awaitFilter = sink.awaitFilter?.bind(sink);
    if (request.awaitFilter && !awaitFilter) {
      throw new QueryError(
        'bad_request',
        'awaitFilter needs a scan over NATS: only there can the filter follow the request',
      );
    }
    if (request.keysFirst && !awaitFilter) {
      throw new QueryError(
        'bad_request',
        'keysFirst needs a scan over NATS: only there can the filter of the held rows follow',
      );
    }
    let plan = await planScan(con, table, request);
    // With awaitFilter the plan is a column scan whose condition is the request's own predicate;
    // its estimate is kept for the scan itself when it does not wait. A table of at most
    // awaitFilterAbove rows is sent at once whatever its predicate keeps: no estimate needed.
    const above = request.awaitFilterAbove ?? -1;
    const own =
      request.awaitFilter && plan.kind === 'batched' && plan.source.rowCount > above
        ? await plan.keptRows()
        : undefined;
    const waits = own !== undefined && own > above;
    // Sent before the rows are read: the receiver prepares for them meanwhile.
    await sink.send({
      type: 'schema',
      seq: 0,
      columns: plan.branched ? plan.columns.slice(0, -1) : plan.columns,
      sql: plan.display,
      ...(request.awaitFilter && { awaitsFilter: waits }),
      ...(plan.declined && { declined: plan.declined }),
    });
    emitter = new FrameEmitter(sink, encoding, plan.columns, plan.branched === true);
    // Same columns: the filter narrows rows only.
    if (waits && awaitFilter) {
      const applied = plan.declined ? { ...request, where: undefined, limit: undefined } : request;
      plan = await planFiltered(con, table, applied, awaitFilter, own);
    }
    // Key frames carry wire columns: binary mode only. A LIMIT counts rows before any filter.
    // The branch codes are one more key column, after the others.
    const held =
      request.keysFirst && encoding === 'msgpack' && plan.kind === 'batched' && plan.limit === undefined
        ? HeldFrames.for(plan.columns, [...request.keysFirst, ...(plan.branched ? [BRANCHES_COLUMN] : [])])
        : undefined;
    if (request.keysFirst && !held) await emitter.control({ type: 'held', waits: false, rows: 0 });
    emitter.hold(held);
    // Leaving the loop early ends the generator, which waits for DuckDB before the close below.
    for await (const chunk of releasingChunks(planChunks(con, plan))) {
      await emitter.emit(chunk);
      if (signal.aborted) return;
    }
    await emitter.finish();
    if (awaitFilter) await emitter.releaseHeld(request.holdAbove ?? 0, () => awaitFilter(true));
    await sink.send({
      type: 'end',
      seq: emitter.seq,
      rows: emitter.rows,
      bytes: emitter.bytes,
      frames: emitter.frames,
      ms: performance.now() - started,
    });
    observed.ok(emitter.rows, emitter.bytes);
  } catch (err) {
    if (signal.aborted) return;
    await sink.send(errorFrame(emitter?.seq ?? 0, duckdbErrorToQueryError(err))).catch(() => undefined);
  } finally {
    observed.done(signal.aborted);
    stopInterrupting();
    con.closeSync();
  }
}
