/**
 * A real S3-compatible server for integration tests: s3rver (src/tools/s3-emulator.ts) as a
 * child process on a free loopback port, run with --openssl-legacy-provider so that
 * listings longer than one page work, keeping objects in a temp dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3_EMULATOR_CREDENTIALS } from '../../src/tools/s3-emulator.js';
import { createS3Client, ensureBucket } from '../../src/tools/s3-upload.js';
import { freePort, spawnNode, waitForStderr } from './processes.js';

const EMULATOR = fileURLToPath(new URL('../../dist/tools/s3-emulator.js', import.meta.url));

export interface TestS3 {
  endpoint: string;
  client: S3Client;
  createBucket(name: string): Promise<void>;
  put(bucket: string, key: string, body: Buffer | string): Promise<string>;
  /** Puts many objects, a few at a time; returns their s3:// URLs. */
  putAll(bucket: string, objects: { key: string; body: Buffer | string }[]): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startTestS3(): Promise<TestS3> {
  const dir = await mkdtemp(join(tmpdir(), 's3-test-'));
  const port = await freePort();
  const child = spawnNode(
    [EMULATOR, '--port', String(port), '--dir', dir, '--bucket', 'scratch-bucket'],
    {},
    ['--openssl-legacy-provider'],
  );
  await waitForStderr(child, /listening/);
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createS3Client({ endpoint, credentials: S3_EMULATOR_CREDENTIALS });
  const put = async (bucket: string, key: string, body: Buffer | string) => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    return `s3://${bucket}/${key}`;
  };
  return {
    endpoint,
    client,
    createBucket: (name) => ensureBucket(client, name),
    put,
    putAll: async (bucket, objects) => {
      const urls: string[] = [];
      for (let i = 0; i < objects.length; i += 16) {
        const slice = objects.slice(i, i + 16);
        urls.push(...(await Promise.all(slice.map((o) => put(bucket, o.key, o.body)))));
      }
      return urls;
    },
    stop: async () => {
      client.destroy();
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function gzip(text: string | Buffer): Buffer {
  return gzipSync(text);
}
