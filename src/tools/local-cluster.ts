/**
 * A whole system on one machine, from real parts: an S3 emulator holding the tables (the
 * sample tables, or any gzipped CSV files), a nats-server, one `serve` process per table and
 * `coordinator` processes. Used by the integration tests and the benchmarks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type NatsServer, type NatsServerOptions, startNatsServer } from './nats-server.js';
import { S3_EMULATOR_CREDENTIALS, S3_EMULATOR_ENV, type S3Emulator, startS3Emulator } from './s3-emulator.js';
import { createS3Client, uploadFiles } from './s3-upload.js';
import { type SampleData, writeSampleData } from './sample-data.js';
import { withSharedMachineThreads } from './shared-machine.js';

// From src/tools (tests run TypeScript) and dist/tools alike, the built CLI is <root>/dist/cli.js.
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli.js');
const BUCKET = 'sample-data';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  url: string;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

export interface Cluster {
  dir: string;
  s3: S3Emulator;
  nats: NatsServer;
  containers: Record<string, ManagedProcess>;
  startCoordinator(extraArgs?: string[]): Promise<ManagedProcess>;
  /** Stops `proc` with the cluster (for processes started beside it). */
  adopt(proc: ManagedProcess): ManagedProcess;
  stop(): Promise<void>;
}

export interface LocalCluster extends Cluster {
  sample: SampleData;
}

/** Resolves when `<url>/health` answers 200; throws with the process's output if it exits first. */
export async function waitHealthy(
  proc: { child: ChildProcess; url: string; output(): string },
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null)
      throw new Error(`process exited (${proc.child.exitCode}): ${proc.output()}`);
    try {
      const response = await fetch(`${proc.url}/health`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${proc.url} not healthy within ${timeoutMs} ms: ${proc.output()}`);
}

/** Starts `node dist/cli.js <args>` on a free port and waits for /health. */
export async function startCliProcess(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 120_000,
): Promise<ManagedProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, ...args, '--port', String(port), '--host', '127.0.0.1'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  });
  const proc: ManagedProcess = {
    name,
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await waitHealthy(proc, timeoutMs);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

export interface ClusterOptions {
  /** Extra arguments for every data container, e.g. --memory-limit. */
  serveArgs?: string[];
  /** The nats-server's own options (e.g. deploy/nats/permissions.conf and its passwords). */
  natsServer?: NatsServerOptions;
  /** The NATS URL a process gets (e.g. with its user's credentials): `who` is a table or `coordinator`. */
  natsUrl?: (who: string, serverUrl: string) => string;
}

export interface LocalClusterOptions extends ClusterOptions {
  labels: number;
  seed?: number;
}

/** Sample data with `labels` rows (5× in the other tables), served over NATS. */
export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'duckdb-s3-query-cluster-'));
  try {
    const sample = await writeSampleData(join(dir, 'data'), { labels: opts.labels, seed: opts.seed });
    return { ...(await startCluster(sample.files, { ...opts, dir })), sample };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * `files` (table name → gzipped CSV) uploaded to an S3 emulator and served over NATS, one
 * container per table, each given `loadTimeoutMs` to load. `dir` (a fresh temp dir when
 * absent) is removed by stop().
 */
export async function startCluster(
  files: Record<string, string>,
  opts: ClusterOptions & { dir?: string; loadTimeoutMs?: number } = {},
): Promise<Cluster> {
  const natsUrl = opts.natsUrl ?? ((_who: string, serverUrl: string) => serverUrl);
  const root = opts.dir ?? (await mkdtemp(join(tmpdir(), 'duckdb-s3-query-cluster-')));
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const p of started.reverse()) await p.stop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const s3 = await startS3Emulator({ directory: join(root, 's3'), buckets: [BUCKET] });
    started.push({ stop: () => s3.close() });
    const client = createS3Client({ endpoint: s3.endpoint, credentials: S3_EMULATOR_CREDENTIALS });
    const tables = Object.keys(files);
    const urls = await uploadFiles(
      client,
      { bucket: BUCKET, prefix: '' },
      tables.map((t) => files[t]),
    );
    client.destroy();
    const nats = await startNatsServer(opts.natsServer);
    started.push({ stop: () => nats.dispose() });
    const containers: Record<string, ManagedProcess> = {};
    await Promise.all(
      tables.map(async (table, i) => {
        const args = ['serve', urls[i], '--table-name', table, '--nats', natsUrl(table, nats.url)];
        args.push('--s3-endpoint', s3.endpoint, ...(opts.serveArgs ?? []));
        const proc = await startCliProcess(table, args, S3_EMULATOR_ENV, opts.loadTimeoutMs);
        started.push(proc);
        containers[table] = proc;
      }),
    );
    return {
      dir: root,
      s3,
      nats,
      containers,
      startCoordinator: async (extraArgs = []) => {
        const proc = await startCliProcess('coordinator', [
          'coordinator',
          '--nats',
          natsUrl('coordinator', nats.url),
          ...withSharedMachineThreads(extraArgs),
        ]);
        started.push(proc);
        return proc;
      },
      adopt: (proc) => {
        started.push(proc);
        return proc;
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
