/**
 * Coordinator latency on the sample tables (1M labels, 5M label_sublabels, 5M label_urls),
 * beside, in the same run: one DuckDB holding all three tables in memory (the single-node
 * baseline, timed to the same JSON text the coordinator's answer holds) and the coordinator
 * with pushdown off. The coordinator is timed until its whole answer has arrived.
 */
import { Agent, request as httpRequest } from 'node:http';
import { pathToFileURL } from 'node:url';
import type { DuckDBConnection } from '@duckdb/node-api';
import { releasingChunks } from '../duckdb/chunk-memory.js';
import { JsonRowWriter } from '../duckdb/json-rows.js';
import { chunksOf } from '../duckdb/json-values.js';
import { type ManagedProcess, startLocalCluster } from '../tools/local-cluster.js';
import { singleNodeDuckDB } from '../tools/single-node.js';
import { peakRssMb } from './proc-stats.js';

export interface BenchQuery {
  name: string;
  kind: 'selective' | 'single-table' | 'full-join';
  sql: string;
}

export const BENCH_QUERIES: BenchQuery[] = [
  {
    name: "seed 3-way join, name LIKE '%test%'",
    kind: 'selective',
    sql: `SELECT l.label_id, l.name, s.sublabel_name, u.url FROM labels l
      JOIN label_sublabels s ON l.label_id = s.label_id
      JOIN label_urls u ON l.label_id = u.label_id
      WHERE l.name LIKE '%test%'`,
  },
  {
    name: '1%-selective join (filters on both sides)',
    kind: 'selective',
    sql: `SELECT s.sublabel_id, s.sublabel_name, u.url FROM label_sublabels s
      JOIN label_urls u ON s.label_id = u.label_id
      WHERE s.sublabel_id % 100 = 0 AND u.url_id % 100 = 0`,
  },
  {
    name: 'full 5M x 5M join with aggregation',
    kind: 'full-join',
    sql: `SELECT s.sublabel_name LIKE 'test%' AS test, count(*) AS n, count(DISTINCT u.label_id) AS labels
      FROM label_sublabels s JOIN label_urls u ON s.sublabel_id = u.url_id GROUP BY 1`,
  },
  {
    name: 'single-table aggregate (count, avg by category)',
    kind: 'single-table',
    sql: 'SELECT category, count(*) AS n, avg(score) AS avg_score FROM labels GROUP BY category',
  },
  {
    name: 'single-table count(*) over 5M rows',
    kind: 'single-table',
    sql: "SELECT count(*) AS n FROM label_urls WHERE url LIKE '%example.com%'",
  },
  {
    name: 'top-N',
    kind: 'single-table',
    sql: 'SELECT label_id, name, score FROM labels ORDER BY score DESC NULLS LAST, label_id LIMIT 10',
  },
];

const GOAL: Record<BenchQuery['kind'], number> = { selective: 2, 'single-table': 1.5, 'full-join': 5 };
/** Runs per side: at least MIN_RUNS, more while they take under SAMPLE_MS, at most MAX_RUNS. */
const MIN_RUNS = 5;
const MAX_RUNS = 201;
const SAMPLE_MS = 4_000;

/** A run's milliseconds; a run that times itself returns them (the rest is checking). */
async function timed(run: () => Promise<number | undefined>): Promise<number> {
  const started = performance.now();
  const own = await run();
  return own ?? performance.now() - started;
}

function median(times: number[]): number {
  return [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

/**
 * Medians of the runs after a warm-up of each. The runs take turns, so that each meets the
 * same machine: a shared VM's speed drifts, and a heavy query leaves work behind it (freed
 * memory, idle threads winding down) that would otherwise land on one side only. Quick
 * queries get more turns: a few milliseconds of scheduling noise would swing their ratio.
 */
export async function interleavedMedians(
  runs: (() => Promise<number | undefined>)[],
  minRuns = MIN_RUNS,
  sampleMs = SAMPLE_MS,
): Promise<number[]> {
  for (const run of runs) await run();
  const samples = runs.map(() => [] as number[]);
  const started = performance.now();
  for (let i = 0; i < MAX_RUNS && (i < minRuns || performance.now() - started < sampleMs); i++) {
    for (const [k, run] of runs.entries()) samples[k].push(await timed(run));
  }
  return samples.map(median);
}

/**
 * One keep-alive connection per coordinator, through node:http: undici's fetch spent ~1.7 ms
 * of CPU per request in this process, which the timing would charge to the coordinator.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** POSTs `body` and resolves when the last byte of the answer has arrived, with its milliseconds. */
export async function post(url: URL, body: string): Promise<{ status: number; bytes: Buffer; ms: number }> {
  const { status, pieces, ms } = await postForPieces(url, body);
  return { status, bytes: Buffer.concat(pieces), ms };
}

/**
 * POSTs `body` (JSON) with `headers` and resolves when the last byte of the answer has
 * arrived: the pieces as node:http read them from the socket, and its milliseconds.
 */
export function postForPieces(
  url: URL,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; pieces: Buffer[]; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (response) => {
        const pieces: Buffer[] = [];
        response.on('data', (piece: Buffer) => pieces.push(piece));
        response.on('error', reject);
        response.on('end', () => {
          const ms = performance.now() - started;
          resolve({ status: response.statusCode ?? 0, pieces, ms });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * Milliseconds until the whole answer has arrived, as bytes: single-node's side ends with its
 * bytes too. Decoding and parsing them is the client's, and untimed.
 */
export async function askCoordinator(
  coordinator: ManagedProcess,
  sql: string,
  rows: number,
): Promise<number> {
  const { status, bytes, ms } = await post(
    new URL('/query', coordinator.url),
    JSON.stringify({ query: sql }),
  );
  const body = JSON.parse(bytes.toString('utf8')) as { results?: unknown[]; message?: string };
  if (status !== 200) throw new Error(`coordinator answered ${status}: ${body.message}`);
  if (body.results?.length !== rows)
    throw new Error(`coordinator answered ${body.results?.length} rows where single-node DuckDB has ${rows}`);
  return ms;
}

/** Single-node DuckDB's answer: the query, then the same JSON text the coordinator writes. */
export async function singleNodeAnswer(con: DuckDBConnection, sql: string): Promise<number> {
  const result = await con.run(sql);
  const columns = result.deduplicatedColumnNames();
  const writer = new JsonRowWriter(columns, 'array');
  let rows = 0;
  for await (const chunk of releasingChunks(chunksOf(result))) {
    writer.write(chunk);
    rows += chunk.rowCount;
  }
  return rows;
}

export async function runCoordinatorBench(labels = 1_000_000): Promise<void> {
  console.log(
    `\n== coordinator: ${labels} labels, ${labels * 5} label_sublabels, ${labels * 5} label_urls ==`,
  );
  const setupStarted = performance.now();
  const cluster = await startLocalCluster({ labels });
  try {
    const maxRows = ['--max-json-rows', '10000000'];
    const [on, off] = await Promise.all([
      cluster.startCoordinator(maxRows),
      cluster.startCoordinator([...maxRows, '--no-pushdown']),
    ]);
    const baseline = await singleNodeDuckDB(cluster.sample.files);
    console.log(
      `setup (generate, upload, load three containers): ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`,
    );
    console.log(
      ['query', 'rows', 'single-node ms', 'coordinator ms', 'ratio', 'goal', 'pushdown-off ms', 'ratio'].join(
        ' | ',
      ),
    );
    for (const q of BENCH_QUERIES) {
      let rows = 0;
      const [base, coordinated] = await interleavedMedians([
        async () => {
          rows = await singleNodeAnswer(baseline, q.sql);
          return undefined;
        },
        () => askCoordinator(on, q.sql, rows),
      ]);
      // Slow, and no goal: fewer runs, apart from the others.
      const [unpushed] = await interleavedMedians([() => askCoordinator(off, q.sql, rows)], 3, 0);
      const ratio = coordinated / base;
      console.log(
        [
          q.name,
          rows,
          base.toFixed(0),
          coordinated.toFixed(0),
          `${ratio.toFixed(2)}x`,
          `<=${GOAL[q.kind]}x ${ratio <= GOAL[q.kind] ? 'met' : 'MISSED'}`,
          unpushed.toFixed(0),
          `${(unpushed / base).toFixed(2)}x`,
        ].join(' | '),
      );
    }
    console.log(
      `coordinator peak RSS: ${await peakRssMb(on.child.pid as number)} MB (pushdown on), ${await peakRssMb(off.child.pid as number)} MB (pushdown off)`,
    );
    baseline.closeSync();
  } finally {
    await cluster.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCoordinatorBench(Number(process.argv[2] ?? 1_000_000)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
