/**
 * Bounded work (issue 14's figures): each process's peak memory under 16 concurrent heavy
 * queries against its DuckDB memory limit (goal: at most 1.25 × the limit plus the process's
 * idle RSS), and the time from a coordinator's 504 to a container whose CPU is idle again
 * (goal: under 1 s), for a runaway query pushed whole to a container.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { type ManagedProcess, startLocalCluster } from '../tools/local-cluster.js';
import { cpuTicks, peakRssMb, rssMb } from './proc-stats.js';

const MEMORY_LIMIT_MB = 1024;
const CONCURRENT = 16;

/** Heavy in different places: big hash tables in a container, big joins and sorts in the coordinator. */
const HEAVY_QUERIES = [
  'SELECT url_id % 500000 AS k, count(*) AS n, max(url) AS u FROM label_urls GROUP BY 1 ORDER BY n DESC, k LIMIT 5',
  'SELECT count(*) AS n, count(DISTINCT s.sublabel_name || u.url) AS d FROM label_sublabels s JOIN label_urls u ON s.label_id = u.label_id',
  'SELECT label_id, repeat(name, 40) AS long_name FROM labels ORDER BY long_name DESC LIMIT 5',
  'SELECT s.sublabel_name, u.url FROM label_sublabels s JOIN label_urls u ON s.sublabel_id = u.url_id ORDER BY u.url DESC LIMIT 5',
];

async function post(coordinator: ManagedProcess, sql: string): Promise<number> {
  const response = await fetch(`${coordinator.url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: sql }),
  });
  await response.arrayBuffer();
  return response.status;
}

async function memoryUnderLoad(processes: ManagedProcess[], coordinator: ManagedProcess): Promise<void> {
  const idle = new Map<ManagedProcess, number>();
  for (const p of processes) idle.set(p, await rssMb(p.child.pid as number));
  const started = performance.now();
  const statuses = await Promise.all(
    Array.from({ length: CONCURRENT }, (_, i) => post(coordinator, HEAVY_QUERIES[i % HEAVY_QUERIES.length])),
  );
  const counts: Record<number, number> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  console.log(
    `${CONCURRENT} concurrent heavy queries: ${((performance.now() - started) / 1000).toFixed(1)} s, statuses ${JSON.stringify(counts)}`,
  );
  console.log(['process', 'idle RSS MB', 'peak RSS MB', 'limit MB', 'goal MB', 'met'].join(' | '));
  for (const p of processes) {
    const peak = await peakRssMb(p.child.pid as number);
    const goal = Math.round(1.25 * MEMORY_LIMIT_MB + (idle.get(p) ?? 0));
    console.log(
      [p.name, idle.get(p), peak, MEMORY_LIMIT_MB, goal, peak <= goal ? 'met' : 'MISSED'].join(' | '),
    );
  }
}

/** Milliseconds from now until the process's CPU time stops growing (no tick over `quietMs`). */
async function untilIdle(pid: number, quietMs = 300, maxMs = 60_000): Promise<number> {
  const started = performance.now();
  let last = await cpuTicks(pid);
  let lastBusy = started;
  while (performance.now() - lastBusy < quietMs) {
    if (performance.now() - started > maxMs) return Number.POSITIVE_INFINITY;
    await delay(25);
    const now = await cpuTicks(pid);
    if (now > last) lastBusy = performance.now();
    last = now;
  }
  return lastBusy - started;
}

async function timeoutToIdle(container: ManagedProcess, coordinator: ManagedProcess): Promise<void> {
  const sql = 'SELECT count(*) FROM labels a, labels b, labels c';
  const status = await post(coordinator, sql);
  const ms = await untilIdle(container.child.pid as number);
  const shown = Number.isFinite(ms) ? `idle ${ms.toFixed(0)} ms later` : 'still busy 60 s later';
  console.log(
    `runaway pushed query (${sql}): coordinator answered ${status}; container CPU ${shown} (goal < 1000 ms: ${ms < 1000 ? 'met' : 'MISSED'})`,
  );
}

export async function runTrustBench(labels = 200_000): Promise<void> {
  console.log(
    `\n== bounded work: ${labels} labels, ${labels * 5} label_sublabels, ${labels * 5} label_urls ==`,
  );
  const limit = ['--memory-limit', `${MEMORY_LIMIT_MB}MB`];
  const cluster = await startLocalCluster({ labels, serveArgs: limit });
  try {
    const coordinator = await cluster.startCoordinator([...limit, '--max-json-rows', '10000000']);
    await memoryUnderLoad([coordinator, ...Object.values(cluster.containers)], coordinator);
    const impatient = await cluster.startCoordinator(['--timeout-ms', '2000']);
    await timeoutToIdle(cluster.containers.labels, impatient);
  } finally {
    await cluster.stop();
  }
}
