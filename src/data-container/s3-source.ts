/**
 * The S3 side of loading: s3:// URLs and prefix globs, the client, retries with backoff, and
 * one-line messages that say what failed and where.
 */

import {
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { s3ClientConfig } from '../s3-client.js';

export interface S3Location {
  bucket: string;
  key: string;
}

export interface S3Object extends S3Location {
  /** s3://bucket/key */
  url: string;
  size: number;
  etag?: string;
}

export interface S3Source {
  client: S3Client;
  /** Where requests go, for messages: the custom endpoint or "AWS S3 (<region>)". */
  endpoint: string;
}

const ATTEMPTS = 5;
const BACKOFF_BASE_MS = 250;
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match)
    throw new Error(`"${url}" is not an S3 URL: expected s3://bucket/key or s3://bucket/dir/*.csv.gz`);
  return { bucket: match[1], key: match[2] };
}

/** `*` and `?` stay within one path segment, `**` spans segments. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function globStart(key: string): number {
  return key.search(/[*?]/);
}

/** Whether an s3:// URL is a prefix glob (names whatever objects match) rather than one object. */
export function isGlobUrl(url: string): boolean {
  return globStart(parseS3Url(url).key) >= 0;
}

export async function createS3Source(endpoint: string | undefined): Promise<S3Source> {
  const make = (region?: string) =>
    new S3Client({
      ...s3ClientConfig(endpoint),
      region,
      followRegionRedirects: true,
      // Retries live in withRetries, which also covers a body that breaks off mid-read.
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
    });
  let client = make();
  let region: string;
  try {
    region = await client.config.region();
  } catch {
    // No region in env or profile: any region works for a custom endpoint, and for AWS the
    // client follows the bucket's region redirect.
    client.destroy();
    region = 'us-east-1';
    client = make(region);
  }
  return { client, endpoint: endpoint ?? `AWS S3 (${region})` };
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isRetryable(err: unknown): boolean {
  const e = err as { code?: string; name?: string };
  if (e.code && NETWORK_ERROR_CODES.has(e.code)) return true;
  if (e.name === 'TimeoutError' || e.name === 'RequestTimeout' || e.name === 'SlowDown') return true;
  const status = statusOf(err);
  return status !== undefined && (status >= 500 || status === 429);
}

/** A one-line message for a failed S3 request about `target` (an s3:// URL). */
export function describeS3Error(err: unknown, target: string, src: S3Source, attempts = 1): string {
  const e = err as Error & { code?: string };
  const status = statusOf(err);
  if (e.name === 'CredentialsProviderError') {
    return `no AWS credentials found for ${target}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE`;
  }
  if (e.name === 'NoSuchBucket') {
    return `bucket "${/^s3:\/\/([^/]+)/.exec(target)?.[1]}" does not exist at ${src.endpoint}`;
  }
  if (e.name === 'NoSuchKey' || e.name === 'NotFound' || status === 404) {
    return `object ${target} does not exist at ${src.endpoint}`;
  }
  if (status === 403 || e.name === 'AccessDenied' || e.name === 'InvalidAccessKeyId') {
    const detail = e instanceof S3ServiceException && e.name !== 'Unknown' ? ` (${e.name})` : '';
    return `access denied to ${target} at ${src.endpoint}${detail}: check the AWS credentials and the bucket's permissions`;
  }
  if (isRetryable(err) && !status) {
    return `cannot reach S3 endpoint ${src.endpoint} for ${target} after ${attempts} attempts: ${e.message}`;
  }
  const what = status ? `HTTP ${status} ${e.name}` : e.name;
  return `S3 request for ${target} at ${src.endpoint} failed after ${attempts} attempt(s): ${what}: ${e.message}`;
}

/** An error whose message is already a complete one-line description. */
export class S3LoadError extends Error {
  override readonly name = 'S3LoadError';
  /** The S3 error behind it, so callers can tell a missing object from a missing bucket. */
  readonly s3Error: unknown;

  constructor(message: string, s3Error: unknown) {
    super(message);
    this.s3Error = s3Error;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `request` (one S3 call including reading its body), retrying network failures, 5xx
 * and throttling with exponential backoff; then throws an S3LoadError naming `target` and
 * the endpoint.
 */
export async function withRetries<T>(src: S3Source, target: string, request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (err) {
      if (err instanceof S3LoadError) throw err;
      if (attempt >= ATTEMPTS || !isRetryable(err)) {
        throw new S3LoadError(describeS3Error(err, target, src, attempt), err);
      }
      await sleep(BACKOFF_BASE_MS * 2 ** (attempt - 1));
    }
  }
}

async function headObject(src: S3Source, loc: S3Location, url: string): Promise<S3Object> {
  try {
    const head = await withRetries(src, url, () =>
      src.client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key })),
    );
    return { ...loc, url, size: head.ContentLength ?? 0, etag: head.ETag };
  } catch (err) {
    // HEAD answers 404 without a body, so a missing bucket looks like a missing key: ask.
    if (err instanceof S3LoadError && statusOf(err.s3Error) === 404) {
      await assertBucketExists(src, loc.bucket);
    }
    throw err;
  }
}

async function assertBucketExists(src: S3Source, bucket: string): Promise<void> {
  try {
    await withRetries(src, `s3://${bucket}`, () =>
      src.client.send(new HeadBucketCommand({ Bucket: bucket })),
    );
  } catch (err) {
    if (err instanceof S3LoadError && statusOf(err.s3Error) === 404) {
      throw new S3LoadError(`bucket "${bucket}" does not exist at ${src.endpoint}`, err.s3Error);
    }
    // Not allowed to look at the bucket: the object's own message is the better one.
  }
}

/** Every key matching a prefix glob, all pages of ListObjectsV2, in key order. */
async function listGlob(src: S3Source, loc: S3Location, url: string): Promise<S3Object[]> {
  const prefix = loc.key.slice(0, globStart(loc.key));
  const pattern = globToRegExp(loc.key);
  const found: S3Object[] = [];
  let listed = 0;
  let token: string | undefined;
  do {
    const page = await withRetries(src, url, () =>
      src.client.send(
        new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: prefix, ContinuationToken: token }),
      ),
    );
    for (const item of page.Contents ?? []) {
      listed++;
      if (item.Key && pattern.test(item.Key)) {
        found.push({
          bucket: loc.bucket,
          key: item.Key,
          url: `s3://${loc.bucket}/${item.Key}`,
          size: item.Size ?? 0,
          etag: item.ETag,
        });
      }
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (found.length === 0) {
    throw new Error(`no objects match ${url} at ${src.endpoint} (${listed} keys under prefix "${prefix}")`);
  }
  return found;
}

/** The objects the URLs name, globs expanded, each once, in the order given. */
export async function resolveObjects(src: S3Source, urls: string[]): Promise<S3Object[]> {
  const objects = new Map<string, S3Object>();
  for (const url of urls) {
    const loc = parseS3Url(url);
    const matched =
      globStart(loc.key) >= 0 ? await listGlob(src, loc, url) : [await headObject(src, loc, url)];
    for (const object of matched) objects.set(object.url, object);
  }
  return [...objects.values()];
}
