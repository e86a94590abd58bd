/**
 * A 1M-row answer received and decoded in the client: as JSON and as an Arrow stream, from
 * the same coordinator over the sample tables (label_urls has 5 rows per label), by two
 * clients: node:http, which reads the socket as a Python or Go client would (JSON.parse of
 * the body; apache-arrow's reader over the body's pieces as they came), and `fetch`
 * (`response.json()`; `tableFromIPC` of `response.arrayBuffer()`), whose body reading in
 * Node 20 costs several times node:http's (docs/performance.md). Best of three each, with
 * the CPU seconds its run took in the client (receiving and decoding), the coordinator and
 * label_urls' container: on a busy machine those, not wall time, say where the work is.
 * `npm run bench -- arrow`, or
 *
 *   node dist/bench/arrow-answer.js [rows]
 */

import { pathToFileURL } from 'node:url';
import { RecordBatchReader, tableFromIPC } from 'apache-arrow';
import { ARROW_STREAM_TYPE } from '../arrow/arrow-stream.js';
import { type ManagedProcess, startLocalCluster } from '../tools/local-cluster.js';
import { postForPieces } from './coordinator-bench.js';
import { cpuTicks } from './proc-stats.js';

const RUNS = 3;

/** The answer's body as the pieces node:http read from the socket. */
async function bodyPieces(url: URL, body: string, accept: string): Promise<Buffer[]> {
  const { status, pieces } = await postForPieces(url, body, { accept });
  if (status !== 200) throw new Error(`${accept} answer: HTTP ${status} ${Buffer.concat(pieces)}`);
  return pieces;
}

interface Run {
  ms: number;
  rows: number;
  /** CPU seconds of the client, the coordinator and the container. */
  cpu: { client: number; coordinator: number; container: number };
}

async function timed(
  run: () => Promise<number>,
  coordinator: ManagedProcess,
  container: ManagedProcess,
): Promise<Run> {
  const ticks = () => Promise.all([coordinator, container].map((p) => cpuTicks(p.child.pid as number)));
  let best: Run | undefined;
  for (let i = 0; i < RUNS; i++) {
    const [coordinatorBefore, containerBefore] = await ticks();
    const client = process.cpuUsage();
    const started = performance.now();
    const rows = await run();
    const ms = performance.now() - started;
    const used = process.cpuUsage(client);
    const [coordinatorAfter, containerAfter] = await ticks();
    const cpu = {
      client: (used.user + used.system) / 1e6,
      coordinator: (coordinatorAfter - coordinatorBefore) / 100,
      container: (containerAfter - containerBefore) / 100,
    };
    if (!best || ms < best.ms) best = { ms, rows, cpu };
  }
  return best as Run;
}

function line(what: string, run: Run): string {
  const { client, coordinator, container } = run.cpu;
  return (
    `${what}: ${run.rows} rows received and decoded in ${(run.ms / 1000).toFixed(2)} s ` +
    `(CPU s: client ${client.toFixed(2)}, coordinator ${coordinator.toFixed(2)}, container ${container.toFixed(2)})`
  );
}

export async function runArrowAnswerBench(rows = 1_000_000): Promise<void> {
  const cluster = await startLocalCluster({ labels: Math.ceil(rows / 5) });
  try {
    // The JSON answer of 1M rows is over the default caps (rows and 64 MiB).
    const coordinator = await cluster.startCoordinator([
      '--max-json-rows',
      String(rows),
      '--max-json-bytes',
      String(2 ** 30),
    ]);
    const sql = `SELECT url_id, label_id, url, sublabel_id FROM label_urls LIMIT ${rows}`;
    const body = JSON.stringify({ query: sql });
    const url = new URL('/query', coordinator.url);
    const viaFetch = async (accept: string) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body,
      });
      if (!response.ok) throw new Error(`${accept} answer: HTTP ${response.status} ${await response.text()}`);
      return response;
    };
    const container = cluster.containers.label_urls;
    const time = (run: () => Promise<number>) => timed(run, coordinator, container);
    const http = {
      json: await time(async () => {
        const pieces = await bodyPieces(url, body, 'application/json');
        return (JSON.parse(Buffer.concat(pieces).toString('utf8')) as { results: unknown[] }).results.length;
      }),
      arrow: await time(async () => {
        const pieces = await bodyPieces(url, body, ARROW_STREAM_TYPE);
        return tableFromIPC(RecordBatchReader.from(pieces)).numRows;
      }),
    };
    const viaFetchClient = {
      json: await time(async () => {
        const answer = (await (await viaFetch('application/json')).json()) as { results: unknown[] };
        return answer.results.length;
      }),
      arrow: await time(async () => {
        const bytes = new Uint8Array(await (await viaFetch(ARROW_STREAM_TYPE)).arrayBuffer());
        return tableFromIPC(bytes).numRows;
      }),
    };
    process.stdout.write(
      [
        line('JSON  (node:http)', http.json),
        line('Arrow (node:http)', http.arrow),
        `Arrow is ${(http.json.ms / http.arrow.ms).toFixed(1)}× faster with node:http (goal ≥ 5×)`,
        line('JSON  (fetch)    ', viaFetchClient.json),
        line('Arrow (fetch)    ', viaFetchClient.arrow),
        `Arrow is ${(viaFetchClient.json.ms / viaFetchClient.arrow.ms).toFixed(1)}× faster with fetch`,
        '',
      ].join('\n'),
    );
  } finally {
    await cluster.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runArrowAnswerBench(process.argv[2] ? Number(process.argv[2]) : undefined).catch((err: unknown) => {
    process.stderr.write(`arrow answer bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
