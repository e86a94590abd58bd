/**
 * Copies S3 objects into temp files that DuckDB then reads. Objects stream through in
 * ranged parts fetched in parallel into a few fixed buffers (never a whole object in memory);
 * gzip is inflated here, which checks its CRC and length, so a cut-off object fails instead
 * of loading short, and DuckDB gets plain CSV it can parse on every core. Downloads run
 * ahead of the consumer so that DuckDB parses one object while the next ones arrive.
 */
import { setMaxListeners } from 'node:events';
import { createWriteStream, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { S3LoadError, type S3Object, type S3Source, withRetries } from './s3-source.js';

export type ObjectFormat = 'csv' | 'parquet';

export interface LocalCopy {
  object: S3Object;
  /** Temp file DuckDB reads: plain CSV (inflated) or Parquet. */
  path: string;
  format: ObjectFormat;
  /** Size of the temp file. */
  bytes: number;
}

export const MiB = 1024 * 1024;
const PART_SIZE = 4 * MiB;
/** Part buffers of one load (PART_BUFFERS × PART_SIZE is what downloads hold in memory). */
const PART_BUFFERS = 4;
/** Parts of one object fetched at once. */
const PARTS_IN_FLIGHT = 4;
/** Parts up to this size (whole small objects) take a buffer of their own, not a pooled one. */
const SMALL_PART = 256 * 1024;
/** Downloads may run this far ahead of the consumer (object count, compressed bytes). */
const AHEAD_OBJECTS = 16;
const AHEAD_BYTES = 256 * MiB;

export function formatOf(key: string): { format: ObjectFormat; gzip: boolean } {
  const lower = key.toLowerCase();
  if (lower.endsWith('.parquet')) return { format: 'parquet', gzip: false };
  return { format: 'csv', gzip: lower.endsWith('.gz') };
}

export interface ScratchDir {
  path: string;
  remove(): Promise<void>;
}

/** A private temp dir, removed by `remove()` or, failing that, when the process exits. */
export async function createScratchDir(): Promise<ScratchDir> {
  const path = await mkdtemp(join(tmpdir(), 'duckdb-s3-query-'));
  const onExit = () => rmSync(path, { recursive: true, force: true });
  process.once('exit', onExit);
  return {
    path,
    remove: async () => {
      process.off('exit', onExit);
      await rm(path, { recursive: true, force: true });
    },
  };
}

/**
 * Fixed part buffers shared by the downloads of one load: they bound the memory in flight
 * and are reused, so a large load leaves no garbage behind to sit beside DuckDB's parse.
 * Handed out in the order asked for, so each object's earliest part gets one first: no
 * deadlock.
 */
class PartBuffers {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((buf: Buffer) => void)[] = [];
  private allocated = 0;

  acquire(): Promise<Buffer> {
    const buf = this.free.pop();
    if (buf) return Promise.resolve(buf);
    if (this.allocated < PART_BUFFERS) {
      this.allocated++;
      return Promise.resolve(Buffer.allocUnsafeSlow(PART_SIZE));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(buf: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(buf);
    else this.free.push(buf);
  }
}

interface Part {
  bytes: Buffer;
  release(): void;
}

async function fetchPart(
  src: S3Source,
  partBuffers: PartBuffers,
  object: S3Object,
  start: number,
  end: number,
  signal: AbortSignal,
): Promise<Part> {
  const whole = start === 0 && end === object.size - 1;
  const expected = end - start + 1;
  // Small objects get their own small buffer, so that many of them download at once.
  const pooled = expected > SMALL_PART;
  const buf = pooled ? await partBuffers.acquire() : Buffer.allocUnsafe(expected);
  const release = () => {
    if (pooled) partBuffers.release(buf);
  };
  try {
    await withRetries(src, object.url, async () => {
      const res = await src.client.send(
        new GetObjectCommand({
          Bucket: object.bucket,
          Key: object.key,
          Range: whole ? undefined : `bytes=${start}-${end}`,
          // A ranged read of an object replaced meanwhile must fail, not mix two versions.
          IfMatch: whole ? undefined : object.etag,
        }),
        { abortSignal: signal },
      );
      let length = 0;
      for await (const chunk of res.Body as AsyncIterable<Uint8Array>) {
        if (length + chunk.length <= expected) buf.set(chunk, length);
        length += chunk.length;
      }
      if (length !== expected) {
        throw new S3LoadError(
          `${object.url} changed while loading: got ${length} bytes of range ${start}-${end}, expected ${expected}`,
          undefined,
        );
      }
    });
    return { bytes: buf.subarray(0, expected), release };
  } catch (err) {
    release();
    throw err;
  }
}

/** The object's parts in order, fetched in parallel; the consumer releases each. */
async function* objectParts(
  src: S3Source,
  partBuffers: PartBuffers,
  object: S3Object,
  signal: AbortSignal,
  onBytes: (n: number) => void,
): AsyncGenerator<Part> {
  const starts: number[] = [];
  for (let start = 0; start < object.size; start += PART_SIZE) starts.push(start);
  const inflight: Promise<Part>[] = [];
  let next = 0;
  const launch = () => {
    const start = starts[next++];
    const part = fetchPart(
      src,
      partBuffers,
      object,
      start,
      Math.min(start + PART_SIZE, object.size) - 1,
      signal,
    );
    part.then((p) => onBytes(p.bytes.length)).catch(() => {}); // awaited below; this only counts
    inflight.push(part);
  };
  try {
    while (inflight.length < PARTS_IN_FLIGHT && next < starts.length) launch();
    while (inflight.length > 0) {
      const part = await (inflight.shift() as Promise<Part>);
      if (next < starts.length) launch();
      yield part;
    }
  } finally {
    // Stopped early: hand back the buffers of parts nobody will read.
    for (const part of inflight) part.then((p) => p.release()).catch(() => {});
  }
}

/** Resolves once `stream` has taken `chunk` in (zlib and fs are done with its bytes). */
function write(stream: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => stream.write(chunk, (err) => (err ? reject(err) : resolve())));
}

function explainDownloadError(err: unknown, object: S3Object, path: string): Error {
  if (err instanceof S3LoadError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'Z_DATA_ERROR' && /header check/.test(e.message)) {
    return new Error(`${object.url} is not gzip data, though its name ends in .gz`);
  }
  if (e.code === 'Z_BUF_ERROR') {
    return new Error(`${object.url} is a truncated gzip stream: it ends before its compressed data does`);
  }
  if (e.code?.startsWith('Z_')) return new Error(`${object.url} is corrupt gzip data: ${e.message}`);
  return new Error(`cannot copy ${object.url} to ${path}: ${e.message}`);
}

async function downloadObject(
  src: S3Source,
  partBuffers: PartBuffers,
  object: S3Object,
  path: string,
  onBytes: (n: number) => void,
  signal: AbortSignal,
): Promise<LocalCopy> {
  if (object.size === 0) throw new Error(`${object.url} is empty (0 bytes)`);
  const { format, gzip } = formatOf(object.key);
  const out = createWriteStream(path, { highWaterMark: MiB });
  const gunzip = gzip ? createGunzip({ chunkSize: MiB }) : undefined;
  const sink: Writable = gunzip ?? out;
  const flowing = gunzip ? pipeline(gunzip, out) : finished(out);
  // zlib stops calling back once it fails: each write also ends when the streams break.
  const broken = new Promise<never>((_, reject) => {
    flowing.catch(reject);
  });
  broken.catch(() => {}); // raced below
  try {
    for await (const part of objectParts(src, partBuffers, object, signal, onBytes)) {
      try {
        await Promise.race([write(sink, part.bytes), broken]);
      } finally {
        part.release();
      }
    }
    sink.end();
    await flowing;
  } catch (err) {
    sink.destroy();
    out.destroy();
    // A write may fail with "stream destroyed"; the pipeline has the real error.
    const streamError = await flowing.then(
      () => undefined,
      (e: unknown) => e,
    );
    throw explainDownloadError(err instanceof S3LoadError ? err : (streamError ?? err), object, path);
  }
  if (out.bytesWritten === 0) throw new Error(`${object.url} holds no data: it inflates to 0 bytes`);
  return { object, path, format, bytes: out.bytesWritten };
}

/**
 * Local copies of `objects`, yielded in order, downloading ahead of the consumer within
 * AHEAD_OBJECTS / AHEAD_BYTES. The consumer deletes the files it is done with; stopping
 * early aborts the downloads still running.
 */
export async function* downloadAll(
  src: S3Source,
  objects: S3Object[],
  dir: string,
  onBytes: (n: number) => void,
): AsyncGenerator<LocalCopy> {
  const abort = new AbortController();
  setMaxListeners(AHEAD_OBJECTS * PARTS_IN_FLIGHT, abort.signal); // one per request in flight
  const partBuffers = new PartBuffers();
  const pending: Promise<LocalCopy>[] = [];
  let next = 0;
  let aheadBytes = 0;
  const fill = () => {
    while (
      next < objects.length &&
      (pending.length === 0 ||
        (pending.length < AHEAD_OBJECTS && aheadBytes + objects[next].size <= AHEAD_BYTES))
    ) {
      const object = objects[next];
      const path = join(dir, `${next}.${formatOf(object.key).format}`);
      next++;
      aheadBytes += object.size;
      const copy = downloadObject(src, partBuffers, object, path, onBytes, abort.signal);
      copy.catch(() => {}); // awaited in order below
      pending.push(copy);
    }
  };
  try {
    fill();
    while (pending.length > 0) {
      const copy = await (pending.shift() as Promise<LocalCopy>);
      aheadBytes -= copy.object.size;
      fill();
      yield copy;
    }
  } finally {
    abort.abort();
  }
}
