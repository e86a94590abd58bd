/**
 * Prometheus metrics of a process (prom-client's default registry: one process is one
 * coordinator or one data container): the process's own (CPU, memory, GC, event-loop lag),
 * what coordinator.ts and container.ts count, and DuckDB's memory by component, read from
 * duckdb_memory() when scraped.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, register } from 'prom-client';

let defaultsCollected = false;

/** DuckDB's memory by tag (BASE_TABLE, HASH_TABLE, …), read at each scrape from a connection `connect` opens. */
export function watchDuckDBMemory(connect: () => Promise<DuckDBConnection>): void {
  if (register.getSingleMetric('duckdb_memory_bytes')) return;
  new Gauge({
    name: 'duckdb_memory_bytes',
    help: "DuckDB's memory in use by component (duckdb_memory())",
    labelNames: ['tag'],
    async collect() {
      const con = await connect();
      try {
        const rows = (
          await con.runAndReadAll('SELECT tag, memory_usage_bytes FROM duckdb_memory()')
        ).getRows();
        for (const [tag, bytes] of rows) this.set({ tag: String(tag) }, Number(bytes));
      } finally {
        con.closeSync();
      }
    },
  });
}

/** GET /metrics in Prometheus's text format. */
export function registerMetricsRoute(app: FastifyInstance): void {
  if (!defaultsCollected) {
    collectDefaultMetrics();
    defaultsCollected = true;
  }
  app.get(
    '/metrics',
    { schema: { description: 'Prometheus metrics (text exposition format).', hide: false } },
    async (_request, reply) => reply.type(register.contentType).send(await register.metrics()),
  );
}
