/**
 * Reading a scan request off the wire (NATS message or POST /scan body): msgpack, or JSON
 * when it looks like JSON; checked against ScanRequestSchema. Columns and `where` are the
 * executor's to check against the table.
 */
import { asQueryError, QueryError } from '../errors.js';
import { decode, type Encoding } from '../protocol/codec.js';
import { type ErrorFrame, type ParsedScanRequest, ScanRequestSchema } from '../protocol/frames.js';
import { issuesText } from '../zod-issues.js';

/** Room for the largest valid request (a 1 MiB `query`) and its framing. */
export const MAX_SCAN_REQUEST_BYTES = 1_100_000;

const SHAPE = '{columns: string[], where?: string, limit?: number} as msgpack or JSON';

/**
 * `encoding` is `detectEncoding(bytes)`, which replies use too (also for the error this throws).
 */
export function parseScanRequest(bytes: Uint8Array, encoding: Encoding): ParsedScanRequest {
  if (bytes.byteLength === 0) throw new QueryError('bad_request', `empty scan request: send ${SHAPE}`);
  if (bytes.byteLength > MAX_SCAN_REQUEST_BYTES) {
    throw new QueryError(
      'bad_request',
      `scan request is ${bytes.byteLength} bytes, over the limit of ${MAX_SCAN_REQUEST_BYTES}`,
    );
  }
  let value: unknown;
  try {
    value = decode(bytes, encoding);
  } catch (err) {
    throw new QueryError(
      'bad_request',
      `scan request is neither msgpack nor JSON (${(err as Error).message}): send ${SHAPE}`,
    );
  }
  if (!isMap(value)) {
    const got = Array.isArray(value)
      ? 'an array'
      : typeof value === 'object'
        ? value === null
          ? 'null'
          : 'a value of another kind'
        : `a ${typeof value}`;
    throw new QueryError('bad_request', `scan request must be a map, got ${got}: send ${SHAPE}`);
  }
  const parsed = ScanRequestSchema.safeParse(value);
  if (!parsed.success) {
    throw new QueryError('bad_request', `invalid scan request: ${issuesText(parsed.error, 'request')}`);
  }
  return parsed.data;
}

/** A plain object, as msgpack maps and JSON objects decode (not an array or a decoder's own type). */
function isMap(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The error frame that reports `err` as frame number `seq`. */
export function errorFrame(seq: number, err: unknown): ErrorFrame {
  const error = asQueryError(err);
  return { type: 'error', seq, error: error.kind, message: error.message };
}
