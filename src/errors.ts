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
  | 'result_too_large'
  | 'out_of_memory'
  | 'unavailable'
  | 'timeout'
  | 'cancelled'
  | 'protocol_error'
  | 'internal';

const STATUS: Record<ErrorKind, number> = {
  bad_request: 400,
  syntax_error: 400,
  unknown_table: 400,
  unknown_column: 400,
  forbidden: 403,
  not_found: 404,
  not_acceptable: 406,
  result_too_large: 413,
  /** 507 Insufficient Storage: the server cannot hold what the request needs (not worth a retry). */
  out_of_memory: 507,
  unavailable: 503,
  timeout: 504,
  cancelled: 499,
  protocol_error: 502,
  internal: 500,
};

export class QueryError extends Error {
  readonly kind: ErrorKind;
  readonly status: number;

  constructor(kind: ErrorKind, message: string) {
    super(message);
    this.name = 'QueryError';
    this.kind = kind;
    this.status = STATUS[kind];
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
