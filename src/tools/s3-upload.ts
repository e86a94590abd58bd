/** Uploading local files to S3 or an S3-compatible store (sample data for demos, compose, tests). */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { s3ClientConfig } from '../s3-client.js';

export interface S3Prefix {
  bucket: string;
  /** '' or a key prefix ending in '/'. */
  prefix: string;
}

/** `s3://bucket`, `s3://bucket/` or `s3://bucket/some/prefix`. */
export function parseS3Prefix(url: string): S3Prefix {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!match) throw new Error(`"${url}" is not s3://bucket[/prefix] (bucket names are 3-63 of a-z 0-9 . -)`);
  const prefix = match[2] ?? '';
  return { bucket: match[1], prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
}

export interface S3ClientOptions {
  /** An S3-compatible endpoint (path-style addressing); AWS S3 when absent. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export function createS3Client(options: S3ClientOptions): S3Client {
  return new S3Client({
    ...s3ClientConfig(options.endpoint),
    region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
    credentials: options.credentials,
  });
}

/** Creates the bucket unless it exists already. */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

/** Puts each file as `<prefix><file name>`; returns the s3:// URLs in the order given. */
export async function uploadFiles(client: S3Client, target: S3Prefix, files: string[]): Promise<string[]> {
  return Promise.all(
    files.map(async (file) => {
      const key = `${target.prefix}${basename(file)}`;
      const { size } = await stat(file);
      await client.send(
        new PutObjectCommand({
          Bucket: target.bucket,
          Key: key,
          Body: createReadStream(file),
          ContentLength: size,
          ContentType: file.endsWith('.gz') ? 'application/gzip' : 'application/octet-stream',
        }),
      );
      return `s3://${target.bucket}/${key}`;
    }),
  );
}
