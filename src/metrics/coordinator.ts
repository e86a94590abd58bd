/** What a coordinator counts: queries by status and answer format, their latency, rows and bytes gathered per table. */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { GatherStats } from '../coordinator/execute/gather.js';

const queries = new Counter({
  name: 'duckdb_s3_queries_total',
  help: 'Queries answered, by status (ok, error, cancelled) and kind (answer format: json, ndjson, csv, arrow)',
  labelNames: ['status', 'kind'],
});

const latency = new Histogram({
  name: 'duckdb_s3_query_duration_seconds',
  help: 'Time from a query arriving to its answer sent, by status and kind',
  labelNames: ['status', 'kind'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
});

const rowsGathered = new Counter({
  name: 'duckdb_s3_gathered_rows_total',
  help: 'Rows moved from data containers to this coordinator, by table',
  labelNames: ['table'],
});

const bytesGathered = new Counter({
  name: 'duckdb_s3_gathered_bytes_total',
  help: 'Payload bytes moved from data containers to this coordinator, by table',
  labelNames: ['table'],
});

/** Queries running now (set by whoever keeps them: the running-queries registry). */
export const runningQueries = new Gauge({
  name: 'duckdb_s3_queries_running',
  help: 'Queries running now',
});

/** Queries waiting for a turn, read from admission control whenever /metrics is scraped. */
export function observeQueue(admission: { counts(): { queued: number } }): void {
  new Gauge({
    name: 'duckdb_s3_query_queue_depth',
    help: 'Queries waiting for admission',
    collect() {
      this.set(admission.counts().queued);
    },
  });
}

export type QueryStatus = 'ok' | 'error' | 'cancelled';

export function observeQuery(
  status: QueryStatus,
  kind: string,
  seconds: number,
  tables: GatherStats[],
): void {
  queries.inc({ status, kind });
  latency.observe({ status, kind }, seconds);
  for (const t of tables) {
    rowsGathered.inc({ table: t.table }, t.rows);
    bytesGathered.inc({ table: t.table }, t.bytes);
  }
}
