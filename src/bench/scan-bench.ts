/**
 * Scan throughput: 5,000,000 rows × (BIGINT, BIGINT, VARCHAR) from a data container in another
 * process (bench-server.ts) to this one, beside (a) raw NATS moving the same bytes in 1 MiB
 * messages between the same two processes and (b) the same rows as JSON through POST /query,
 * the way the seed's coordinator fetched them (in pages of the most rows one answer
 * may hold). Goals: ≥ 50% of raw NATS, ≥ 10× the JSON path.
 *
 *   node dist/bench/scan-bench.js [rows]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_QUERY_LIMITS } from '../data-container/query.js';
import { connectNats } from '../nats/connect.js';
import { openNatsScan } from '../scan-client/nats-scan.js';
import { freePort, startNatsServer } from '../tools/nats-server.js';
import { RAW_MESSAGE_BYTES, receiveRaw } from './raw-nats.js';

const TABLE = 'bench';
/** Rounds of scan and raw NATS, taking turns; each side's best counts (a shared VM's speed drifts within seconds). */
const RUNS = 5;

export interface Throughput {
  rows: number;
  bytes: number;
  ms: number;
  rowsPerSecond: number;
  mbPerSecond: number;
  /** Scans: the data container's own time, request to end frame (its end frame's `ms`). */
  senderMs?: number;
}

export interface ScanBenchResult {
  scan: Throughput;
  rawNats: Throughput;
  jsonQuery: Throughput;
  /** scan MB/s ÷ raw NATS MB/s (goal ≥ 0.5). */
  ofRawNats: number;
  /** scan rows/s ÷ JSON rows/s (goal ≥ 10). */
  overJson: number;
}

function throughput(rows: number, bytes: number, ms: number): Throughput {
  return { rows, bytes, ms, rowsPerSecond: (rows / ms) * 1000, mbPerSecond: bytes / 1e6 / (ms / 1000) };
}

/** A bench-server process, once it serves; `options.args` are more of its flags (--grouped, --shard). */
export async function startBenchServer(
  natsUrl: string,
  rows: number,
  httpPort: number,
  options: { table?: string; args?: string[] } = {},
): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('./bench-server.js', import.meta.url));
  const table = options.table ?? TABLE;
  const child = spawn(
    process.execPath,
    [
      script,
      '--nats',
      natsUrl,
      '--table',
      table,
      '--rows',
      String(rows),
      '--http-port',
      String(httpPort),
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'silent' } },
  );
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`bench-server exited with ${code} before it was ready`);
  });
  const ready = (async () => {
    for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
      if (line.includes('"ready"')) return;
    }
  })();
  await Promise.race([ready, exited]);
  exited.catch(() => undefined);
  return child;
}

/** All rows of the table over NATS (msgpack frames), counting the bytes this connection received. */
export async function timeScan(nc: NatsConnection, limit?: number): Promise<Throughput> {
  const before = nc.stats().inBytes;
  const started = performance.now();
  let rows = 0;
  let senderMs = 0;
  for await (const frame of openNatsScan(nc, TABLE, { columns: [], limit }, { idleTimeoutMs: 30_000 })) {
    if (frame.type === 'data') rows += frame.rows;
    if (frame.type === 'end') senderMs = frame.ms;
  }
  return { ...throughput(rows, nc.stats().inBytes - before, performance.now() - started), senderMs };
}

/**
 * The naive way: POST /query and parse the JSON answer. A data container answers at most
 * DEFAULT_QUERY_LIMITS.maxRows rows per query, so the rows come in consecutive id ranges of that size.
 */
async function timeJsonQuery(baseUrl: string, rows: number): Promise<Throughput> {
  const started = performance.now();
  let received = 0;
  let bytes = 0;
  const page = DEFAULT_QUERY_LIMITS.maxRows;
  for (let lo = 0; lo < rows; lo += page) {
    const query = `SELECT * FROM ${TABLE} WHERE id >= ${lo} AND id < ${lo + page}`;
    const response = await fetch(`${baseUrl}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`POST /query answered ${response.status}: ${text.slice(0, 300)}`);
    received += (JSON.parse(text) as { results: unknown[] }).results.length;
    bytes += Buffer.byteLength(text);
  }
  return throughput(received, bytes, performance.now() - started);
}

/** The best run: the machine may be busy with other work now and then. */
function fastest(runs: Throughput[]): Throughput {
  return runs.reduce((best, run) => (run.ms < best.ms ? run : best));
}

function line(name: string, t: Throughput): string {
  const rate = t.rows ? `${(t.rowsPerSecond / 1e6).toFixed(2)} M rows/s` : '';
  const sender = t.senderMs ? ` (data container: ${(t.senderMs / 1000).toFixed(2)} s)` : '';
  return `${name.padEnd(34)} ${(t.bytes / 1e6).toFixed(1).padStart(8)} MB ${(t.ms / 1000).toFixed(2).padStart(7)} s ${t.mbPerSecond.toFixed(0).padStart(6)} MB/s  ${rate}${sender}`;
}

export async function runScanBench(rows = 5_000_000): Promise<ScanBenchResult> {
  const nats = await startNatsServer();
  const httpPort = await freePort();
  let child: ChildProcess | undefined;
  let nc: NatsConnection | undefined;
  try {
    process.stdout.write(
      `scan bench: generating ${rows} rows (BIGINT, BIGINT, VARCHAR) in a data container process\n`,
    );
    child = await startBenchServer(nats.url, rows, httpPort);
    const receiver = await connectNats({ url: nats.url }, { role: 'bench', name: 'scan bench receiver' });
    nc = receiver;
    await timeScan(receiver, 200_000);
    await receiveRaw(receiver, 8);
    // Scan and raw NATS take turns, so that both meet the same (shared) machine.
    const scans: Throughput[] = [];
    const raws: Throughput[] = [];
    for (let i = 0; i < RUNS; i++) {
      const run = await timeScan(receiver);
      if (run.rows !== rows) throw new Error(`the scan returned ${run.rows} rows, expected ${rows}`);
      scans.push(run);
      const messages = Math.ceil(scans[0].bytes / RAW_MESSAGE_BYTES);
      raws.push(throughput(0, messages * RAW_MESSAGE_BYTES, await receiveRaw(receiver, messages)));
    }
    const scan = fastest(scans);
    const rawNats = fastest(raws);
    const jsonQuery = await timeJsonQuery(`http://127.0.0.1:${httpPort}`, rows);
    const result: ScanBenchResult = {
      scan,
      rawNats,
      jsonQuery,
      ofRawNats: scan.mbPerSecond / rawNats.mbPerSecond,
      overJson: scan.rowsPerSecond / jsonQuery.rowsPerSecond,
    };
    process.stdout.write(
      [
        line(`NATS scan, best of ${RUNS}`, scan),
        line(`raw NATS 1 MiB msgs, best of ${RUNS}`, rawNats),
        line('POST /query as JSON', jsonQuery),
        `scan vs raw NATS: ${(result.ofRawNats * 100).toFixed(0)}% of its MB/s (goal ≥ 50%)`,
        `scan vs JSON /query: ${result.overJson.toFixed(1)}× the rows/s (goal ≥ 10×)`,
        '',
      ].join('\n'),
    );
    return result;
  } finally {
    await nc?.close();
    child?.kill();
    await nats.dispose();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runScanBench(process.argv[2] ? Number(process.argv[2]) : undefined).catch((err: unknown) => {
    process.stderr.write(`scan bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
