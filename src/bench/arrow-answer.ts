/**
 * A 1M-row answer received and decoded in the client: as JSON (`response.json()`) and as an
 * Arrow stream (`tableFromIPC`), from the same coordinator over the sample tables
 * (label_urls has 5 rows per label). Best of three each: `npm run bench -- arrow`, or
 *
 *   node dist/bench/arrow-answer.js [rows]
 */

import { pathToFileURL } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { ARROW_STREAM_TYPE } from '../arrow/arrow-stream.js';
import { startLocalCluster } from '../tools/local-cluster.js';

const RUNS = 3;

async function timed(run: () => Promise<number>): Promise<{ ms: number; rows: number }> {
  let best = { ms: Number.POSITIVE_INFINITY, rows: 0 };
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const rows = await run();
    const ms = performance.now() - started;
    if (ms < best.ms) best = { ms, rows };
  }
  return best;
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
    const json = await timed(async () => {
      const answer = (await (await ask('application/json')).json()) as { results: unknown[] };
      return answer.results.length;
    });
    const arrow = await timed(async () => {
      const table = tableFromIPC(new Uint8Array(await (await ask(ARROW_STREAM_TYPE)).arrayBuffer()));
      return table.numRows;
    });
    process.stdout.write(
      [
        `JSON : ${json.rows} rows received and decoded in ${(json.ms / 1000).toFixed(2)} s`,
        `Arrow: ${arrow.rows} rows received and decoded in ${(arrow.ms / 1000).toFixed(2)} s`,
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
