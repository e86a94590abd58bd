/**
 * `duckdb-s3-query scan TABLE`: one scan over NATS, its columnar frames written to stdout as
 * NDJSON, CSV or an Arrow IPC stream (scan-output.ts); errors go to stderr and the exit code is 1.
 */
import { once } from 'node:events';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ScanCommandOptions } from '../config.js';
import { asQueryError, QueryError } from '../errors.js';
import { connectNats } from '../nats/connect.js';
import type { ColumnSchema, WireColumn } from '../protocol/frames.js';
import { checkWireColumns } from '../protocol/wire-check.js';
import { openNatsScan } from './nats-scan.js';
import { type FrameWriter, frameWriter } from './scan-output.js';

export async function runScanCommand(opts: ScanCommandOptions): Promise<void> {
  const stdout = process.stdout;
  const reader = new AbortController();
  // A closed pipe (`| head`) ends the scan quietly.
  stdout.on('error', () => reader.abort(new QueryError('cancelled', 'stdout closed')));
  const write = async (bytes: Buffer) => {
    if (bytes.byteLength > 0 && !stdout.write(bytes)) await once(stdout, 'drain', { signal: reader.signal });
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
    const request = { columns: opts.columns, where: opts.where, limit: opts.limit };
    const options = { idleTimeoutMs: opts.timeoutMs, signal: reader.signal };
    let writer: FrameWriter | undefined;
    let columns: ColumnSchema[] = [];
    for await (const frame of openNatsScan(nc, opts.table, request, options)) {
      if (frame.type === 'schema') {
        columns = frame.columns;
        const made = await frameWriter(opts.format, columns);
        writer = made.writer;
        await write(made.start);
      } else if (frame.type === 'data') {
        const problem = checkWireColumns(columns, frame.columns as WireColumn[], frame.rows);
        if (problem)
          throw new QueryError('protocol_error', `data frame ${frame.seq} of ${opts.table}: ${problem}`);
        await write((writer as FrameWriter).data(frame.rows, frame.columns as WireColumn[]));
      } else if (frame.type === 'end') {
        await write((writer as FrameWriter).end());
      }
    }
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
