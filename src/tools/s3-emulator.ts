/**
 * An S3-compatible server (s3rver) on a port, keeping objects in a directory: the demo's and
 * the compose file's object store, and usable from tests. Credentials are S3RVER / S3RVER.
 *
 *   node --openssl-legacy-provider dist/tools/s3-emulator.js --port 9000 --dir ./s3 --bucket sample-data
 *
 * s3rver's ListObjectsV2 continuation tokens use DES: without the legacy OpenSSL provider a
 * listing longer than one page answers 500.
 */
import { createCipheriv } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import S3rver from 's3rver';
import { createLogger } from '../log.js';

/** s3rver's fixed credentials. */
export const S3_EMULATOR_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** What a `serve` child needs in its environment to reach the emulator (besides --s3-endpoint). */
export const S3_EMULATOR_ENV = {
  AWS_ACCESS_KEY_ID: S3_EMULATOR_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3_EMULATOR_CREDENTIALS.secretAccessKey,
  AWS_REGION: 'us-east-1',
};

export interface S3EmulatorOptions {
  directory: string;
  buckets: string[];
  port?: number;
  host?: string;
}

export interface S3Emulator {
  /** http://host:port, for `--s3-endpoint`. */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

export function legacyProviderLoaded(): boolean {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return true;
  } catch {
    return false;
  }
}

export async function startS3Emulator(options: S3EmulatorOptions): Promise<S3Emulator> {
  const host = options.host ?? '127.0.0.1';
  await mkdir(options.directory, { recursive: true });
  const server = new S3rver({
    address: host,
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    vhostBuckets: false,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    endpoint: `http://${reachable}:${port}`,
    port,
    close: async () => {
      server.httpServer?.closeAllConnections();
      await server.close();
    },
  };
}

async function main(): Promise<void> {
  const log = createLogger('s3-emulator');
  const o = new Command()
    .name('s3-emulator')
    .description('an S3-compatible server (s3rver) keeping objects in a directory; credentials S3RVER/S3RVER')
    .requiredOption('--dir <path>', 'where objects are kept')
    .option('--port <port>', 'port', '9000')
    .option('--host <host>', 'bind address', '127.0.0.1')
    .option('--bucket <name...>', 'buckets to create', ['sample-data'])
    .parse()
    .opts();
  if (!legacyProviderLoaded()) {
    log.warn('listings longer than 1000 keys will fail: run node with --openssl-legacy-provider');
  }
  const emulator = await startS3Emulator({
    directory: o.dir,
    buckets: o.bucket,
    port: Number(o.port),
    host: o.host,
  });
  log.info('listening', { endpoint: emulator.endpoint, buckets: o.bucket.join(','), dir: o.dir });
  const stop = () => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`s3-emulator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
