/**
 * `npm run bench -- pg`: the bench's quick queries (all but the full join) through the
 * Postgres port against POST /query on the same coordinator, taking turns (goal: within
 * 1.2×). One connection each side, kept open; node-postgres hands values over as text.
 */
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { startLocalCluster } from '../tools/local-cluster.js';
import { freePort } from '../tools/nats-server.js';
import { askCoordinator, BENCH_QUERIES, interleavedMedians } from './coordinator-bench.js';

const GOAL = 1.2;

export async function runPgBench(labels = 1_000_000): Promise<void> {
  console.log(`\n== postgres port vs POST /query: ${labels} labels ==`);
  const cluster = await startLocalCluster({ labels });
  const pgPort = await freePort();
  const client = new pg.Client({
    host: '127.0.0.1',
    port: pgPort,
    user: 'bench',
    types: { getTypeParser: () => (value: string) => value },
  });
  try {
    // The seed join's 242k rows are over the JSON answer's default row cap.
    const coordinator = await cluster.startCoordinator([
      '--pg-port',
      String(pgPort),
      '--max-json-rows',
      '10000000',
    ]);
    await client.connect();
    console.log(['query', 'rows', 'POST /query ms', 'postgres ms', 'ratio', 'goal'].join(' | '));
    for (const q of BENCH_QUERIES.filter((b) => b.kind !== 'full-join')) {
      const rows = (await client.query({ text: q.sql, rowMode: 'array' })).rows.length;
      const [http, postgres] = await interleavedMedians([
        () => askCoordinator(coordinator, q.sql, rows),
        async () => {
          const answer = await client.query({ text: q.sql, rowMode: 'array' });
          if (answer.rows.length !== rows)
            throw new Error(`postgres port answered ${answer.rows.length} rows, not ${rows}`);
          return undefined;
        },
      ]);
      const ratio = postgres / http;
      console.log(
        [
          q.name,
          rows,
          http.toFixed(1),
          postgres.toFixed(1),
          `${ratio.toFixed(2)}x`,
          `<=${GOAL}x ${ratio <= GOAL ? 'met' : 'MISSED'}`,
        ].join(' | '),
      );
    }
  } finally {
    await client.end().catch(() => undefined);
    await cluster.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runPgBench(Number(process.argv[2] ?? 1_000_000)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
