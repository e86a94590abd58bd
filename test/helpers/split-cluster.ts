/**
 * Split tables served for real: an S3 emulator holding each table as objects under its own
 * prefix, a nats-server, and `serve … --shard I/N` processes, several per part (replicas).
 * Containers can be added, killed and started again while the cluster runs, for the fault tests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shardLabel } from '../../src/protocol/shards.js';
import { type ManagedProcess, startCliProcess } from '../../src/tools/local-cluster.js';
import { type NatsServer, startNatsServer } from '../../src/tools/nats-server.js';
import {
  S3_EMULATOR_CREDENTIALS,
  S3_EMULATOR_ENV,
  type S3Emulator,
  startS3Emulator,
} from '../../src/tools/s3-emulator.js';
import { createS3Client, uploadFiles } from '../../src/tools/s3-upload.js';

const BUCKET = 'split-tables';

/** How one table is split: its objects, and which each part loads. */
export interface SplitTable {
  /** Local gzipped CSV files, uploaded as s3://<bucket>/<table>/<file name>. */
  objects: string[];
  parts: number;
  replicas: number;
  /**
   * Each part I loads objects[I] alone (one exact URL per part) instead of every part listing
   * the table's prefix glob and taking its share.
   */
  objectPerPart?: boolean;
}

export interface SplitCluster {
  s3: S3Emulator;
  nats: NatsServer;
  /** Containers by name: `<table> <I>/<N> #<replica>` for the tables given at start. */
  containers: Map<string, ManagedProcess>;
  /** The s3:// URLs of a table's objects, in the order given. */
  urls: Record<string, string[]>;
  /** Uploads files under `<prefix>/`; their s3:// URLs. */
  upload(prefix: string, files: string[]): Promise<string[]>;
  /** A `serve <args>` container (with this cluster's NATS and S3), kept under `name`. */
  serve(name: string, args: string[]): Promise<ManagedProcess>;
  /** SIGKILL, as a crash: no goodbye to NATS. */
  kill(name: string): Promise<void>;
  /** The named container started again with the arguments it had. */
  restart(name: string): Promise<ManagedProcess>;
  startCoordinator(extraArgs?: string[]): Promise<ManagedProcess>;
  /** Stops what it started, and anything `adopt`ed. */
  adopt(stop: () => Promise<void>): void;
  stop(): Promise<void>;
}

export async function startSplitCluster(tables: Record<string, SplitTable>): Promise<SplitCluster> {
  const root = await mkdtemp(join(tmpdir(), 'split-cluster-'));
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const s3 = await startS3Emulator({ directory: join(root, 's3'), buckets: [BUCKET] });
    stops.push(() => s3.close());
    const client = createS3Client({ endpoint: s3.endpoint, credentials: S3_EMULATOR_CREDENTIALS });
    stops.push(async () => client.destroy());
    const nats = await startNatsServer();
    stops.push(() => nats.dispose());
    const containers = new Map<string, ManagedProcess>();
    const argsOf = new Map<string, string[]>();
    const upload = (prefix: string, files: string[]) =>
      uploadFiles(client, { bucket: BUCKET, prefix: `${prefix}/` }, files);
    const serve = async (name: string, args: string[]) => {
      const proc = await startCliProcess(
        name,
        ['serve', ...args, '--nats', nats.url, '--s3-endpoint', s3.endpoint],
        S3_EMULATOR_ENV,
      );
      containers.set(name, proc);
      argsOf.set(name, args);
      stops.push(() => proc.stop());
      return proc;
    };
    const urls: Record<string, string[]> = {};
    for (const [table, split] of Object.entries(tables)) urls[table] = await upload(table, split.objects);
    const started = Object.entries(tables).flatMap(([table, split]) =>
      Array.from({ length: split.parts * split.replicas }, (_, k) => {
        const part = Math.floor(k / split.replicas);
        const shard = shardLabel({ index: part, count: split.parts });
        const source = split.objectPerPart ? urls[table][part] : `s3://${BUCKET}/${table}/*.csv.gz`;
        return {
          name: `${table} ${shard} #${(k % split.replicas) + 1}`,
          args: [source, '--table-name', table, '--shard', shard],
        };
      }),
    );
    // A few at a time: each loads its part into DuckDB, and the machine may have few cores.
    for (let i = 0; i < started.length; i += 4) {
      await Promise.all(started.slice(i, i + 4).map((c) => serve(c.name, c.args)));
    }
    return {
      s3,
      nats,
      containers,
      urls,
      upload,
      serve,
      kill: async (name) => {
        const proc = containers.get(name);
        if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
        const exited = new Promise((r) => proc.child.once('exit', r));
        proc.child.kill('SIGKILL');
        await exited;
      },
      restart: (name) => serve(name, argsOf.get(name) ?? []),
      startCoordinator: async (extraArgs = []) => {
        const proc = await startCliProcess('coordinator', ['coordinator', '--nats', nats.url, ...extraArgs]);
        stops.push(() => proc.stop());
        return proc;
      },
      adopt: (s) => {
        stops.push(s);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
