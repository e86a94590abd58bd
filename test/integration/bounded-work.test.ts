/**
 * Bounded work, against a real cluster: admission control (a burst of CPU-burning queries
 * leaves the coordinator answering, fast, with 503 `overloaded` and Retry-After for what
 * does not fit), /health reporting it, SIGTERM ending a busy coordinator within seconds, and
 * spill to disk capped (507 `out_of_temp_space`) in a directory the process removes at exit.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalCluster,
  type ManagedProcess,
  startCliProcess,
  startLocalCluster,
} from '../../src/tools/local-cluster.js';
import { S3_EMULATOR_ENV } from '../../src/tools/s3-emulator.js';

let cluster: LocalCluster;

interface Answer {
  status: number;
  retryAfter: string | null;
  ms: number;
  body: { error?: string; message?: string; results?: Record<string, unknown>[] };
}

async function query(target: ManagedProcess, sql: string, signal?: AbortSignal): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${target.url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: sql }),
    signal,
  });
  const body = (await response.json()) as Answer['body'];
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    ms: performance.now() - started,
    body,
  };
}

/** Two tables, so the join runs in the coordinator's own DuckDB, for as long as it is let. */
const BURN =
  'SELECT count(*) FROM labels a, label_urls b, label_urls c WHERE a.name < c.url AND b.url_id > a.label_id';

beforeAll(async () => {
  cluster = await startLocalCluster({ labels: 2_000 });
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('admission control', () => {
  it('answers a trivial query, or refuses it fast, while 20 CPU-burning queries are sent at once', async () => {
    const coordinator = await cluster.startCoordinator([
      '--max-concurrent-queries',
      '2',
      '--max-queued-queries',
      '2',
      '--timeout-ms',
      '60000',
    ]);
    const leave = new AbortController();
    const burning = Array.from({ length: 20 }, () =>
      query(coordinator, BURN, leave.signal).catch((err: Error) => err),
    );
    try {
      // Those beyond 2 running and 2 waiting are refused at once, with a time to come back.
      const outcomes = (await Promise.all(
        burning.map((p) => Promise.race([p, new Promise((r) => setTimeout(() => r(undefined), 3_000))])),
      )) as (Answer | Error | undefined)[];
      const overloaded = outcomes.filter(
        (a): a is Answer => !!a && !(a instanceof Error) && a.status === 503,
      );
      expect(overloaded.length).toBe(16);
      for (const answer of overloaded) {
        expect(answer.body.error).toBe('overloaded');
        expect(Number(answer.retryAfter)).toBeGreaterThan(0);
        expect(answer.body.message).toMatch(/--max-concurrent-queries/);
      }
      const trivial = await query(coordinator, 'SELECT 1 AS one');
      expect([200, 503]).toContain(trivial.status);
      expect(trivial.ms).toBeLessThan(3_000);
      const health = await fetch(`${coordinator.url}/health`);
      expect(health.status).toBe(200);
      const body = (await health.json()) as { status: string; queries: { running: number; queued: number } };
      expect(body.status).toBe('ok');
      expect(body.queries).toMatchObject({ running: 2, queued: 2 });
      // SIGTERM interrupts the running queries and ends the process within seconds.
      const started = performance.now();
      const exited = new Promise((resolve) => coordinator.child.once('exit', resolve));
      coordinator.child.kill('SIGTERM');
      await exited;
      expect(performance.now() - started).toBeLessThan(6_000);
    } finally {
      leave.abort();
      await Promise.allSettled(burning);
      await coordinator.stop();
    }
  });
});

describe("a data container's POST /query", () => {
  it('runs one query at a time with --max-concurrent-queries 1 and refuses one more with 503 and Retry-After', async () => {
    const container = cluster.adopt(
      await startCliProcess(
        'bounded-urls',
        [
          'serve',
          's3://sample-data/label_urls.csv.gz',
          '--table-name',
          'label_urls',
          '--s3-endpoint',
          cluster.s3.endpoint,
          '--max-concurrent-queries',
          '1',
          '--max-queued-queries',
          '0',
          '--query-timeout-ms',
          '3000',
        ],
        S3_EMULATOR_ENV,
      ),
    );
    const heavy = query(
      container,
      'SELECT count(*) FROM label_urls a, label_urls b, label_urls c WHERE a.url < c.url',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const health = (await (await fetch(`${container.url}/health`)).json()) as {
      queries: { running: number };
    };
    expect(health.queries.running).toBe(1);
    const refused = await query(container, 'SELECT 1 AS one FROM label_urls LIMIT 1');
    expect(refused.status).toBe(503);
    expect(refused.body.error).toBe('overloaded');
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect((await heavy).status).toBe(504);
    expect((await query(container, 'SELECT count(*) AS n FROM label_urls')).status).toBe(200);
    await container.stop();
  });
});

describe('spill', () => {
  it('fails a query that would spill past --max-temp-directory-size with 507, and makes its directory only then and removes it at exit', async () => {
    const base = await mkdtemp(join(tmpdir(), 'guards-spill-'));
    const coordinator = await cluster.startCoordinator([
      '--memory-limit',
      '64MB',
      '--temp-directory',
      base,
      '--max-temp-directory-size',
      '8MB',
    ]);
    try {
      // Nothing is made before DuckDB spills.
      expect(await readdir(base)).toEqual([]);
      const answer = await query(
        coordinator,
        'SELECT count(DISTINCT a.url_id * 100000 + b.label_id) AS n FROM label_urls a, labels b',
      );
      expect(answer.status).toBe(507);
      expect(answer.body.error).toBe('out_of_temp_space');
      expect(answer.body.message).toMatch(/--max-temp-directory-size/);
      expect(answer.body.message).not.toContain(base);
      expect((await readdir(base)).length).toBe(1);
      const after = await query(coordinator, 'SELECT count(*) AS n FROM labels');
      expect(after.status).toBe(200);
    } finally {
      await coordinator.stop();
    }
    expect(await readdir(base)).toEqual([]);
    await rm(base, { recursive: true });
  });
});
