/**
 * One query, start to finish: analyze → scatter scans at once → gather into TEMP tables of
 * a fresh connection → run the user's SQL there unchanged → drop the connection.
 * A timeout or a client that goes away aborts the scans at the containers and interrupts DuckDB.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { duckdbErrorToQueryError } from '../../duckdb/duckdb-errors.js';
import type { ChunkSource } from '../../duckdb/json-values.js';
import { conjunction, quoteIdent } from '../../duckdb/sql.js';
import { QueryError, REFUSED_EXPRESSION_KINDS } from '../../errors.js';
import { type ScanRequest, SILENCE_MS } from '../../protocol/frames.js';
import { msSince, roundMs } from '../../timing.js';
import type { Catalog, CatalogTable } from '../catalog/catalog.js';
import { catalogAnswer } from '../catalog/catalog-sql.js';
import { StaleCopyError, type TableCopy } from '../catalog/reference-tables.js';
import { AnalysisCache } from '../plan/analysis-cache.js';
import {
  analyzeQuery,
  exactOrAsWritten,
  type QueryAnalysis,
  scanName,
  shownComputed,
  type TableCatalogEntry,
  type TableScanPlan,
} from '../plan/analyze/index.js';
import { type AnalyzeRewritten, pushSubqueries } from '../plan/subquery-pushdown.js';
import { branchPairs } from './branch-code-filter.js';
import { runCapped } from './capped-result.js';
import { type GatherStats, gatherFrames } from './gather.js';
import { gatherInto } from './gather-table.js';
import { carriedWithKeys, heldScansOf } from './held-scans.js';
import { type KeptRows, keptRowsEstimator } from './kept-rows.js';
import { SourceKeys } from './key-collector.js';
import { PushedResultTarget } from './pushed-result.js';
import { openPushedStream } from './pushed-stream.js';
import type { ExecutorContext, OpenOptions, OpenQuery, QueryStats } from './query.js';
import { timeoutError } from './query.js';
import {
  gatherReduced,
  type HeldPlan,
  inReductionOrder,
  MAX_AWAITED_SOURCE_ROWS,
  opportunistic,
  SEND_AT_ONCE_ROWS,
  useful,
} from './reduction-schedule.js';
import { type CopyScan, forgetGathered, QueryCopies, serveFromCopies } from './reference-scan.js';
import { scalarWhere } from './scalar-filter.js';
import { Serial } from './serial.js';
import { gatherPartials } from './shards/partial-gather.js';
import { pairColumns } from './value-match-filter.js';

/** The pushed-down result of a whole query is gathered under this TEMP name. */
const PUSHED_RESULT = '__pushed_result';

function unknownTable(name: string, catalog: Catalog): QueryError {
  const names = catalog.list().map((t) => t.name);
  return new QueryError(
    'unknown_table',
    `table "${name}" does not exist; tables: ${names.length ? names.join(', ') : '(none reachable yet)'}`,
  );
}

function catalogEntries(ctx: ExecutorContext): TableCatalogEntry[] {
  return ctx.catalog.list().map((t) => ({
    name: t.name,
    columns: t.columns.map((c) => c.name),
    types: t.columns.map((c) => c.type),
    rows: t.rowCount,
  }));
}

/** The containers' estimates of their predicates' rows, where pushdown is on (kept-rows.ts). */
function keptRows(ctx: ExecutorContext): KeptRows | undefined {
  return ctx.pushdown ? keptRowsEstimator((name) => ctx.catalog.get(name), ctx.nc) : undefined;
}

/** The analysis of SQL rewritten over pushed subqueries' TEMP tables (subquery-pushdown.ts). */
export function analyzeRewritten(ctx: ExecutorContext): AnalyzeRewritten {
  return async (sql, results) => {
    const catalog = catalogEntries(ctx);
    const key = AnalysisCache.key(`${sql}\n${JSON.stringify(results)}`, catalog);
    const cached = ctx.analyses.get(key);
    if (cached) return cached;
    const analysis = await analyzeQuery(sql, catalog, ctx.engine, {
      results,
      scanPerReference: ctx.pushdown,
      keptRows: keptRows(ctx),
    });
    ctx.analyses.set(key, analysis);
    return analysis;
  };
}

export async function analyze(sql: string, ctx: ExecutorContext): Promise<QueryAnalysis> {
  const run = async () => {
    const catalog = catalogEntries(ctx);
    const key = AnalysisCache.key(sql, catalog);
    const cached = ctx.analyses.get(key);
    if (cached) return cached;
    const options = {
      wholeQueriesRunWhole: ctx.pushdown,
      scanPerReference: ctx.pushdown,
      keptRows: keptRows(ctx),
    };
    const first = await analyzeQuery(sql, catalog, ctx.engine, options);
    // A query of one split table is not run whole (wholeQueryTarget): its filters go to the parts.
    const split = first.pushWhole && ctx.pushdown && ctx.catalog.get(first.tables[0].table)?.parts;
    const analysis = split
      ? await analyzeQuery(sql, catalog, ctx.engine, {
          scanPerReference: ctx.pushdown,
          keptRows: keptRows(ctx),
        })
      : first;
    ctx.analyses.set(key, analysis);
    return analysis;
  };
  try {
    return await run();
  } catch (err) {
    // A table that appeared since the last refresh is queryable without a restart.
    if (!(err instanceof QueryError) || err.kind !== 'unknown_table') throw err;
    await ctx.catalog.refresh();
    return run().catch((again: unknown) => {
      if (!(again instanceof QueryError) || again.kind !== 'unknown_table' || ctx.nc || !ctx.natsUrl)
        throw again;
      throw new QueryError(
        'unknown_table',
        `${again.message} (NATS at ${ctx.natsUrl} is not connected yet: its tables appear once it is)`,
      );
    });
  }
}

function reachable(plan: TableScanPlan, ctx: ExecutorContext): CatalogTable {
  const table = ctx.catalog.get(plan.table);
  if (!table) throw unknownTable(plan.table, ctx.catalog);
  if (table.error) {
    throw new QueryError('unavailable', `table ${table.name} cannot be queried: ${table.error}`);
  }
  return table;
}

/** What to ask a container for one table: pushed columns and predicate, or everything. */
function scanRequestFor(plan: TableScanPlan, table: CatalogTable, pushdown: boolean): ScanRequest {
  if (!pushdown) return { columns: [] };
  // A query that needs no column of a table (count(*) over a join) still needs its rows.
  const columns = plan.columns.length > 0 ? plan.columns : [table.columns[0].name];
  // A container may decline the predicate: the SQL as written applies it again (a decline of
  // a conjunct the exact SQL leaves out makes the query gather again as written).
  return {
    columns,
    ...(plan.computed && { computed: plan.computed }),
    ...(plan.where && { where: plan.where, declinable: true }),
    ...(plan.distinct && { distinct: true }),
  };
}

/** `request` with `more` ANDed to its where (offered as its where is). */
function withWhere(request: ScanRequest, more: string): ScanRequest {
  const where = request.where === undefined ? more : conjunction([request.where, more]);
  return { ...request, where, declinable: true };
}

/** The SQL names a table as users know it: its containers must know it by the same name. */
function knownByItsName(table: CatalogTable): boolean {
  return table.remoteName.toLowerCase() === table.name.toLowerCase();
}

/** The one table of a query that reads a single table, when its containers can run the SQL. */
function wholeQueryTable(analysis: QueryAnalysis, ctx: ExecutorContext): CatalogTable | undefined {
  if (!ctx.pushdown || !analysis.pushWhole || analysis.tables.length !== 1) return undefined;
  const table = reachable(analysis.tables[0], ctx);
  return knownByItsName(table) ? table : undefined;
}

/** The one table of a query that reads a single table, when its container can run it whole. */
export function wholeQueryTarget(analysis: QueryAnalysis, ctx: ExecutorContext): CatalogTable | undefined {
  const table = wholeQueryTable(analysis, ctx);
  // A part holds only some of a split table's rows: its container cannot answer for all.
  return table && !table.parts ? table : undefined;
}

/** The split table a single-table query reads, which its parts may aggregate (partial-gather.ts). */
export function splitWholeQuery(analysis: QueryAnalysis, ctx: ExecutorContext) {
  const table = wholeQueryTable(analysis, ctx);
  const parts = table?.parts;
  return table && parts ? { ...table, parts } : undefined;
}

/** The table named `name`, when its containers can run a query over it by that name (a split one's in its parts). */
export function queryableTable(name: string, ctx: ExecutorContext): CatalogTable | undefined {
  const table = ctx.catalog.get(name);
  return table && !table.error && knownByItsName(table) ? table : undefined;
}

interface Gathered {
  stats: GatherStats[];
  /** The answer, when it is in hand already (a pushed query's rows); else `userSql` gives it. */
  result?: ChunkSource;
  userSql: string;
  pushedWhole: boolean;
  /** Why work stayed in the coordinator, learnt while gathering. */
  notes?: string[];
  /** Releases what the result still holds at the containers (a streamed pushed query). */
  close?: () => Promise<void>;
}

/**
 * A container declined a `where` the coordinator's SQL leaves out, or could not compute a
 * column the SQL reads in place of an expression (exact-filters.ts, computed-columns.ts): the
 * query is gathered again with the SQL as written.
 */
class ExactPlanRefused extends Error {}

async function gatherAll(
  con: DuckDBConnection,
  sql: string,
  analysis: QueryAnalysis,
  ctx: ExecutorContext,
  signal: AbortSignal,
  cancel: () => void,
  options: OpenOptions,
  copies: QueryCopies,
  exact: boolean,
): Promise<Gathered> {
  const opts = {
    nc: ctx.nc,
    idleTimeoutMs: Math.min(ctx.timeoutMs, SILENCE_MS),
    deadline: performance.now() + ctx.timeoutMs,
    origin: performance.now(),
    signal,
    serial: new Serial(),
  };
  const whole = wholeQueryTarget(analysis, ctx);
  if (whole) {
    const request = { columns: [], query: sql };
    const opened = options.materialize
      ? undefined
      : await openPushedStream(con, opts.serial, whole, request, opts);
    if (opened && 'stream' in opened) {
      const { stream } = opened;
      return {
        stats: [stream.stats],
        result: stream,
        userSql: '',
        pushedWhole: true,
        close: () => stream.close(),
      };
    }
    const pushed = new PushedResultTarget(con, PUSHED_RESULT, opts, options.maxRows);
    const stats = await gatherFrames(whole, request, opts, pushed, opened?.frames);
    const select = stats.columns.map((name, i) => `c${i} AS ${quoteIdent(name)}`).join(', ');
    return {
      stats: [stats],
      result: pushed.result(),
      userSql: `SELECT ${select} FROM temp.main.${quoteIdent(PUSHED_RESULT)}`,
      pushedWhole: true,
    };
  }
  const notes: string[] = [];
  const split = splitWholeQuery(analysis, ctx);
  if (split) {
    const partial = await gatherPartials(con, sql, split, analysis.tables[0].where, opts);
    if (partial && 'stats' in partial)
      return { stats: [partial.stats], userSql: partial.mergeSql, pushedWhole: false, notes };
    if (partial)
      notes.push(
        `not aggregated in the parts of ${split.name}: ${partial.reason}; they send their filtered rows`,
      );
  }
  // Aggregating subqueries of one table run in its container; the rest is gathered as before.
  const scansSql = analysis.sql ?? sql;
  const subqueries = ctx.pushdown
    ? await pushSubqueries(
        con,
        scansSql,
        analysis,
        (name) => queryableTable(name, ctx),
        analyzeRewritten(ctx),
        opts,
      )
    : undefined;
  notes.push(...(subqueries?.notes ?? []));
  const reading = subqueries?.analysis ?? analysis;
  const running = exactOrAsWritten(reading, ctx.pushdown && exact, subqueries?.sql ?? scansSql);
  const targets = running.plans.map((plan) => ({ plan, table: reachable(plan, ctx) }));
  /** Scans that declined a filter `running.sql` leaves out: gathered again as written. */
  const declinedExact: string[] = [];
  // A table the coordinator holds a copy of is in at once; reductions of it are dropped
  // from the schedule (the final SQL filters it), and kept for narrowing its keys here.
  const copied = new Map<string, TableCopy>();
  const fromCopies: CopyScan[] = [];
  for (const { plan, table } of ctx.pushdown ? targets : []) {
    const copy = copies.serving(table);
    if (!copy) continue;
    copied.set(scanName(plan), copy);
    fromCopies.push({ copy, table, plan, scan: scanName(plan) });
  }
  const copyStats = new Map(
    serveFromCopies(con, opts.serial, fromCopies).map((stats, i) => [fromCopies[i].scan, stats]),
  );
  const allReductions = ctx.pushdown ? useful(reading) : [];
  const reductions = allReductions.filter((r) => !copied.has(r.table));
  // Scans go out at once, except those reduced by keys of other tables: they follow as soon
  // as those tables are in (or, for a scan with a predicate of its own, once they prove large).
  // The first failure cancels the others, and they must all have stopped using the
  // connection before it is closed.
  const gathers = new Map<string, Promise<GatherStats>>();
  const large = new Map<string, Promise<void>>();
  /** Makes `large`'s promise for `name`; the function returned is told its rows so far. */
  const gatheredRows = new Map<string, number>();
  const sizeWatch = (name: string): ((rows: number) => void) => {
    let proveLarge = () => {};
    large.set(name, new Promise<void>((resolve) => (proveLarge = resolve)));
    return (rows) => {
      gatheredRows.set(name, rows);
      if (rows > MAX_AWAITED_SOURCE_ROWS) proveLarge();
    };
  };
  const independent = new Map<string, { known: Promise<boolean>; declare: (yes: boolean) => void }>();
  for (const { plan } of targets) {
    let declare: (yes: boolean) => void = () => {};
    const known = new Promise<boolean>((resolve) => (declare = resolve));
    independent.set(scanName(plan), { known, declare });
  }
  const allOthers = ctx.pushdown ? opportunistic(reading) : [];
  const others = allOthers.filter((r) => !copied.has(r.table));
  const ordered = inReductionOrder(targets, reductions);
  const held =
    ctx.pushdown && ctx.twoWayReductions
      ? heldScansOf(reading, ordered, reductions, new Set(copied.keys()), ctx.holdAboveRows)
      : new Map<string, HeldPlan>();
  // Value matches' sources are read for pairs of columns, branch codes' for codes: a held one
  // sends them in its keys frames (no reductions without pushdown: none).
  const { matches, codes } = carriedWithKeys(reading, reductions, held, ordered);
  const backward = [...held.values()].flatMap((h) => h.backward);
  // The key columns each source feeds reductions with are read from its frames as they come.
  const sourceKeys = new SourceKeys();
  const keyColumns = (scan: string) => [
    ...new Set(
      [...reductions, ...others, ...backward].filter((r) => r.source === scan).map((r) => r.sourceColumn),
    ),
  ];
  const gather = ({ plan, table }: (typeof targets)[number]): Promise<GatherStats> => {
    const scan = scanName(plan);
    const sized = sizeWatch(scan);
    const own = {
      ...opts,
      onRows: (rows: number) => {
        options.progress?.(scan, rows);
        sized(rows);
      },
    };
    const asPlanned = scanRequestFor(plan, table, ctx.pushdown);
    // Comparisons with pushed scalar subqueries' values join its predicate once those are in.
    const scalars = ctx.pushdown && plan.scalars ? plan.scalars : [];
    const requested =
      scalars.length === 0
        ? Promise.resolve(asPlanned)
        : scalarWhere(con, opts.serial, scalars, (result) => gathers.get(result)).then((more) =>
            more === undefined ? asPlanned : withWhere(asPlanned, more),
          );
    const mine = reductions.filter((r) => r.table === scan);
    const { declare } = independent.get(scan) as { declare: (yes: boolean) => void };
    const holding = held.get(scan);
    const collecting = sourceKeys.collecting(scan, keyColumns(scan), holding?.first, [
      ...pairColumns(matches, scan),
      ...(holding?.branches ? branchPairs(codes, scan) : []),
    ]);
    const fromCopy = copyStats.get(scan);
    if (fromCopy) {
      declare(true);
      return fromCopy.then((stats) => {
        sized(stats.rows);
        return stats;
      });
    }
    if (mine.length === 0 && !holding) {
      declare(true);
      return requested.then((request) => gatherInto(con, table, request, scan, own, collecting));
    }
    return requested
      .then((request) =>
        gatherReduced({
          con,
          serial: opts.serial,
          table,
          plan,
          request,
          reductions: mine,
          held: holding,
          opportunistic: others.filter((r) => r.table === scan),
          reductionsOf: (source) => [...allReductions, ...allOthers].filter((r) => r.table === source),
          progress: (source) => ({
            in: gathers.get(source) as Promise<GatherStats>,
            ended: sourceKeys.ended(source, gathers.get(source) as Promise<GatherStats>),
            large: large.get(source) as Promise<void>,
            rows: () => gatheredRows.get(source) ?? 0,
            rowsIn: sourceKeys.rowsIn(source, gathers.get(source) as Promise<GatherStats>),
            holds: sourceKeys.holds(source, gathers.get(source) as Promise<GatherStats>),
            independent: independent.get(source)?.known ?? Promise.resolve(false),
          }),
          collected: (source, column) => sourceKeys.of(source, column),
          pairs: (source, key, value) => sourceKeys.pairs(source, key, value),
          match: matches.get(scan),
          branchCode: codes.get(scan),
          declare,
          queryTimeoutMs: ctx.timeoutMs,
          sendAtOnceRows: ctx.sendAtOnceRows ?? SEND_AT_ONCE_ROWS,
          gather: (req, filter, onSchema, heldFilter) =>
            gatherInto(
              con,
              table,
              req,
              scan,
              {
                ...own,
                ...(filter && { filter }),
                ...(onSchema && { onSchema }),
                ...(heldFilter && { heldFilter }),
              },
              collecting,
            ),
        }),
      )
      .finally(() => declare(false));
  };
  // Pushed subqueries first, then the scans in reduction order, so that every source is in
  // the maps before its target looks it up (an IN's result may be keys: subquery-sources.ts).
  const watches = new Map<string, (rows: number) => void>();
  for (const [temp, gathering] of subqueries?.start((t, rows) => watches.get(t)?.(rows)) ?? []) {
    watches.set(temp, sizeWatch(temp));
    gathers.set(temp, gathering);
    independent.set(temp, { known: Promise.resolve(true), declare: () => {} });
  }
  for (const target of ordered)
    gathers.set(
      scanName(target.plan),
      gather(target).then(
        (stats) => {
          if (running.exact && stats.declined && target.plan.exact?.applied.length)
            declinedExact.push(`${scanName(target.plan)}: ${stats.declined}`);
          return withScan(stats, target.plan);
        },
        (err: unknown) => {
          if (
            running.exact &&
            target.plan.computed &&
            err instanceof QueryError &&
            REFUSED_EXPRESSION_KINDS.has(err.kind)
          )
            throw new ExactPlanRefused(
              `the container of ${scanName(target.plan)} could not compute a column the coordinator's SQL reads (${err.message})`,
            );
          throw err;
        },
      ),
    );
  const all = [...gathers.values()];
  try {
    const stats = await Promise.all(all);
    await copies.confirmed();
    if (declinedExact.length > 0)
      throw new ExactPlanRefused(
        `a container declined a filter the coordinator's SQL left out (${declinedExact.join('; ')})`,
      );
    for (const s of stats)
      if (s.declined)
        notes.push(
          `${s.scan ?? s.table}: its container declined where ${s.where}, applied here instead: ${s.declined}`,
        );
    return { stats, userSql: running.sql, pushedWhole: false, notes };
  } catch (err) {
    // A stale copy or a declined exact filter leaves the scans to end: the query is gathered again.
    if (!(err instanceof StaleCopyError || err instanceof ExactPlanRefused)) cancel();
    await Promise.allSettled(all);
    throw err;
  }
}

/**
 * `gatherAll`, once more without copies where one proved stale, or with the SQL as written
 * where a container declined a filter it leaves out (nothing of the first is kept).
 */
async function gatherChecked(
  con: DuckDBConnection,
  copies: QueryCopies,
  gather: (exact: boolean) => Promise<Gathered>,
): Promise<Gathered> {
  let exact = true;
  const notes: string[] = [];
  for (let attempt = 0; ; attempt++) {
    try {
      const gathered = await gather(exact);
      return notes.length === 0 ? gathered : { ...gathered, notes: [...(gathered.notes ?? []), ...notes] };
    } catch (err) {
      if (attempt < 2 && err instanceof StaleCopyError) {
        copies.stop();
        notes.push(`${err.message}: gathered again from the containers`);
      } else if (attempt < 2 && err instanceof ExactPlanRefused) {
        exact = false;
        notes.push(`${err.message}: gathered again with the SQL as written`);
      } else {
        throw err;
      }
      await forgetGathered(con);
    }
  }
}

/** A scan's stats, saying which references it is for where its table has several scans, and what it computed. */
function withScan(stats: GatherStats, plan: TableScanPlan): GatherStats {
  return {
    ...stats,
    ...(plan.references && { scan: scanName(plan), references: plan.references }),
    ...(plan.computed && { computed: plan.computed.map(shownComputed) }),
  };
}

/** The user's SQL run over the gathered tables: materialized (under the cap), or streamed. */
function answerOf(con: DuckDBConnection, sql: string, options: OpenOptions): Promise<ChunkSource> {
  if (!options.materialize) return con.stream(sql);
  return options.maxRows === undefined ? con.run(sql) : runCapped(con, sql, options.maxRows);
}

/**
 * Runs `sql` and returns its result open for reading. `signal` is the caller's (client
 * disconnect); the timeout is added here.
 */
export async function openQuery(
  sql: string,
  ctx: ExecutorContext,
  callerSignal: AbortSignal,
  options: OpenOptions = {},
): Promise<OpenQuery> {
  const fromCatalog = await catalogAnswer(sql, ctx, callerSignal, options);
  if (fromCatalog) return fromCatalog;
  const started = performance.now();
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, ctx.timeoutMs);
  const onCallerAbort = () => controller.abort(callerSignal.reason);
  callerSignal.addEventListener('abort', onCallerAbort, { once: true });
  const con = await ctx.engine.connect();
  const copies = new QueryCopies(ctx.pushdown ? ctx.references : undefined, ctx.nc);
  const onAbort = () => con.interrupt();
  controller.signal.addEventListener('abort', onAbort, { once: true });
  let closeGathered: (() => Promise<void>) | undefined;
  const close = () => {
    void closeGathered?.().catch(() => undefined);
    clearTimeout(timer);
    callerSignal.removeEventListener('abort', onCallerAbort);
    controller.signal.removeEventListener('abort', onAbort);
    con.closeSync();
    copies.release();
  };
  try {
    const analysis = await analyze(sql, ctx);
    const gatherStarted = performance.now();
    copies.sweep((name) => ctx.catalog.get(name));
    const gathered = await gatherChecked(con, copies, (exact) =>
      gatherAll(con, sql, analysis, ctx, controller.signal, () => controller.abort(), options, copies, exact),
    );
    closeGathered = gathered.close;
    const executeStarted = performance.now();
    const result =
      gathered.result ??
      (await answerOf(con, gathered.userSql, options).catch((err) => {
        throw duckdbErrorToQueryError(err);
      }));
    const stats: QueryStats = {
      pushdown: ctx.pushdown,
      pushed_whole: gathered.pushedWhole,
      not_pushed: [...analysis.notes, ...(gathered.notes ?? [])],
      tables: gathered.stats,
      analyze_ms: roundMs(gatherStarted - started),
      gather_ms: roundMs(executeStarted - gatherStarted),
      execute_ms: msSince(executeStarted),
    };
    return {
      result,
      sourceTables: [...new Set(analysis.tables.map((t) => t.table))],
      stats,
      started,
      timedOut: () => timedOut,
      close,
    };
  } catch (err) {
    close();
    if (timedOut) throw timeoutError(ctx.timeoutMs);
    // Only a cancel or the client's own going away is a 499: a failed scan cancels the others too.
    if (callerSignal.aborted) {
      // A cancel (DELETE /queries/<id>) says so; otherwise the client went away.
      const reason = callerSignal.reason;
      throw reason instanceof QueryError
        ? reason
        : new QueryError('cancelled', 'the client went away; the query was cancelled');
    }
    throw err instanceof QueryError ? err : duckdbErrorToQueryError(err);
  }
}
