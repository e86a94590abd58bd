/**
 * A 1M-row answer received and decoded in the client: as JSON (`response.json()`) and as an
 * Arrow stream (`tableFromIPC`), from the same coordinator over the sample tables
 * (label_urls has 5 rows per label). Best of three each, with the CPU seconds its run took in
 * the client (receiving and decoding), the coordinator and label_urls' container: on a busy
 * machine those, not wall time, say where the work is. `npm run bench -- arrow`, or
 *
 *   node dist/bench/arrow-answer.js [rows]
 */

import { pathToFileURL } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { ARROW_STREAM_TYPE } from '../arrow/arrow-stream.js';
import { type ManagedProcess, startLocalCluster } from '../tools/local-cluster.js';
import { cpuTicks } from './proc-stats.js';

const RUNS = 3;

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
    const ask = async (accept: string) => {
      const response = await fetch(`${coordinator.url}/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: JSON.stringify({ query: sql }),
      });
      if (!response.ok) throw new Error(`${accept} answer: HTTP ${response.status} ${await response.text()}`);
      return response;
    };
    const container = cluster.containers.label_urls;
    const json = await timed(
      async () => {
        const answer = (await (await ask('application/json')).json()) as { results: unknown[] };
        return answer.results.length;
      },
      coordinator,
      container,
    );
    const arrow = await timed(
      async () => {
        const table = tableFromIPC(new Uint8Array(await (await ask(ARROW_STREAM_TYPE)).arrayBuffer()));
        return table.numRows;
      },
      coordinator,
      container,
    );
    process.stdout.write(
      [
        line('JSON ', json),
        line('Arrow', arrow),
        `Arrow is ${(json.ms / arrow.ms).toFixed(1)}× faster (goal ≥ 5×)`,
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
