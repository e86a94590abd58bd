/**
 * EXPLAIN: the distributed plan of a query, without running it (`EXPLAIN <query>`, or
 * `{"query": …, "explain": true}`): per table, where it is served, the columns and filter
 * its scan is offered, the dynamic filter that narrows it and which scan it waits for; per
 * table reference, the filter it allows; what runs whole in a container; and DuckDB's own
 * plan of the SQL the coordinator runs over the gathered tables. `EXPLAIN ANALYZE` runs the
 * query and adds, per scan, the rows, bytes and milliseconds it took.
 *
 * The answer has the /query JSON shape: one result row per step, and the whole plan under
 * `plan`.
 */
import { quoteIdent, selectItem } from '../../duckdb/sql.js';
import { QueryError } from '../../errors.js';
import { msSince } from '../../timing.js';
import {
  analyze,
  analyzeRewritten,
  openQuery,
  queryableTable,
  splitWholeQuery,
  wholeQueryTarget,
} from '../execute/execute.js';
import type { PartStats } from '../execute/gather.js';
import { carriedWithKeys, heldScansOf } from '../execute/held-scans.js';
import type { ExecutorContext, QueryStats } from '../execute/query.js';
import {
  type HeldPlan,
  inReductionOrder,
  opportunistic,
  sentWhole,
  useful,
} from '../execute/reduction-schedule.js';
import { timelineText } from '../execute/scan-timeline.js';
import type { PartialPlan } from '../execute/shards/partial-aggregate.js';
import { partialPlanOf } from '../execute/shards/partial-gather.js';
import { partsToSkip } from '../execute/shards/prune.js';
import { matchedValues } from '../execute/value-match-filter.js';
import {
  type BranchCode,
  exactOrAsWritten,
  type QueryAnalysis,
  scanName,
  shownComputed,
  type TableScanPlan,
  type ValueMatch,
} from './analyze/index.js';
import { type SubqueryPlan, subqueryPlanOf } from './subquery-pushdown.js';

export interface ExplainRequest {
  /** the query without its EXPLAIN prefix */
  sql: string;
  analyze: boolean;
}

/** Leading blanks and SQL comments. */
const LEAD = String.raw`(?:\s+|--[^\n]*(?:\n|$)|/\*[\s\S]*?\*/)*`;
const PREFIX = new RegExp(String.raw`^${LEAD}EXPLAIN\b${LEAD}(ANALY[SZ]E\b)?`, 'i');

/** The EXPLAIN a request asks for, if any: an `EXPLAIN [ANALYZE]` prefix or the `explain` flag. */
export function explainRequest(query: string, flag?: boolean): ExplainRequest | undefined {
  const m = PREFIX.exec(query);
  if (!m) return flag ? { sql: query, analyze: false } : undefined;
  const sql = query.slice(m[0].length);
  if (sql.trim() === '') {
    throw new QueryError('syntax_error', 'EXPLAIN needs a query to explain: EXPLAIN SELECT …');
  }
  return { sql, analyze: m[1] !== undefined };
}

/** A type, not an interface: the answer's rows are records. */
export type ExplainStep = {
  step: number;
  runs: 'container' | 'coordinator';
  table: string | null;
  /** the TEMP table a scan fills and the references it is for, where its table has several scans */
  scan: string | null;
  served_from: string | null;
  columns: string | null;
  filter: string | null;
  /** rows `filter` keeps, as the table's container estimated them at planning: they order the dynamic filters */
  estimated_rows: number | null;
  limit: number | null;
  dynamic_filter: string | null;
  /** the scan whose keys this one waits for */
  after: string | null;
  /** where it holds its rows and sends its keys first: what narrows its rows then */
  held: string | null;
  /** the terms of `filter` only the container applies: the coordinator's SQL leaves them out */
  exact: string | null;
  detail: string | null;
  rows?: number;
  bytes?: number;
  ms?: number;
  /** when the scan's steps happened (EXPLAIN ANALYZE), from the gather's start */
  timeline?: string;
};

export type ExplainAnswer = {
  results: ExplainStep[];
  columns: string[];
  row_count: number;
  execution_time_ms: number;
  timestamp: string;
  source_tables: string[];
  stats: Record<string, unknown>;
  plan: {
    query: string;
    pushdown: boolean;
    pushed_whole: boolean;
    references: QueryAnalysis['references'];
    reductions: QueryAnalysis['reductions'];
    not_pushed: string[];
    coordinator_plan: string;
  };
};

/** A scan's TEMP table and the references it is for, where its table has several scans. */
function scanOf(scan: { table: string; scan?: string; references?: string[] }): string | null {
  return scan.references ? `${scan.scan ?? scan.table} for ${scan.references.join(', ')}` : null;
}

/** DuckDB's plan of the user's SQL over empty TEMP tables shaped like the gathered ones. */
async function coordinatorPlan(sql: string, analysis: QueryAnalysis, ctx: ExecutorContext): Promise<string> {
  const con = await ctx.engine.connect();
  try {
    const { plans, sql: run } = exactOrAsWritten(analysis, ctx.pushdown, analysis.sql ?? sql);
    for (const plan of plans) {
      const table = ctx.catalog.get(plan.table);
      if (!table) continue;
      const typed = table.columns.map((c) => `CAST(NULL AS ${c.type}) AS ${quoteIdent(c.name)}`);
      const computed = (plan.computed ?? []).map((c) => `, ${selectItem(c.sql, c.name)}`);
      await con.run(
        `CREATE TEMP TABLE ${quoteIdent(scanName(plan))} AS SELECT *${computed.join('')} FROM (SELECT ${typed.join(', ')}) WHERE false`,
      );
    }
    const reader = await con.runAndReadAll(`EXPLAIN ${run}`);
    return reader
      .getRows()
      .map((r) => String(r[1]))
      .join('\n');
  } catch (err) {
    return `(DuckDB could not plan it: ${err instanceof Error ? err.message : String(err)})`;
  } finally {
    con.closeSync();
  }
}

/** Per split table of the query, its parts: the subject each is asked on, or why it is skipped. */
async function partsOf(analysis: QueryAnalysis, ctx: ExecutorContext): Promise<Map<string, string>> {
  const split = analysis.tables.flatMap((plan) => {
    const table = ctx.catalog.get(plan.table);
    return table?.parts ? [{ plan, table, parts: table.parts }] : [];
  });
  const details = new Map<string, string>();
  if (split.length === 0) return details;
  const con = await ctx.engine.connect();
  try {
    for (const { plan, table, parts } of split) {
      const skipped = await partsToSkip(con, ctx.pushdown ? plan.where : undefined, table);
      const each = parts.map((p) => {
        const why = skipped.get(p.index);
        if (why !== undefined) return `part ${p.index} skipped: ${why}`;
        return `part ${p.index} ${p.subject} (${p.instances} ${p.instances === 1 ? 'replica' : 'replicas'})`;
      });
      details.set(plan.table, `split in ${parts.length} parts, asked at once: ${each.join('; ')}`);
    }
  } finally {
    con.closeSync();
  }
  return details;
}

const SUBQUERY_STEP = 'runs the subquery ';

function subqueryDetail(query: string, temp?: string): string {
  return `${SUBQUERY_STEP}${query}; its rows${temp ? ` (${temp})` : ''} replace it in the query`;
}

function stepsOf(
  analysis: QueryAnalysis,
  ctx: ExecutorContext,
  coordinatorPlanText: string,
  parts: Map<string, string>,
  partial: PartialPlan | undefined,
  pushedPlan: Pick<SubqueryPlan, 'subqueries' | 'eager'> & { sql?: string },
): ExplainStep[] {
  const steps: ExplainStep[] = [];
  const whole = wholeQueryTarget(analysis, ctx);
  const base = {
    scan: null,
    estimated_rows: null,
    limit: null,
    dynamic_filter: null,
    after: null,
    held: null,
    exact: null,
    detail: null,
  };
  if (whole) {
    steps.push({
      ...base,
      step: 1,
      runs: 'container',
      table: whole.name,
      served_from: `${whole.transport} ${whole.location}`,
      columns: null,
      filter: null,
      detail: 'the whole query runs in this container; the coordinator passes its rows on',
    });
    return steps;
  }
  if (partial) {
    const [plan] = analysis.tables;
    const table = ctx.catalog.get(plan.table);
    steps.push({
      ...base,
      step: 1,
      runs: 'container',
      table: plan.table,
      served_from: table ? `${table.transport} ${table.location}` : null,
      columns: null,
      filter: plan.where ?? null,
      detail: `${partial.description}; each part runs: ${partial.partSql}; ${parts.get(plan.table) ?? ''}`,
    });
    steps.push({
      ...base,
      step: 2,
      runs: 'coordinator',
      table: null,
      served_from: null,
      columns: null,
      filter: null,
      detail: `merges the parts' rows: ${partial.mergeSql}`,
    });
    return steps;
  }
  for (const s of pushedPlan.subqueries) {
    const table = ctx.catalog.get(s.table);
    steps.push({
      ...base,
      step: steps.length + 1,
      runs: 'container',
      table: s.table,
      served_from: table ? `${table.transport} ${table.location}` : null,
      columns: null,
      filter: null,
      detail: subqueryDetail(s.query, s.temp),
    });
  }
  // The coordinator's SQL is the rewritten one: eager aggregation's merge is in it.
  const coordinatorDetail = pushedPlan.eager
    ? `${coordinatorPlanText} (eager aggregation: ${pushedPlan.eager}; runs ${pushedPlan.sql})`
    : coordinatorPlanText;
  // A table the coordinator holds a copy of is read from it (reference-tables.ts), unreduced.
  const copyOf = (plan: TableScanPlan) => {
    const table = ctx.catalog.get(plan.table);
    return ctx.pushdown && table ? ctx.references?.peek(table) : undefined;
  };
  const copied = new Set(analysis.tables.filter(copyOf).map(scanName));
  const reductions = (ctx.pushdown ? useful(analysis) : []).filter((r) => !copied.has(r.table));
  const others = (ctx.pushdown ? opportunistic(analysis) : []).filter((r) => !copied.has(r.table));
  // Scans that wait for keys come after their sources, as execute.ts sends them.
  const { plans } = exactOrAsWritten(analysis, ctx.pushdown, '');
  const ordered = inReductionOrder(
    plans.map((plan) => ({ plan })),
    reductions,
  );
  const held = ctx.twoWayReductions
    ? heldScansOf(
        analysis,
        ordered.map(({ plan }) => ({ plan, table: ctx.catalog.get(plan.table) })),
        reductions,
        copied,
        ctx.holdAboveRows,
      )
    : new Map<string, HeldPlan>();
  const { matches, codes } = carriedWithKeys(analysis, reductions, held, ordered);
  const matched = (m: ValueMatch | undefined) => (m ? [`the keys' ${matchedValues(m)}`] : []);
  const coded = (c: BranchCode | undefined) =>
    c
      ? [
          `the keys of ${c.source}.${c.sourceColumn} coded by the OR's branches their rows satisfy (${c.sourceBranches.join('; ')}), a row kept where it satisfies one of its key's (${c.branches.join('; ')})`,
        ]
      : [];
  // A pushed subquery's result as a source is named so (subquery-sources.ts).
  const keysOf = (r: QueryAnalysis['reductions'][number]) =>
    `keys of ${analysis.subquerySources?.includes(r.source) ? 'the subquery result ' : ''}${r.source}.${r.sourceColumn}`;
  for (const { plan } of ordered) {
    const table = ctx.catalog.get(plan.table);
    const holding = held.get(scanName(plan));
    const whole = table && sentWhole(table, plan);
    const mine = whole ? [] : reductions.filter((r) => r.table === scanName(plan));
    const copy = copyOf(plan);
    const scalars = (ctx.pushdown && !copy && plan.scalars) || [];
    steps.push({
      ...base,
      step: steps.length + 1,
      runs: copy ? 'coordinator' : 'container',
      table: plan.table,
      scan: scanOf(plan),
      served_from: copy
        ? `the coordinator's copy (version ${copy.version}, ${copy.rows} rows; its version is checked as the query runs)`
        : table
          ? `${table.transport} ${table.location}`
          : null,
      columns: ctx.pushdown
        ? `${plan.distinct ? 'DISTINCT ' : ''}${[
            ...plan.columns,
            ...(plan.computed ?? []).map(shownComputed),
          ].join(', ')}`
        : '*',
      filter: (ctx.pushdown && plan.where) || null,
      estimated_rows: ctx.pushdown ? (plan.estimatedRows ?? null) : null,
      exact: (ctx.pushdown && plan.exact?.applied.join(' AND ')) || null,
      dynamic_filter:
        mine.length > 0 || scalars.length > 0
          ? [
              ...scalars.map((s) => `${s.column} ${s.op} (the value of the subquery result ${s.result})`),
              ...mine.map((r) => `${r.column} IN (${keysOf(r)})`),
              ...others
                .filter((r) => r.table === scanName(plan))
                .map((r) => `${r.column} IN (${keysOf(r)}, if sent at once)`),
              ...matched(mine.length > 0 ? matches.get(scanName(plan)) : undefined),
              ...coded(mine.length > 0 ? codes.get(scanName(plan)) : undefined),
            ].join(' AND ')
          : whole || null,
      after: mine.length > 0 ? [...new Set(mine.map((r) => r.source))].join(', ') : null,
      held: holding
        ? `keys of ${holding.first.join(', ')}${holding.carried ? ` (with ${holding.carried.join(', ')})` : ''}${holding.branches ? " (with their rows' branch codes)" : ''} sent first; rows then narrowed by ${holding.backward
            .map((r) => `${r.column} IN (${keysOf(r)})`)
            .join(' AND ')}, where it has more than ${holding.above} rows`
        : null,
      detail: parts.get(plan.table) ?? null,
    });
  }
  steps.push({
    ...base,
    step: steps.length + 1,
    runs: 'coordinator',
    table: null,
    served_from: null,
    columns: null,
    filter: null,
    detail: coordinatorDetail,
  });
  return steps;
}

/** The plan that aggregates a single-table query in the parts of its split table, if it has one. */
async function partialOf(
  sql: string,
  analysis: QueryAnalysis,
  ctx: ExecutorContext,
): Promise<PartialPlan | undefined> {
  const split = splitWholeQuery(analysis, ctx);
  if (!split) return undefined;
  const con = await ctx.engine.connect();
  try {
    const plan = await partialPlanOf(sql, split, con);
    return 'reason' in plan || !plan.reducesRows ? undefined : plan;
  } finally {
    con.closeSync();
  }
}

/** The subqueries pushed to their tables' containers (subquery-pushdown.ts), if any. */
async function subqueriesOf(sql: string, analysis: QueryAnalysis, ctx: ExecutorContext) {
  if (!ctx.pushdown || wholeQueryTarget(analysis, ctx)) return undefined;
  const con = await ctx.engine.connect();
  try {
    return await subqueryPlanOf(
      con,
      sql,
      analysis,
      (name) => queryableTable(name, ctx),
      analyzeRewritten(ctx),
    );
  } finally {
    con.closeSync();
  }
}

/** Adds what each scan took (EXPLAIN ANALYZE) from the stats of a run. */
function withRun(steps: ExplainStep[], stats: QueryStats): ExplainStep[] {
  return steps.map((s) => {
    if (s.runs === 'coordinator') return { ...s, ms: stats.execute_ms };
    // A pushed subquery's step and a scan of its table are told apart by the query.
    const pushed = s.detail?.startsWith(SUBQUERY_STEP) ?? false;
    const g = stats.tables.find(
      (t) =>
        t.table === s.table &&
        scanOf(t) === s.scan &&
        (t.query === undefined ? !pushed : pushed && !!s.detail?.startsWith(`${SUBQUERY_STEP}${t.query};`)),
    );
    if (!g) return s;
    return {
      ...s,
      rows: g.rows,
      bytes: g.bytes,
      ms: g.ms,
      ...(g.timeline && { timeline: timelineText(g.timeline) }),
      dynamic_filter: g.dynamic_filter ?? s.dynamic_filter,
      held: g.held ?? s.held,
      ...(g.parts && { detail: partsRun(g.parts) }),
    };
  });
}

/** What each part of a split table took, or why it was skipped. */
function partsRun(parts: PartStats[]): string {
  const each = parts.map((p) => {
    if (p.skipped !== undefined) return `part ${p.part} skipped: ${p.skipped}`;
    const tries = p.tries > 1 ? `, ${p.tries} tries` : '';
    return `part ${p.part}: ${p.rows} rows in ${p.ms} ms from ${p.replica ?? 'its container'}${tries}`;
  });
  return `split in ${parts.length} parts, asked at once: ${each.join('; ')}`;
}

export async function explainQuery(
  request: ExplainRequest,
  ctx: ExecutorContext,
  signal: AbortSignal,
): Promise<ExplainAnswer> {
  const started = performance.now();
  const analysis = await analyze(request.sql, ctx);
  const parts = await partsOf(analysis, ctx);
  const partial = await partialOf(request.sql, analysis, ctx);
  const pushed = await subqueriesOf(analysis.sql ?? request.sql, analysis, ctx);
  let steps = stepsOf(
    pushed?.pushed?.analysis ?? analysis,
    ctx,
    await coordinatorPlan(request.sql, analysis, ctx),
    parts,
    partial,
    pushed?.pushed?.plan ?? { subqueries: [] },
  );
  let stats: Record<string, unknown> = {};
  if (request.analyze) {
    const open = await openQuery(request.sql, ctx, signal, { materialize: true });
    try {
      const rowCount = open.result.rowCount ?? 0;
      steps = withRun(steps, open.stats);
      stats = { ...open.stats, result_rows: rowCount };
    } finally {
      open.close();
    }
  }
  const columns = Object.keys(steps[0] ?? {});
  return {
    results: steps,
    columns,
    row_count: steps.length,
    execution_time_ms: msSince(started),
    timestamp: new Date().toISOString(),
    source_tables: [...new Set(analysis.tables.map((t) => t.table))],
    stats,
    plan: {
      query: request.sql,
      pushdown: ctx.pushdown,
      pushed_whole: !!wholeQueryTarget(analysis, ctx),
      references: analysis.references,
      reductions: ctx.pushdown ? useful(pushed?.pushed?.analysis ?? analysis) : [],
      not_pushed: [...analysis.notes, ...(pushed?.notes ?? [])],
      coordinator_plan: steps.find((s) => s.runs === 'coordinator')?.detail ?? '',
    },
  };
}
