#!/usr/bin/env node
/** The one entry point: serve (data container), coordinator, scan, demo. */
import { Command, Option } from 'commander';
import {
  CoordinatorOptionsSchema,
  natsUrlFrom,
  parseOptions,
  ScanCommandOptionsSchema,
  ServeOptionsSchema,
} from './config.js';
import { steadyHeapGrowth } from './heap-growth.js';

steadyHeapGrowth();

const program = new Command()
  .name('duckdb-s3-query')
  .description('Distributed SQL over gzipped CSV tables in S3, served by DuckDB data containers over NATS');

program
  .command('serve')
  .description('a data container: load one table from S3 into DuckDB and serve it over HTTP (and NATS)')
  .argument('<s3-urls...>', 's3://bucket/key.csv.gz, several URLs, or a prefix glob s3://bucket/dir/*.csv.gz')
  .requiredOption('--table-name <name>', 'the table name queries use')
  .option('--port <port>', 'HTTP port', '8000')
  .option('--host <host>', 'HTTP bind address', '0.0.0.0')
  .option('--nats <url>', 'NATS server to register with (default: $NATS_URL)')
  .option('--s3-endpoint <url>', 'S3-compatible endpoint (default: $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL)')
  .option('--shard <label>', 'shard label for NATS discovery', '0')
  .addOption(
    new Option('--query-timeout-ms <ms>', 'deadline of one POST /query answer')
      .env('QUERY_TIMEOUT_MS')
      .default('60000'),
  )
  .addOption(
    new Option('--max-json-rows <n>', 'row cap of a POST /query answer')
      .env('MAX_JSON_ROWS')
      .default('100000'),
  )
  .addOption(
    new Option('--memory-limit <size>', 'DuckDB memory_limit, e.g. 4GB (the table must fit)').env(
      'DUCKDB_MEMORY_LIMIT',
    ),
  )
  .action(async (urls: string[], o) => {
    const opts = parseOptions(
      ServeOptionsSchema,
      {
        urls,
        tableName: o.tableName,
        port: o.port,
        host: o.host,
        nats: natsUrlFrom(o.nats),
        s3Endpoint:
          o.s3Endpoint ?? (process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined),
        shard: o.shard,
        queryTimeoutMs: o.queryTimeoutMs,
        maxJsonRows: o.maxJsonRows,
        memoryLimit: o.memoryLimit,
      },
      'serve',
    );
    const { runServe } = await import('./data-container/serve.js');
    await runServe(opts);
  });

program
  .command('coordinator')
  .description('the distributed query server: SQL over HTTP, scans scattered to data containers')
  .option('--config <path>', 'config.json naming tables reached over HTTP')
  .option('--port <port>', 'HTTP port', '8000')
  .option('--host <host>', 'HTTP bind address', '0.0.0.0')
  .option('--nats <url>', 'NATS server for discovery and scans (default: $NATS_URL)')
  .addOption(new Option('--timeout-ms <ms>', 'per-query timeout').env('QUERY_TIMEOUT_MS').default('60000'))
  .addOption(
    new Option('--max-json-rows <n>', 'row cap of a JSON answer').env('MAX_JSON_ROWS').default('100000'),
  )
  .addOption(new Option('--memory-limit <size>', 'DuckDB memory_limit, e.g. 8GB').env('DUCKDB_MEMORY_LIMIT'))
  .option('--no-pushdown', 'fetch whole tables instead of pushing filters and projections down')
  .action(async (o) => {
    const opts = parseOptions(
      CoordinatorOptionsSchema,
      {
        config: o.config,
        port: o.port,
        host: o.host,
        nats: natsUrlFrom(o.nats),
        timeoutMs: o.timeoutMs,
        maxJsonRows: o.maxJsonRows,
        memoryLimit: o.memoryLimit,
        pushdown: o.pushdown,
      },
      'coordinator',
    );
    const { runCoordinator } = await import('./coordinator/main.js');
    await runCoordinator(opts);
  });

program
  .command('scan')
  .description('a direct scan of one table over NATS, printed to stdout')
  .argument('<table>', 'table name')
  .option('--columns <a,b>', 'comma-separated columns (default: all)')
  .option('--where <sql>', 'a SQL predicate over the table')
  .option('--limit <n>', 'at most this many rows')
  .option('--format <format>', 'ndjson, csv or arrow (an Arrow IPC stream)', 'ndjson')
  .option('--nats <url>', 'NATS server (default: $NATS_URL, else nats://127.0.0.1:4222)')
  .option('--timeout-ms <ms>', 'give up when no frame arrives for this long', '30000')
  .action(async (table: string, o) => {
    const opts = parseOptions(
      ScanCommandOptionsSchema,
      {
        table,
        columns: o.columns
          ? String(o.columns)
              .split(',')
              .map((c: string) => c.trim())
              .filter(Boolean)
          : [],
        where: o.where,
        limit: o.limit,
        format: o.format,
        nats: natsUrlFrom(o.nats) ?? 'nats://127.0.0.1:4222',
        timeoutMs: o.timeoutMs,
      },
      'scan',
    );
    const { runScanCommand } = await import('./scan-client/scan-command.js');
    await runScanCommand(opts);
  });

program
  .command('demo')
  .description('sample data in an embedded S3 server, three data containers and a coordinator on :8000')
  .option('--port <port>', 'coordinator port', '8000')
  .option('--rows <n>', 'rows in labels (the other tables get 5x)', '100000')
  .action(async (o) => {
    // The demo's S3 emulator (s3rver) is a dev dependency: not in the production images.
    const { runDemo } = await import('./demo/demo.js').catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ERR_MODULE_NOT_FOUND' || !err.message.includes('s3rver')) throw err;
      throw new Error(
        'the demo needs the development dependencies (s3rver): run `npm ci`, not `npm ci --omit=dev`',
      );
    });
    await runDemo({ port: Number(o.port), rows: Number(o.rows) });
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`duckdb-s3-query: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
