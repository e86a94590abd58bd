/**
 * `duckdb-s3-query demo` (`npm start`): sample data in an S3 emulator, three data containers
 * and a coordinator, as child processes on loopback. Over NATS when NATS_URL is set or a
 * nats-server binary is found (then started here), else over HTTP with a generated
 * config.json. With `--shards N` each table is written as several objects and served in N
 * parts, and `--replicas R` runs R containers per part (both need NATS). SIGINT, SIGTERM, SIGHUP or the end of its parent stop every child (process
 * groups) and remove the temp folder. Everything listens on 127.0.0.1 unless --host says otherwise.
 */
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterConfig } from '../config.js';
import { createLogger } from '../log.js';
import { shardLabel } from '../protocol/shards.js';
import { redactUrl } from '../redact.js';
import { S3_EMULATOR_CREDENTIALS, S3_EMULATOR_ENV } from '../tools/s3-emulator.js';
import { createS3Client, uploadFiles } from '../tools/s3-upload.js';
import { withSharedMachineThreads } from '../tools/shared-machine.js';
import { equalWeights, splitIntoObjects } from '../tools/split-objects.js';
import { type BannerRow, banner } from './banner.js';
import { checkDataset, type DemoData, type DemoDataset, datasetTables, writeDataset } from './dataset.js';
import { tpchCurlExamples } from './examples.js';
import {
  checkLayout,
  type DemoContainer,
  type DemoLayout,
  demoContainers,
  isSplitLayout,
  layoutSummary,
  objectsPerTable,
} from './layout.js';
import { onDemoEnd } from './lifetime.js';
import { pickPort, portIsFree } from './ports.js';
import { httpStatus, queryAnswers } from './probes.js';
import { Supervisor } from './supervisor.js';

export interface DemoOptions extends DemoDataset, DemoLayout {
  /** The coordinator's port; the data containers take the next ones when free. */
  port: number;
  /** Where the coordinator and data containers listen (the S3 emulator and NATS: loopback only). */
  host: string;
}

const BUCKET = 'sample-data';
const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const S3_EMULATOR = fileURLToPath(new URL('../tools/s3-emulator.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;
/** Loading from S3 into DuckDB takes a while for large --rows. */
const LOAD_TIMEOUT_MS = 600_000;

interface Ports {
  coordinator: number;
  /** Per data container, in the order of demoContainers(). */
  containers: number[];
  s3: number;
  /** The coordinator's Postgres port: 5432 when free. */
  pg: number;
  /** Only when the demo starts its own nats-server. */
  nats?: { client: number; monitor: number };
}

function findNatsServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The coordinator's port, the next ones for the containers, 9000 for S3, 4222/8222 for NATS, when free. */
async function choosePorts(coordinator: number, containerCount: number, withNats: boolean): Promise<Ports> {
  if (!(await portIsFree(coordinator))) {
    throw new Error(`port ${coordinator} is in use: stop what listens there or pick another with --port`);
  }
  const taken = new Set([coordinator]);
  const containers: number[] = [];
  for (let i = 0; i < containerCount; i++) containers.push(await pickPort(coordinator + 1 + i, taken));
  const s3 = await pickPort(9000, taken);
  const pg = await pickPort(5432, taken);
  const nats = withNats
    ? { client: await pickPort(4222, taken), monitor: await pickPort(8222, taken) }
    : undefined;
  return { coordinator, containers, s3, pg, nats };
}

const anyAnswer = (url: string) => async () => (await httpStatus(url)) > 0;
const healthy = (base: string) => async () => (await httpStatus(`${base}/health`)) === 200;

/** How a URL reaches a server bound to `host`: loopback for "every interface", IPv6 in brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

async function startS3(sup: Supervisor, dir: string, port: number): Promise<BannerRow> {
  const args = [
    '--openssl-legacy-provider',
    S3_EMULATOR,
    '--port',
    String(port),
    '--dir',
    dir,
    '--bucket',
    BUCKET,
  ];
  const child = await sup.start('infra', { name: 's3', command: process.execPath, args });
  const endpoint = `http://127.0.0.1:${port}`;
  await sup.waitFor(child, `${endpoint} answers`, anyAnswer(endpoint), START_TIMEOUT_MS);
  return { what: 'S3 emulator', where: endpoint, pid: child.pid, note: `bucket ${BUCKET}` };
}

async function startNats(
  sup: Supervisor,
  binary: string,
  ports: NonNullable<Ports['nats']>,
): Promise<BannerRow> {
  const args = ['-a', '127.0.0.1', '-p', String(ports.client), '-m', String(ports.monitor)];
  const child = await sup.start('infra', { name: 'nats', command: binary, args });
  const monitoring = `http://127.0.0.1:${ports.monitor}`;
  await sup.waitFor(
    child,
    `${monitoring}/healthz answers`,
    anyAnswer(`${monitoring}/healthz`),
    START_TIMEOUT_MS,
  );
  return {
    what: 'nats-server',
    where: `nats://127.0.0.1:${ports.client}`,
    pid: child.pid,
    note: `monitoring ${monitoring}`,
  };
}

/**
 * Uploads each table and answers the URL its containers serve: `s3://bucket/<table>.csv.gz`,
 * or when split, the table as several objects under `<table>/` and its prefix glob.
 */
async function uploadData(
  data: DemoData,
  s3Port: number,
  layout: DemoLayout,
  dir: string,
): Promise<Record<string, string>> {
  const client = createS3Client({
    endpoint: `http://127.0.0.1:${s3Port}`,
    credentials: S3_EMULATOR_CREDENTIALS,
  });
  const upload = async (table: string, file: string) => {
    if (!isSplitLayout(layout)) return (await uploadFiles(client, { bucket: BUCKET, prefix: '' }, [file]))[0];
    const objects = await splitIntoObjects(file, join(dir, table), equalWeights(objectsPerTable(layout)));
    await uploadFiles(client, { bucket: BUCKET, prefix: `${table}/` }, objects);
    return `s3://${BUCKET}/${table}/*.csv.gz`;
  };
  try {
    const tables = Object.keys(data.files);
    const urls = await Promise.all(tables.map((table) => upload(table, data.files[table])));
    return Object.fromEntries(tables.map((table, i) => [table, urls[i]]));
  } finally {
    client.destroy();
  }
}

/** The rows a container holds, from its /metadata. */
async function rowsServed(base: string): Promise<string> {
  try {
    const res = await fetch(`${base}/metadata`, { signal: AbortSignal.timeout(5_000) });
    return `${((await res.json()) as { row_count: number }).row_count} rows`;
  } catch {
    return 'rows unknown';
  }
}

/** One `serve` per container (each replica of each part); resolves once every /health answers 200. */
function startTables(
  sup: Supervisor,
  urls: Record<string, string>,
  containers: DemoContainer[],
  ports: Ports,
  natsArgs: string[],
  host: string,
): Promise<BannerRow[]> {
  return Promise.all(
    containers.map(async (container, i) => {
      const { table, shard } = container;
      const port = ports.containers[i];
      const args = [CLI, 'serve', urls[table], '--table-name', table, '--port', String(port), '--host', host];
      if (shard) args.push('--shard', shardLabel(shard));
      args.push('--s3-endpoint', `http://127.0.0.1:${ports.s3}`, ...natsArgs);
      const env = { ...process.env, ...S3_EMULATOR_ENV };
      const child = await sup.start('table', { name: container.name, command: process.execPath, args, env });
      const base = `http://${urlHost(host)}:${port}`;
      await sup.waitFor(child, `${base}/health answers 200`, healthy(base), LOAD_TIMEOUT_MS);
      const part = shard ? `part ${shard.index} of ${shard.count} of ` : '';
      return {
        what: container.name,
        where: base,
        pid: child.pid,
        note: `${part}${urls[table]}, ${await rowsServed(base)}`,
      };
    }),
  );
}

/** The seed's config.json naming the data containers, for a coordinator without NATS. */
async function writeClusterConfig(
  dir: string,
  containers: DemoContainer[],
  ports: Ports,
  host: string,
): Promise<string> {
  const url = `http://${urlHost(host)}`;
  const config: ClusterConfig = {
    tables: Object.fromEntries(
      containers.map((c, i) => [c.table, { url, port: ports.containers[i], table_name: c.table }]),
    ),
  };
  const path = join(dir, 'config.json');
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

/** The coordinator; resolves once it answers a query on every table. */
async function startCoordinator(
  sup: Supervisor,
  port: number,
  host: string,
  tables: readonly string[],
  extraArgs: string[],
): Promise<BannerRow> {
  const args = [
    CLI,
    'coordinator',
    '--port',
    String(port),
    '--host',
    host,
    ...withSharedMachineThreads(extraArgs),
  ];
  const child = await sup.start('coordinator', { name: 'coordinator', command: process.execPath, args });
  const base = `http://${urlHost(host)}:${port}`;
  await sup.waitFor(child, `${base}/health answers 200`, healthy(base), START_TIMEOUT_MS);
  for (const table of tables) {
    const counts = () => queryAnswers(base, `SELECT count(*) FROM ${table}`);
    await sup.waitFor(child, `it can query ${table}`, counts, START_TIMEOUT_MS);
  }
  return { what: 'coordinator', where: base, pid: child.pid, note: '' };
}

export async function runDemo(opts: DemoOptions): Promise<void> {
  checkDataset(opts);
  checkLayout(opts);
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65_535)
    throw new Error('--port must be 1-65535');
  const natsFromEnv = process.env.NATS_URL || undefined;
  const natsServer = natsFromEnv ? undefined : findNatsServer();
  if (!natsFromEnv && !natsServer && (opts.shards > 1 || opts.replicas > 1))
    throw new Error(
      '--shards and --replicas need NATS (the coordinator finds parts and replicas by NATS discovery): ' +
        'put nats-server on the PATH or set NATS_URL',
    );
  const tableNames = datasetTables(opts);
  const containers = demoContainers(tableNames, opts);
  const ports = await choosePorts(opts.port, containers.length, natsServer !== undefined);
  const natsUrl = natsFromEnv ?? (ports.nats ? `nats://127.0.0.1:${ports.nats.client}` : undefined);

  const log = createLogger('demo');
  const startedAt = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'duckdb-s3-query-demo-'));
  const sup = new Supervisor();
  const stopAll = () => sup.stopAll(() => rm(dir, { recursive: true, force: true }));
  const exitAfterStop = (code: number) => {
    stopAll().finally(() => process.exit(code));
  };
  let signalled = false;
  onDemoEnd((reason) => {
    signalled = true;
    log.info(`${reason}: stopping every process of the demo`);
    exitAfterStop(0);
  });

  try {
    log.info(
      'generating data',
      opts.tpch === undefined ? { labels: opts.rows, dir } : { tpch: opts.tpch, dir },
    );
    const [data, ...infra] = await Promise.all([
      writeDataset(join(dir, 'data'), opts),
      startS3(sup, join(dir, 's3'), ports.s3),
      ...(natsServer && ports.nats ? [startNats(sup, natsServer, ports.nats)] : []),
    ]);
    const urls = await uploadData(data, ports.s3, opts, join(dir, 'objects'));
    const natsArgs = natsUrl ? ['--nats', natsUrl] : [];
    log.info('starting data containers', {
      transport: natsUrl ? 'nats' : 'http',
      shards: opts.shards,
      replicas: opts.replicas,
    });
    const tables = await startTables(sup, urls, containers, ports, natsArgs, opts.host);
    const config = natsUrl ? undefined : await writeClusterConfig(dir, containers, ports, opts.host);
    const coordinator = await startCoordinator(sup, opts.port, opts.host, tableNames, [
      ...natsArgs,
      ...(config ? ['--config', config] : []),
      '--pg-port',
      String(ports.pg),
    ]);
    coordinator.note = `${config ? `config ${config}` : 'tables found by NATS discovery'}; postgres: psql -h localhost -p ${ports.pg} -U demo`;

    const shownHost = urlHost(opts.host) === '127.0.0.1' ? 'localhost' : urlHost(opts.host);
    process.stdout.write(
      banner({
        seconds: (performance.now() - startedAt) / 1000,
        transport: natsUrl
          ? `over NATS (${redactUrl(natsUrl)})`
          : 'over HTTP (no nats-server found, NATS_URL unset)',
        rows: [...infra, ...tables, coordinator],
        coordinator: `${shownHost}:${opts.port}`,
        labels: `${shownHost}:${ports.containers[containers.findIndex((c) => c.table === 'labels')]}`,
        nats: natsUrl && redactUrl(natsUrl),
        layout: layoutSummary(opts),
        splitTables: isSplitLayout(opts),
        host: opts.host,
        examples: opts.tpch === undefined ? undefined : tpchCurlExamples(`localhost:${opts.port}`),
      }),
    );
    sup.failed.signal.addEventListener('abort', () => {
      log.error((sup.failed.signal.reason as Error).message);
      exitAfterStop(1);
    });
  } catch (err) {
    await stopAll();
    // Stopped by a signal while starting: its handler exits once everything is stopped.
    if (signalled) return;
    throw sup.failed.signal.aborted ? sup.failed.signal.reason : err;
  }
}
