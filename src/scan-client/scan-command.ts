/**
 * `duckdb-s3-query scan TABLE`: a scan over NATS, its columnar frames written to stdout as
 * NDJSON, CSV or an Arrow IPC stream (scan-output.ts); errors go to stderr and the exit code is 1.
 * A split table is read part after part into one output (one header, one Arrow schema);
 * `--shard I` reads part I alone.
 */
import { type NatsConnection, RequestError } from '@nats-io/transport-node';
import type { ScanCommandOptions } from '../config.js';
import { asQueryError, QueryError } from '../errors.js';
import { connectNats } from '../nats/connect.js';
import type { ColumnSchema, ScanRequest, WireColumn } from '../protocol/frames.js';
import { partSubject } from '../protocol/shards.js';
import { subjectFor } from '../protocol/subjects.js';
import { checkWireColumns } from '../protocol/wire-check.js';
import { openNatsScan } from './nats-scan.js';
import { type FrameWriter, frameWriter } from './scan-output.js';

/**
 * The scan subjects of `table`: every part's when it is split (any container of it says into
 * how many parts on the table's metadata subject), else the table's own.
 */
async function scanSubjects(nc: NatsConnection, table: string, timeoutMs: number): Promise<string[]> {
  const metadata = subjectFor(table, 'metadata');
  let shard: unknown;
  try {
    shard = (await nc.request(metadata, '', { timeout: timeoutMs })).json<{ shard?: unknown }>()?.shard;
  } catch (err) {
    // Nobody serves it: the scan says so.
    if (err instanceof RequestError && err.isNoResponders()) return [subjectFor(table, 'scan')];
    throw new QueryError(
      'unavailable',
      `cannot ask ${metadata} whether table "${table}" is split: ${(err as Error).message}`,
    );
  }
  // A container older than split tables says no shard, or a label: a whole table.
  const count = (shard as { count?: unknown } | undefined)?.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count <= 1) return [subjectFor(table, 'scan')];
  return Array.from({ length: count }, (_, i) => partSubject(table, i, 'scan'));
}

function sameColumns(a: ColumnSchema[], b: ColumnSchema[]): boolean {
  return a.length === b.length && a.every((c, i) => c.name === b[i].name && c.type === b[i].type);
}

export async function runScanCommand(opts: ScanCommandOptions): Promise<void> {
  const stdout = process.stdout;
  const reader = new AbortController();
  // A closed pipe (`| head`) ends the scan quietly.
  stdout.on('error', () => reader.abort(new QueryError('cancelled', 'stdout closed')));
  // Resolves once `pieces` are out, which the writer then reuses for the next frame. A failed
  // write resolves too: the stream's 'error' above ends the scan. Corked: one writev for them.
  const write = (pieces: Buffer[]) => {
    const bytes = pieces.filter((p) => p.byteLength > 0);
    if (bytes.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      stdout.cork();
      for (const p of bytes.slice(0, -1)) stdout.write(p);
      stdout.write(bytes[bytes.length - 1], () => resolve());
      stdout.uncork();
    });
  };
  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats(opts.nats, {
      role: 'scan',
      name: 'duckdb-s3-query scan',
      connection: { maxReconnectAttempts: 10 },
    }).catch((err: Error) => {
      throw new QueryError('unavailable', err.message);
    });
    const subjects =
      opts.shard === undefined
        ? await scanSubjects(nc, opts.table, opts.timeoutMs)
        : [partSubject(opts.table, opts.shard, 'scan')];
    const options = { idleTimeoutMs: opts.timeoutMs, signal: reader.signal };
    let writer: FrameWriter | undefined;
    let first: ColumnSchema[] | undefined;
    let rows = 0;
    for (const subject of subjects) {
      if (opts.limit !== undefined && first && rows >= opts.limit) break;
      const limit = opts.limit === undefined ? undefined : opts.limit - rows;
      const request: ScanRequest = { columns: opts.columns, where: opts.where, limit };
      let columns: ColumnSchema[] = [];
      for await (const frame of openNatsScan(nc, opts.table, request, { ...options, subject })) {
        if (frame.type === 'schema') {
          columns = frame.columns;
          if (!first) {
            first = columns;
            const made = await frameWriter(opts.format, columns);
            writer = made.writer;
            await write([made.start]);
          } else if (!sameColumns(first, columns)) {
            throw new QueryError(
              'protocol_error',
              `the parts of ${opts.table} have different columns: ${subject} sent ${columns.map((c) => `${c.name} ${c.type}`).join(', ')}`,
            );
          }
        } else if (frame.type === 'data') {
          const problem = checkWireColumns(columns, frame.columns as WireColumn[], frame.rows);
          if (problem)
            throw new QueryError('protocol_error', `data frame ${frame.seq} of ${subject}: ${problem}`);
          await write((writer as FrameWriter).data(frame.rows, frame.columns as WireColumn[]));
          rows += frame.rows;
        }
      }
    }
    await write((writer as FrameWriter).end());
  } catch (err) {
    if (!reader.signal.aborted) {
      const error = asQueryError(err);
      process.stderr.write(`duckdb-s3-query scan: ${error.kind}: ${error.message}\n`);
      process.exitCode = 1;
    }
  } finally {
    await nc?.close();
  }
}
