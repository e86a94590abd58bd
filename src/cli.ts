#!/usr/bin/env node
/** The one entry point: serve (data container), coordinator, scan, demo. */
import { Command, Option } from 'commander';
import {
  CoordinatorOptionsSchema,
  natsOptionsFrom,
  parseOptions,
  ScanCommandOptionsSchema,
  ServeOptionsSchema,
} from './config.js';
import { steadyHeapGrowth } from './heap-growth.js';
import { addNatsFlags } from './nats/flags.js';
import { redactSecrets } from './redact.js';

steadyHeapGrowth();

/** The HTTP guards of `serve` and `coordinator` (src/http/auth.ts, src/http/audit.ts). */
const apiKeysOption = () =>
  new Option(
    '--api-keys <file>',
    'require Authorization: Bearer <key> on every request but GET /health; FILE holds one key per line (default: $API_KEYS, comma-separated)',
  );
const auditSqlOption = () =>
  new Option('--audit-sql <mode>', "the query audit line's SQL: text (and hash), or hash only")
    .choices(['text', 'hash'])
    .env('AUDIT_SQL')
    .default('text');
/** Flags of the limits on a process's work, the same for `serve` and `coordinator` (defaults: config.ts). */
const workLimitOptions = () => [
  new Option(
    '--max-concurrent-queries <n>',
    'queries run at once (default: the cores, at most UV_THREADPOOL_SIZE - 2)',
  ).env('MAX_CONCURRENT_QUERIES'),
  new Option('--max-queued-queries <n>', 'queries that may wait for a turn; more get 503 (default 128)').env(
    'MAX_QUEUED_QUERIES',
  ),
  new Option(
    '--temp-directory <dir>',
    "where DuckDB spills (a directory of the process's own is made in it; default: the OS temp dir)",
  ).env('DUCKDB_TEMP_DIRECTORY'),
  new Option('--max-temp-directory-size <size>', 'most DuckDB may spill, e.g. 10GiB (the default)').env(
    'DUCKDB_MAX_TEMP_DIRECTORY_SIZE',
  ),
  new Option(
    '--threads <n>',
    "DuckDB's worker threads (default: the cores; fewer where other processes share them)",
  ).env('DUCKDB_THREADS'),
];

function workLimitValues(o: Record<string, unknown>) {
  return {
    maxConcurrentQueries: o.maxConcurrentQueries,
    maxQueuedQueries: o.maxQueuedQueries,
    tempDirectory: o.tempDirectory,
    maxTempDirectorySize: o.maxTempDirectorySize,
    threads: o.threads,
  };
}

const program = new Command()
  .name('duckdb-s3-query')
  .description('Distributed SQL over gzipped CSV tables in S3, served by DuckDB data containers over NATS');

const serve = program
  .command('serve')
  .description('a data container: load one table from S3 into DuckDB and serve it over HTTP (and NATS)')
  .argument('<s3-urls...>', 's3://bucket/key.csv.gz, several URLs, or a prefix glob s3://bucket/dir/*.csv.gz')
  .requiredOption('--table-name <name>', 'the table name queries use')
  .option('--port <port>', 'HTTP port', '8000')
  .option('--host <host>', 'HTTP bind address', '0.0.0.0')
  .option(
    '--nats <url>',
    'NATS server(s) to register with, nats://[user:password@]host:4222 (default: $NATS_URL)',
  )
  .option('--s3-endpoint <url>', 'S3-compatible endpoint (default: $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL)')
  .option(
    '--shard <I/N>',
    'serve part I (0-based) of N: containers given the same URLs split the objects; default the whole table',
  )
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
  .addOption(apiKeysOption())
  .addOption(auditSqlOption())
  .action(async (urls: string[], o) => {
    const opts = parseOptions(
      ServeOptionsSchema,
      {
        urls,
        tableName: o.tableName,
        port: o.port,
        host: o.host,
        nats: natsOptionsFrom(o),
        s3Endpoint:
          o.s3Endpoint ?? (process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined),
        shard: o.shard,
        queryTimeoutMs: o.queryTimeoutMs,
        maxJsonRows: o.maxJsonRows,
        memoryLimit: o.memoryLimit,
        apiKeys: o.apiKeys,
        auditSql: o.auditSql,
        ...workLimitValues(o),
      },
      'serve',
    );
    const { runServe } = await import('./data-container/serve.js');
    await runServe(opts);
  });

const coordinator = program
  .command('coordinator')
  .description('the distributed query server: SQL over HTTP, scans scattered to data containers')
  .option('--config <path>', 'config.json naming tables reached over HTTP')
  .option('--port <port>', 'HTTP port', '8000')
  .option('--host <host>', 'HTTP bind address', '0.0.0.0')
  .option(
    '--nats <url>',
    'NATS server(s) for discovery and scans, nats://[user:password@]host:4222 (default: $NATS_URL)',
  )
  .addOption(new Option('--timeout-ms <ms>', 'per-query timeout').env('QUERY_TIMEOUT_MS').default('60000'))
  .addOption(
    new Option('--max-json-rows <n>', 'row cap of a JSON answer').env('MAX_JSON_ROWS').default('100000'),
  )
  .addOption(new Option('--memory-limit <size>', 'DuckDB memory_limit, e.g. 8GB').env('DUCKDB_MEMORY_LIMIT'))
  .addOption(
    new Option('--max-json-bytes <n>', 'byte cap of a JSON answer (default 64 MiB)').env('MAX_JSON_BYTES'),
  )
  .option('--no-pushdown', 'fetch whole tables instead of pushing filters and projections down')
  .option(
    '--no-two-way-reductions',
    'narrow a scan only by keys of scans gathered before it, not also by those of later ones',
  )
  .option(
    '--hold-above-rows <n>',
    'a scan holds its rows for the keys of later scans only past N rows (default 10000)',
  )
  .option(
    '--send-at-once-rows <n>',
    "a scan its own predicate narrows to at most N rows sends them without waiting for other scans' keys (default 100000)",
  )
  .addOption(
    new Option(
      '--reference-table-rows <n>',
      'copy unsplit tables of at most N rows into the coordinator (default 100000; 0: none)',
    ).env('REFERENCE_TABLE_ROWS'),
  )
  .addOption(
    new Option(
      '--reference-table-bytes <n>',
      'bytes those copies may take, least recently used dropped first (default 64 MiB; 0: none)',
    ).env('REFERENCE_TABLE_BYTES'),
  )
  .addOption(apiKeysOption())
  .addOption(auditSqlOption())
  .addOption(new Option('--pg-port <port>', 'Postgres wire protocol port (psql, JDBC, …)').env('PG_PORT'))
  .addOption(
    new Option('--pg-tls-cert <file>', 'PEM certificate for TLS on the Postgres port').env('PG_TLS_CERT'),
  )
  .addOption(new Option('--pg-tls-key <file>', 'PEM key for TLS on the Postgres port').env('PG_TLS_KEY'))
  .action(async (o) => {
    const opts = parseOptions(
      CoordinatorOptionsSchema,
      {
        config: o.config,
        port: o.port,
        host: o.host,
        nats: natsOptionsFrom(o),
        timeoutMs: o.timeoutMs,
        maxJsonRows: o.maxJsonRows,
        memoryLimit: o.memoryLimit,
        pushdown: o.pushdown,
        twoWayReductions: o.twoWayReductions,
        holdAboveRows: o.holdAboveRows,
        sendAtOnceRows: o.sendAtOnceRows,
        referenceTableRows: o.referenceTableRows,
        referenceTableBytes: o.referenceTableBytes,
        apiKeys: o.apiKeys,
        auditSql: o.auditSql,
        maxJsonBytes: o.maxJsonBytes,
        ...workLimitValues(o),
        pgPort: o.pgPort,
        pgTlsCert: o.pgTlsCert,
        pgTlsKey: o.pgTlsKey,
      },
      'coordinator',
    );
    const { runCoordinator } = await import('./coordinator/main.js');
    await runCoordinator(opts);
  });

for (const command of [serve, coordinator])
  for (const option of workLimitOptions()) command.addOption(option);

program
  .command('scan')
  .description('a direct scan of one table over NATS (every part of a split table), printed to stdout')
  .argument('<table>', 'table name')
  .option('--columns <a,b>', 'comma-separated columns (default: all)')
  .option('--where <sql>', 'a SQL predicate over the table')
  .option('--limit <n>', 'at most this many rows')
  .option('--format <format>', 'ndjson, csv or arrow (an Arrow IPC stream)', 'ndjson')
  .option('--shard <i>', 'read part I (0-based) of a split table alone (default: every part)')
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
        shard: o.shard,
        nats: natsOptionsFrom(o, 'nats://127.0.0.1:4222'),
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
  .option(
    '--host <host>',
    'bind address of the coordinator and data containers (0.0.0.0: every interface)',
    '127.0.0.1',
  )
  .option('--rows <n>', 'rows in labels (the other tables get 5x)', '100000')
  .option('--tpch <sf>', 'serve the 8 TPC-H tables at this scale factor instead (e.g. 0.1)')
  .option('--shards <n>', 'split each table in N parts, written as several S3 objects (needs NATS)', '1')
  .option('--replicas <n>', 'data containers serving each part, or each unsplit table (needs NATS)', '1')
  .action(async (o) => {
    // The demo's S3 emulator (s3rver) is a dev dependency: not in the production images.
    const { runDemo } = await import('./demo/demo.js').catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ERR_MODULE_NOT_FOUND' || !err.message.includes('s3rver')) throw err;
      throw new Error(
        'the demo needs the development dependencies (s3rver): run `npm ci`, not `npm ci --omit=dev`',
      );
    });
    const tpch = o.tpch === undefined ? undefined : Number(o.tpch);
    await runDemo({
      port: Number(o.port),
      host: String(o.host),
      rows: Number(o.rows),
      tpch,
      shards: Number(o.shards),
      replicas: Number(o.replicas),
    });
  });

for (const command of program.commands.filter((c) => ['serve', 'coordinator', 'scan'].includes(c.name()))) {
  addNatsFlags(command);
}

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(
    `duckdb-s3-query: ${redactSecrets(err instanceof Error ? err.message : String(err))}\n`,
  );
  process.exit(1);
});
