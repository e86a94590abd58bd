/**
 * Split tables (issue 16): 5,000,000 rows (id, amount, grp, name) in 4 parts with 2 replicas
 * each, every replica a data container process on loopback (bench-server.ts, the part's rows
 * generated in its DuckDB), one nats-server, one coordinator. Beside it, in the same run: the
 * whole table in this process's DuckDB (single-node), and the same 5M rows in one unsplit
 * container behind the same coordinator. Each figure is a median of turns the two sides take
 * alternately.
 * - a grouped aggregate: rows moved (goal: at most parts × groups) and its time against
 *   single-node DuckDB (goal ≤ 1.5×);
 * - a selective scan: its time against the same scan of the unsplit container (goal ≤ 1.2×);
 * - a query whose replica is SIGKILLed mid-scan: its time against its no-fault time (goal ≤ 2×).
 *
 *   node dist/bench/shards-bench.js [rows]
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from '@duckdb/node-api';
import { shardLabel } from '../protocol/shards.js';
import { type ManagedProcess, startCliProcess } from '../tools/local-cluster.js';
import { freePort, startNatsServer } from '../tools/nats-server.js';
import { interleavedMedians, post, singleNodeAnswer } from './coordinator-bench.js';
import { BENCH_GROUPS, groupedTableSql } from './generated-table.js';
import { startBenchServer } from './scan-bench.js';
import { firstScanning } from './scans-in-flight.js';

const PARTS = 4;
const REPLICAS = 2;
const SPLIT = 'shards';
const WHOLE = 'shards_whole';
/** Runs per side at least (each side's turns alternate with the other's). */
const MIN_RUNS = 5;
const FAULT_RUNS = 5;

const GROUPED = `SELECT grp, count(*) AS n, sum(amount) AS total, min(id) AS first_id, max(id) AS last_id, avg(amount) AS mean
  FROM ${SPLIT} GROUP BY grp`;
const selective = (table: string) => `SELECT id, amount, name FROM ${table} WHERE amount < 5000`;
/** A median does not decompose: the parts send their filtered rows (2.5M values), long enough to kill one mid-scan. */
const FAULT = `SELECT median(amount) AS m, count(*) AS n FROM ${SPLIT} WHERE id % 2 = 0`;

interface Replica {
  part: number;
  child: ChildProcess;
  httpUrl: string;
}

interface TableStats {
  rows: number;
  parts?: { part: number; rows: number; replica?: string; tries?: number; skipped?: string }[];
}

interface Answer {
  ms: number;
  results: Record<string, unknown>[];
  /** Rows the containers sent the coordinator. */
  rowsMoved: number;
  tries: number;
}

async function startReplica(natsUrl: string, rows: number, part?: number): Promise<Replica> {
  const httpPort = await freePort();
  const args = [
    '--grouped',
    ...(part === undefined ? [] : ['--shard', shardLabel({ index: part, count: PARTS })]),
  ];
  const table = part === undefined ? WHOLE : SPLIT;
  const child = await startBenchServer(natsUrl, rows, httpPort, { table, args });
  return { part: part ?? 0, child, httpUrl: `http://127.0.0.1:${httpPort}` };
}

async function ask(coordinator: ManagedProcess, sql: string): Promise<Answer> {
  const { status, bytes, ms } = await post(
    new URL('/query', coordinator.url),
    JSON.stringify({ query: sql }),
  );
  const body = JSON.parse(bytes.toString('utf8')) as {
    results: Record<string, unknown>[];
    message?: string;
    stats?: { tables?: TableStats[] };
  };
  if (status !== 200) throw new Error(`coordinator answered ${status} to ${sql}: ${body.message}`);
  const tables = body.stats?.tables ?? [];
  const parts = tables.flatMap((t) => t.parts ?? []);
  return {
    ms,
    results: body.results,
    rowsMoved: tables.reduce((n, t) => n + (t.parts ? t.parts.reduce((m, p) => m + p.rows, 0) : t.rows), 0),
    tries: parts.reduce((n, p) => n + (p.tries ?? 1), 0),
  };
}

/** Waits until the coordinator answers `sql` with `rows` rows in its first column's count. */
async function waitForTable(coordinator: ManagedProcess, table: string, rows: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const answer = await ask(coordinator, `SELECT count(*) AS n FROM ${table}`);
      if (Number(answer.results[0].n) === rows) return;
      last = `${answer.results[0].n} rows`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the coordinator did not see all ${rows} rows of ${table}: ${last}`);
}

function exited(child: ChildProcess): Promise<unknown> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit');
}

function formatRatio(value: number, goal: number): string {
  return `${value.toFixed(2)}x (goal <=${goal}x ${value <= goal ? 'met' : 'MISSED'})`;
}

export async function runShardsBench(rows = 5_000_000): Promise<void> {
  console.log(
    `\n== shards: ${rows} rows in ${PARTS} parts x ${REPLICAS} replicas, and one unsplit container, over NATS ==`,
  );
  const setupStarted = performance.now();
  const nats = await startNatsServer();
  const replicas: Replica[] = [];
  let coordinator: ManagedProcess | undefined;
  const instance = await DuckDBInstance.create(':memory:');
  const baseline: DuckDBConnection = await instance.connect();
  try {
    // Two at a time: each generates its part in DuckDB, and the machine may have few cores.
    const wanted = [
      ...Array.from({ length: PARTS * REPLICAS }, (_, i) => Math.floor(i / REPLICAS)),
      undefined,
    ];
    for (let i = 0; i < wanted.length; i += 2) {
      replicas.push(
        ...(await Promise.all(wanted.slice(i, i + 2).map((part) => startReplica(nats.url, rows, part)))),
      );
    }
    // The last is the unsplit container: stopped with the others.
    coordinator = await startCliProcess('coordinator', [
      'coordinator',
      '--nats',
      nats.url,
      '--max-json-rows',
      '10000000',
    ]);
    await baseline.run(`CREATE TABLE ${SPLIT} AS ${groupedTableSql(0, rows)}`);
    await waitForTable(coordinator, SPLIT, rows);
    await waitForTable(coordinator, WHOLE, rows);
    console.log(
      `setup (generate ${PARTS * REPLICAS + 1} containers, coordinator): ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`,
    );
    const on = coordinator;

    // Grouped aggregate against single-node DuckDB.
    let grouped: Answer | undefined;
    let groups = 0;
    const [single, split] = await interleavedMedians(
      [
        async () => {
          groups = await singleNodeAnswer(baseline, GROUPED);
          return undefined;
        },
        async () => {
          grouped = await ask(on, GROUPED);
          if (grouped.results.length !== groups)
            throw new Error(`${grouped.results.length} groups where single-node has ${groups}`);
          return grouped.ms;
        },
      ],
      MIN_RUNS,
    );
    const movedGoal = PARTS * BENCH_GROUPS;
    console.log(
      `grouped aggregate (${groups} groups): rows moved ${grouped!.rowsMoved} (goal <=${movedGoal} ${grouped!.rowsMoved <= movedGoal ? 'met' : 'MISSED'}), ` +
        `coordinator ${split.toFixed(0)} ms vs single-node DuckDB ${single.toFixed(0)} ms: ${formatRatio(split / single, 1.5)}`,
    );

    // Selective scan: split against unsplit, through the same coordinator.
    let selectedRows = 0;
    const [wholeMs, splitMs] = await interleavedMedians(
      [
        async () => {
          selectedRows = (await ask(on, selective(WHOLE))).results.length;
          return undefined;
        },
        async () => {
          const answer = await ask(on, selective(SPLIT));
          if (answer.results.length !== selectedRows)
            throw new Error(`${answer.results.length} rows where the unsplit table has ${selectedRows}`);
          return answer.ms;
        },
      ],
      MIN_RUNS,
    );
    console.log(
      `selective scan (${selectedRows} rows): split ${splitMs.toFixed(0)} ms vs one unsplit container ${wholeMs.toFixed(0)} ms: ${formatRatio(splitMs / wholeMs, 1.2)}`,
    );

    // A replica of part 0 killed mid-scan, then started again (untimed) for the next turn.
    const expected = (await ask(on, FAULT)).results[0];
    const check = (answer: Answer) => {
      if (JSON.stringify(answer.results[0]) !== JSON.stringify(expected))
        throw new Error(
          `answered ${JSON.stringify(answer.results[0])} where the no-fault answer is ${JSON.stringify(expected)}`,
        );
    };
    let killedMidScan = 0;
    let retries = 0;
    const [noFault, fault] = await interleavedMedians(
      [
        async () => {
          const answer = await ask(on, FAULT);
          check(answer);
          return answer.ms;
        },
        async () => {
          let finished = false;
          const pending = ask(on, FAULT).finally(() => {
            finished = true;
          });
          const candidates = replicas.slice(0, PARTS * REPLICAS).filter((r) => r.part === 0);
          const busy = await firstScanning(
            candidates.map((r) => r.httpUrl),
            () => finished,
          );
          const victim = busy === undefined ? undefined : candidates[busy];
          const killed = victim !== undefined && !finished;
          if (killed) {
            victim.child.kill('SIGKILL');
            killedMidScan++;
          }
          const answer = await pending;
          check(answer);
          retries += answer.tries - PARTS;
          if (victim && killed) {
            await exited(victim.child);
            const again = await startReplica(nats.url, rows, victim.part);
            replicas[replicas.indexOf(victim)] = again;
          }
          return answer.ms;
        },
      ],
      FAULT_RUNS,
      0,
    );
    console.log(
      `replica SIGKILLed mid-scan (${killedMidScan} of the fault turns hit a scan, ${retries} part scans asked again): ` +
        `${fault.toFixed(0)} ms vs ${noFault.toFixed(0)} ms without a fault: ${formatRatio(fault / noFault, 2)}`,
    );
  } finally {
    baseline.closeSync();
    instance.closeSync();
    await coordinator?.stop();
    for (const replica of replicas) replica.child.kill('SIGKILL');
    await nats.dispose();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runShardsBench(Number(process.argv[2] ?? 5_000_000)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
