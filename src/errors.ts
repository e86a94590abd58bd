/**
 * Errors a user can act on. `kind` and `status` go out as `{"error": kind, "message": ...}`
 * with that HTTP status (DESIGN.md, HTTP section); over NATS they travel in an error frame.
 */
export type ErrorKind =
  | 'bad_request'
  | 'syntax_error'
  | 'unknown_table'
  | 'unknown_column'
  | 'forbidden'
  | 'not_found'
  | 'not_acceptable'
  | 'request_too_large'
  | 'result_too_large'
  | 'out_of_memory'
  | 'out_of_temp_space'
  | 'unavailable'
  | 'overloaded'
  | 'timeout'
  | 'cancelled'
  | 'protocol_error'
  | 'internal';

/**
 * The kinds that say an expression itself was refused (by the guard or DuckDB's binder, or
 * failed on a value), not the circumstances of the work it was part of.
 */
export const REFUSED_EXPRESSION_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  'bad_request',
  'syntax_error',
  'unknown_column',
  'forbidden',
]);

const STATUS: Record<ErrorKind, number> = {
  bad_request: 400,
  syntax_error: 400,
  unknown_table: 400,
  unknown_column: 400,
  forbidden: 403,
  not_found: 404,
  not_acceptable: 406,
  /** The request body itself is over its limit. */
  request_too_large: 413,
  /** The answer is over the cap of its format. */
  result_too_large: 413,
  /** 507 Insufficient Storage: the server cannot hold what the request needs (not worth a retry). */
  out_of_memory: 507,
  /** The query would spill more to disk than --max-temp-directory-size allows. */
  out_of_temp_space: 507,
  unavailable: 503,
  /** Every query slot and the queue are taken; the answer carries Retry-After. */
  overloaded: 503,
  timeout: 504,
  cancelled: 499,
  protocol_error: 502,
  internal: 500,
};

export class QueryError extends Error {
  readonly kind: ErrorKind;
  readonly status: number;
  /** Seconds a client should wait before it tries again (the `Retry-After` header), where that helps. */
  readonly retryAfterSeconds?: number;

  constructor(kind: ErrorKind, message: string, opts: { retryAfterSeconds?: number } = {}) {
    super(message);
    this.name = 'QueryError';
    this.kind = kind;
    this.status = STATUS[kind];
    if (opts.retryAfterSeconds !== undefined) this.retryAfterSeconds = opts.retryAfterSeconds;
  }

  toJSON(): { error: ErrorKind; message: string } {
    return { error: this.kind, message: this.message };
  }
}

/** Any thrown value as a QueryError; unknown failures become `internal` with their message kept. */
export function asQueryError(err: unknown): QueryError {
  if (err instanceof QueryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new QueryError('internal', message);
}

export function errorKindStatus(kind: ErrorKind): number {
  return STATUS[kind];
}

/** The kind of a 4xx that fastify itself answered (a body too large, a route that is not there). */
export function kindForStatus(status: number): ErrorKind {
  if (status === 404) return 'not_found';
  if (status === 413) return 'request_too_large';
  return 'bad_request';
}

/**
 * What a client may see of a failure: a QueryError the user can act on as it is; anything
 * else (a bug, an internal message naming files or threads) as a generic 500 naming `id`,
 * with the detail left to the caller's log.
 */
export function publicError(err: unknown, id: string): QueryError {
  const error = asQueryError(err);
  if (error.kind !== 'internal') return error;
  return new QueryError(
    'internal',
    `the server failed on this request (id ${id}); the details are in its log under that id`,
  );
}
