/**
 * `duckdb-s3-query scan TABLE`: one JSON-mode scan over NATS, rows printed to stdout as ndjson
 * or CSV; errors go to stderr and the exit code is 1.
 */
import { once } from 'node:events';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ScanCommandOptions } from '../config.js';
import { asQueryError, QueryError } from '../errors.js';
import { connectNats } from '../nats/connect.js';
import { openNatsScan } from './nats-scan.js';
import { formatHeader, formatRows } from './row-format.js';

export async function runScanCommand(opts: ScanCommandOptions): Promise<void> {
  const stdout = process.stdout;
  const reader = new AbortController();
  // A closed pipe (`| head`) ends the scan quietly.
  stdout.on('error', () => reader.abort(new QueryError('cancelled', 'stdout closed')));
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
    const options = { idleTimeoutMs: opts.timeoutMs, signal: reader.signal, encoding: 'json' as const };
    let columns: string[] = [];
    for await (const frame of openNatsScan(nc, opts.table, request, options)) {
      let text = '';
      if (frame.type === 'schema') {
        columns = frame.columns.map((c) => c.name);
        text = formatHeader(opts.format, columns);
      } else if (frame.type === 'data') {
        text = formatRows(opts.format, columns, frame.values ?? []);
      }
      if (text && !stdout.write(text)) await once(stdout, 'drain', { signal: reader.signal });
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
