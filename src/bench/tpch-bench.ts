/**
 * `npm run bench -- tpch [--sf 1] [--runs 3]`: the 22 TPC-H queries through the coordinator
 * (one data container per table, over NATS) beside single-node DuckDB holding the same files,
 * in alternating turns (medians). Per query: rows, both times, their ratio, the rows and bytes
 * the scans moved over NATS (the answer's `stats`), and the rows a perfect pushdown of the
 * query's filters and join keys would move (src/tools/tpch/queries.ts `perfect`), per table.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { Command } from 'commander';
import { type ManagedProcess, startCluster } from '../tools/local-cluster.js';
import { singleNodeDuckDB } from '../tools/single-node.js';
import { cachedTpchData } from '../tools/tpch/cache.js';
import { type TpchQuery, tpchQueries } from '../tools/tpch/queries.js';
import { interleavedMedians, post, singleNodeAnswer } from './coordinator-bench.js';
import { cpuTicks } from './proc-stats.js';

interface Moved {
  rows: number;
  bytes: number;
  /** Rows per table name. */
  tables: Record<string, number>;
  /** Tables served from the coordinator's copy (reference tables): nothing moved. */
  copies: Set<string>;
  /** The slowest scan's ms per table name (as the coordinator saw it). */
  ms: Record<string, number>;
}

interface ScanStats {
  table: string;
  transport: string;
  rows: number;
  ms: number;
  bytes: number;
}

/** Milliseconds until the whole answer arrived, and what its scans moved. */
async function viaCoordinator(coordinator: ManagedProcess, sql: string, rows: number) {
  const { status, bytes, ms } = await post(
    new URL('/query', coordinator.url),
    JSON.stringify({ query: sql }),
  );
  const body = JSON.parse(bytes.toString('utf8')) as {
    results?: unknown[];
    message?: string;
    stats?: { tables: ScanStats[] };
  };
  if (status !== 200) throw new Error(`coordinator answered ${status}: ${body.message}`);
  if (body.results?.length !== rows)
    throw new Error(`coordinator answered ${body.results?.length} rows where single-node DuckDB has ${rows}`);
  const moved: Moved = { rows: 0, bytes: 0, tables: {}, copies: new Set(), ms: {} };
  for (const scan of body.stats?.tables ?? []) {
    moved.ms[scan.table] = Math.max(moved.ms[scan.table] ?? 0, scan.ms);
    if (scan.transport === 'coordinator copy') {
      moved.copies.add(scan.table);
      continue;
    }
    moved.rows += scan.rows;
    moved.bytes += scan.bytes;
    moved.tables[scan.table] = (moved.tables[scan.table] ?? 0) + scan.rows;
  }
  return { ms, moved };
}

/** The perfect pushdown's rows per table name (references of one table added up). */
async function perfectRows(con: DuckDBConnection, query: TpchQuery): Promise<Record<string, number>> {
  const [row] = (await con.runAndReadAll(query.perfect)).getRowObjectsJson();
  const perTable: Record<string, number> = {};
  for (const [label, n] of Object.entries(row)) {
    const table = label.split(' ')[0];
    perTable[table] = (perTable[table] ?? 0) + Number(n);
  }
  return perTable;
}

const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);
const count = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)}k` : String(n);

function perTable(moved: Moved, perfect: Record<string, number>): string {
  const tables = [...new Set([...Object.keys(perfect), ...Object.keys(moved.tables)])];
  return tables
    .map((t) => {
      const rows = moved.copies.has(t) && !moved.tables[t] ? 'copy' : count(moved.tables[t] ?? 0);
      return `${t} ${rows}/${count(perfect[t] ?? 0)} ${(moved.ms[t] ?? 0).toFixed(0)}ms`;
    })
    .join(', ');
}

/** A coordinator's last answer's movement, and its median ms and CPU ticks per query. */
interface Side {
  moved: Moved;
  ms: number[];
  ticks: number[];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Times one query on single-node DuckDB and on each coordinator (taking turns) and prints a
 * row per coordinator (its own CPU time per query beside its ms); each one's ratio.
 */
async function measure(
  query: TpchQuery,
  baseline: DuckDBConnection,
  coordinators: { label: string; proc: ManagedProcess }[],
  runs: number,
): Promise<number[]> {
  const perfect = await perfectRows(baseline, query);
  let rows = 0;
  const sides: Side[] = coordinators.map(() => ({
    moved: { rows: 0, bytes: 0, tables: {}, copies: new Set(), ms: {} },
    ms: [],
    ticks: [],
  }));
  const [single] = await interleavedMedians(
    [
      async () => {
        rows = await singleNodeAnswer(baseline, query.sql);
        return undefined;
      },
      ...coordinators.map(({ proc }, i) => async () => {
        const pid = proc.child.pid as number;
        const before = await cpuTicks(pid);
        const answer = await viaCoordinator(proc, query.sql, rows);
        sides[i].ticks.push((await cpuTicks(pid)) - before);
        sides[i].moved = answer.moved;
        sides[i].ms.push(answer.ms);
        return answer.ms;
      }),
    ],
    runs,
    0,
  );
  for (const [i, { moved, ms, ticks }] of sides.entries()) {
    // The warm-up's turn is left out, as interleavedMedians does.
    const [timed, cpu] = [median(ms.slice(1)), median(ticks.slice(1)) * 10];
    console.log(
      [
        `Q${query.id}${coordinators[i].label}`,
        rows,
        single.toFixed(0),
        timed.toFixed(0),
        `${(timed / single).toFixed(2)}x`,
        cpu,
        moved.rows,
        (moved.bytes / 1e6).toFixed(1),
        sum(perfect),
        `${(moved.rows / Math.max(1, sum(perfect))).toFixed(2)}x`,
        perTable(moved, perfect),
      ].join(' | '),
    );
  }
  return sides.map((side) => median(side.ms.slice(1)) / single);
}

export async function runTpchBench(args: string[] = []): Promise<void> {
  const o = new Command()
    .option('--sf <n>', 'scale factor', Number, 1)
    .option('--runs <n>', 'timed turns per side after a warm-up', Number, 3)
    .option('--queries <ids>', 'only these queries, e.g. 3,5,19 (default: all 22)')
    .option(
      '--versus <args>',
      'a second coordinator with these extra arguments (e.g. "--reference-table-rows 0"), timed in the same turns',
    )
    .allowUnknownOption()
    .parse(args, { from: 'user' })
    .opts<{ sf: number; runs: number; queries?: string; versus?: string }>();
  const only = o.queries?.split(',').map(Number);
  const queries = tpchQueries(o.sf).filter((q) => !only || only.includes(q.id));
  const setupStarted = performance.now();
  const { data, fresh } = await cachedTpchData(o.sf);
  console.log(
    `\n== TPC-H SF ${o.sf}: ${Object.entries(data.rows)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ')} (${fresh ? 'generated' : 'cached'} in ${data.files.lineitem.replace(/\/[^/]*$/, '')}) ==`,
  );
  // Loading SF 1's line items takes minutes on a busy machine.
  const cluster = await startCluster(data.files, { loadTimeoutMs: 1_800_000 });
  try {
    const common = ['--max-json-rows', '10000000', '--timeout-ms', '600000'];
    const coordinators = [{ label: '', proc: await cluster.startCoordinator(common) }];
    if (o.versus) {
      const versus = o.versus.split(' ').filter(Boolean);
      coordinators.push({
        label: ` (${o.versus})`,
        proc: await cluster.startCoordinator([...common, ...versus]),
      });
    }
    const baseline = await singleNodeDuckDB(data.files);
    console.log(
      `setup (data, upload, load 8 containers): ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`,
    );
    console.log(
      [
        'query',
        'rows',
        'single-node ms',
        'coordinator ms',
        'ratio',
        'coordinator CPU ms',
        'rows moved',
        'MB moved',
        'perfect rows',
        'moved/perfect',
        'per table: moved/perfect, slowest scan ms',
      ].join(' | '),
    );
    const ratios: { id: number; ratio: number }[][] = coordinators.map(() => []);
    for (const query of queries) {
      const each = await measure(query, baseline, coordinators, o.runs).catch((err: Error) => {
        console.log(`Q${query.id} | failed: ${err.message}`);
        return undefined;
      });
      for (const [i, ratio] of (each ?? []).entries()) ratios[i].push({ id: query.id, ratio });
    }
    for (const [i, side] of ratios.entries()) {
      if (side.length === 0) continue;
      const geomean = Math.exp(side.reduce((a, r) => a + Math.log(r.ratio), 0) / side.length);
      const worst = side.reduce((a, b) => (b.ratio > a.ratio ? b : a));
      console.log(
        `geometric mean of coordinator${coordinators[i].label} / single-node over ${side.length} queries: ${geomean.toFixed(2)}x; max ${worst.ratio.toFixed(2)}x (Q${worst.id})`,
      );
    }
    baseline.closeSync();
  } finally {
    await cluster.stop();
  }
}
