/**
 * `POST /scan` on the data container: the NATS scan contract over HTTP. The body is a scan
 * request (msgpack, or JSON); the response streams the same frames, each as a 4-byte
 * big-endian length and the encoded frame. TCP backpressure is the flow control; a client
 * that disconnects stops the scan. Every failure, even an unreadable body, is an error frame.
 */

import type { ServerResponse } from 'node:http';
import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { QueryError } from '../errors.js';
import { detectEncoding, type Encoding, encode } from '../protocol/codec.js';
import { framePrefix, frameStreamContentType } from '../protocol/frame-stream.js';
import type { Frame } from '../protocol/frames.js';
import { executeScan } from './scan.js';
import { Heartbeats, ScanDeadline } from './scan-liveness.js';
import { errorFrame, MAX_SCAN_REQUEST_BYTES, parseScanRequest } from './scan-request.js';
import type { LoadedTable } from './table.js';

export function registerScanRoute(
  app: FastifyInstance,
  getTable: () => LoadedTable | undefined,
  queryTimeoutMs: number,
): void {
  // Its own scope: any body reaches the handler as bytes (application/x-msgpack, JSON, or
  // anything else), so that a bad one is answered with an error frame, not a fastify error.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: MAX_SCAN_REQUEST_BYTES },
      (_req, body, done) => done(null, body),
    );
    scope.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
      const encoding = requestEncoding(request);
      const error =
        err instanceof QueryError
          ? err
          : new QueryError(err.statusCode === 413 ? 'request_too_large' : 'internal', err.message);
      const frame = encode(errorFrame(0, error), encoding);
      return reply
        .code(err.statusCode ?? error.status)
        .type(frameStreamContentType(encoding))
        .send(Buffer.concat([framePrefix(frame.byteLength), frame]));
    });
    scope.post(
      '/scan',
      {
        schema: {
          summary: 'Scan the table: columns, where, limit',
          description:
            'Body: {columns: string[], where?: string, limit?: number, query?: string, timeoutMs?: number, …} ' +
            'as application/x-msgpack or JSON (README lists every field). ' +
            'Response: a stream of frames (schema, data..., end | error), each a 4-byte big-endian length ' +
            'and the frame, encoded like the request, with a heartbeat message whenever nothing was sent ' +
            'for a second. The scan stops when the client disconnects, and at its deadline (timeoutMs, ' +
            'bounded by --query-timeout-ms).',
        },
      },
      (request, reply) => streamScan(request, reply, getTable(), queryTimeoutMs),
    );
  });
}

function requestEncoding(request: FastifyRequest): Encoding {
  if (Buffer.isBuffer(request.body)) return detectEncoding(request.body);
  return request.headers['content-type']?.includes('json') ? 'json' : 'msgpack';
}

async function streamScan(
  request: FastifyRequest,
  reply: FastifyReply,
  table: LoadedTable | undefined,
  queryTimeoutMs: number,
) {
  if (!table) throw new QueryError('unavailable', 'the table is still loading; try again shortly');
  const bytes = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const encoding = detectEncoding(bytes);
  const scanRequest = parseScanRequest(bytes, encoding);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': frameStreamContentType(encoding), 'cache-control': 'no-store' });
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new QueryError('cancelled', 'the client went away'));
  });
  let nextSeq = 0;
  const heartbeats = new Heartbeats(() => {
    void writeFrame(res, encode({ type: 'heartbeat', seq: nextSeq }, encoding), controller.signal);
  });
  const send = (frame: Frame) => {
    heartbeats.touch();
    nextSeq = frame.seq + 1;
    return writeFrame(res, encode(frame, encoding), controller.signal);
  };
  const deadline = new ScanDeadline(scanRequest.timeoutMs, queryTimeoutMs, (err) => {
    if (controller.signal.aborted) return;
    void send(errorFrame(nextSeq, err));
    controller.abort(err);
  });
  try {
    await executeScan(table, scanRequest, encoding, { send }, controller.signal);
  } finally {
    deadline.stop();
    heartbeats.stop();
    res.end();
  }
}

/** Resolves when the socket can take more (TCP backpressure) or the client is gone. */
function writeFrame(res: ServerResponse, bytes: Uint8Array, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  res.cork();
  res.write(framePrefix(bytes.byteLength));
  const more = res.write(bytes);
  res.uncork();
  if (more) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
