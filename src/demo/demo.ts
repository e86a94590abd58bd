/**
 * `duckdb-s3-query demo` (`npm start`): sample data in an S3 emulator, three data containers
 * and a coordinator, as child processes on loopback. Over NATS when NATS_URL is set or a
 * nats-server binary is found (then started here), else over HTTP with a generated
 * config.json. SIGINT/SIGTERM stop every child (process groups) and remove the temp folder.
 */
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterConfig } from '../config.js';
import { createLogger } from '../log.js';
import { S3_EMULATOR_CREDENTIALS } from '../tools/s3-emulator.js';
import { createS3Client, uploadFiles } from '../tools/s3-upload.js';
import { SAMPLE_TABLES, type SampleTable, writeSampleData } from '../tools/sample-data.js';
import { type BannerRow, banner } from './banner.js';
import { type Child, type SpawnOptions, spawnChild, waitUntilReady } from './children.js';
import { pickPort, portIsFree } from './ports.js';
import { httpStatus, queryAnswers } from './probes.js';

export interface DemoOptions {
  /** The coordinator's port; the data containers take the next three when free. */
  port: number;
  /** Rows in labels; label_sublabels and label_urls get 5x. */
  rows: number;
}

const BUCKET = 'sample-data';
const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const S3_EMULATOR = fileURLToPath(new URL('../tools/s3-emulator.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;
/** Loading from S3 into DuckDB takes a while for large --rows. */
const LOAD_TIMEOUT_MS = 600_000;

/** Stop order: the coordinator first, then the data containers, then NATS and S3. */
type Tier = 'infra' | 'table' | 'coordinator';
const STOP_ORDER: Tier[] = ['coordinator', 'table', 'infra'];

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

export async function runDemo(opts: DemoOptions): Promise<void> {
  if (!Number.isSafeInteger(opts.rows) || opts.rows < 1) throw new Error(`--rows must be a positive integer`);
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65_535)
    throw new Error(`--port must be 1-65535`);
  if (!(await portIsFree(opts.port))) {
    throw new Error(`port ${opts.port} is in use: stop what listens there or pick another with --port`);
  }
  const log = createLogger('demo');
  const startedAt = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'duckdb-s3-query-demo-'));
  const children: { tier: Tier; child: Child }[] = [];
  const failed = new AbortController();
  let stopping: Promise<void> | undefined;

  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const tier of STOP_ORDER) {
        await Promise.all(children.filter((c) => c.tier === tier).map((c) => c.child.stop()));
      }
      await rm(dir, { recursive: true, force: true });
    })());
  const exitAfterStop = (code: number) => {
    stopAll().finally(() => process.exit(code));
  };
  let signalled = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // A second Ctrl-C must not kill the demo before its children are gone.
    process.on(signal, () => {
      if (signalled) return;
      signalled = true;
      log.info(`${signal}: stopping every process of the demo`);
      exitAfterStop(0);
    });
  }

  const start = async (tier: Tier, options: Omit<SpawnOptions, 'env'>, env?: NodeJS.ProcessEnv) => {
    if (stopping) throw new Error('stopping');
    const child = await spawnChild({ ...options, env: { ...process.env, ...env } });
    children.push({ tier, child });
    if (stopping) await child.stop();
    child.exited.then((how) => {
      if (!stopping)
        failed.abort(new Error(`${child.name} stopped (${how}); its last output:\n${child.tail()}`));
    });
    return child;
  };
  const waitHttp = (child: Child, url: string, timeoutMs = START_TIMEOUT_MS) =>
    waitUntilReady(
      child,
      `${url} answers`,
      async () => (await httpStatus(url)) > 0,
      timeoutMs,
      failed.signal,
    );
  const waitHealthy = (child: Child, base: string, timeoutMs: number) =>
    waitUntilReady(
      child,
      `${base}/health answers 200`,
      async () => (await httpStatus(`${base}/health`)) === 200,
      timeoutMs,
      failed.signal,
    );

  try {
    const taken = new Set([opts.port]);
    const tablePorts = {} as Record<SampleTable, number>;
    for (const [i, table] of SAMPLE_TABLES.entries())
      tablePorts[table] = await pickPort(opts.port + 1 + i, taken);
    const s3Port = await pickPort(9000, taken);
    const natsFromEnv = process.env.NATS_URL || undefined;
    const natsServer = natsFromEnv ? undefined : findNatsServer();
    const natsPort = natsServer ? await pickPort(4222, taken) : 0;
    const natsMonitorPort = natsServer ? await pickPort(8222, taken) : 0;
    const natsUrl = natsFromEnv ?? (natsServer ? `nats://127.0.0.1:${natsPort}` : undefined);
    const rows: BannerRow[] = [];

    const startS3 = async () => {
      const child = await start('infra', {
        name: 's3',
        command: process.execPath,
        args: [
          '--openssl-legacy-provider',
          S3_EMULATOR,
          ...['--port', String(s3Port), '--dir', join(dir, 's3'), '--bucket', BUCKET],
        ],
      });
      await waitHttp(child, `http://127.0.0.1:${s3Port}/`);
      rows.push({
        what: 'S3 emulator',
        where: `http://127.0.0.1:${s3Port}`,
        pid: child.pid,
        note: `bucket ${BUCKET}`,
      });
    };
    const startNats = async (binary: string) => {
      const args = ['-a', '127.0.0.1', '-p', String(natsPort), '-m', String(natsMonitorPort)];
      const child = await start('infra', { name: 'nats', command: binary, args });
      await waitHttp(child, `http://127.0.0.1:${natsMonitorPort}/healthz`);
      rows.push({
        what: 'nats-server',
        where: natsUrl!,
        pid: child.pid,
        note: `monitoring http://127.0.0.1:${natsMonitorPort}`,
      });
    };

    log.info('generating sample data', { labels: opts.rows, dir });
    const [data] = await Promise.all([
      writeSampleData(join(dir, 'data'), { labels: opts.rows }),
      startS3(),
      natsServer ? startNats(natsServer) : undefined,
    ]);
    const s3Endpoint = `http://127.0.0.1:${s3Port}`;
    const client = createS3Client({ endpoint: s3Endpoint, credentials: S3_EMULATOR_CREDENTIALS });
    const urls = await uploadFiles(
      client,
      { bucket: BUCKET, prefix: '' },
      SAMPLE_TABLES.map((t) => data.files[t]),
    );
    client.destroy();

    const awsEnv = {
      AWS_ACCESS_KEY_ID: S3_EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_EMULATOR_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
    };
    const natsArgs = natsUrl ? ['--nats', natsUrl] : [];
    log.info('starting data containers', { transport: natsUrl ? 'nats' : 'http' });
    const tableChildren = await Promise.all(
      SAMPLE_TABLES.map(async (table, i) => {
        const base = `http://127.0.0.1:${tablePorts[table]}`;
        const child = await start(
          'table',
          {
            name: table,
            command: process.execPath,
            args: [
              CLI,
              'serve',
              urls[i],
              ...['--table-name', table, '--port', String(tablePorts[table]), '--host', '127.0.0.1'],
              ...['--s3-endpoint', s3Endpoint, ...natsArgs],
            ],
          },
          awsEnv,
        );
        await waitHealthy(child, base, LOAD_TIMEOUT_MS);
        return { table, child, base, url: urls[i] };
      }),
    );

    const configArgs: string[] = [];
    if (!natsUrl) {
      const config: ClusterConfig = {
        tables: Object.fromEntries(
          SAMPLE_TABLES.map((t) => [t, { url: 'http://127.0.0.1', port: tablePorts[t], table_name: t }]),
        ),
      };
      const configPath = join(dir, 'config.json');
      await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
      configArgs.push('--config', configPath);
    }
    const coordinatorBase = `http://127.0.0.1:${opts.port}`;
    const coordinator = await start('coordinator', {
      name: 'coordinator',
      command: process.execPath,
      args: [
        CLI,
        'coordinator',
        '--port',
        String(opts.port),
        '--host',
        '127.0.0.1',
        ...natsArgs,
        ...configArgs,
      ],
    });
    await waitHealthy(coordinator, coordinatorBase, START_TIMEOUT_MS);
    for (const table of SAMPLE_TABLES) {
      await waitUntilReady(
        coordinator,
        `it can query ${table}`,
        () => queryAnswers(coordinatorBase, `SELECT count(*) FROM ${table}`),
        START_TIMEOUT_MS,
        failed.signal,
      );
    }

    for (const { table, child, base, url } of tableChildren) {
      rows.push({ what: table, where: base, pid: child.pid, note: `${url}, ${data.rows[table]} rows` });
    }
    rows.push({
      what: 'coordinator',
      where: coordinatorBase,
      pid: coordinator.pid,
      note: natsUrl ? 'tables found by NATS discovery' : `config ${configArgs[1]}`,
    });
    process.stdout.write(
      banner({
        seconds: (performance.now() - startedAt) / 1000,
        transport: natsUrl ? `over NATS (${natsUrl})` : 'over HTTP (no nats-server found, NATS_URL unset)',
        rows,
        coordinator: `localhost:${opts.port}`,
        labels: `localhost:${tablePorts.labels}`,
        nats: natsUrl,
      }),
    );
    failed.signal.addEventListener('abort', () => {
      log.error((failed.signal.reason as Error).message);
      exitAfterStop(1);
    });
  } catch (err) {
    await stopAll();
    // Stopped by a signal while starting: its handler exits once everything is stopped.
    if (signalled) return;
    throw failed.signal.aborted ? failed.signal.reason : err;
  }
}
