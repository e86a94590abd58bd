/** QueryErrors as Postgres ErrorResponses, with the SQLSTATE a Postgres client acts on. */
import { asQueryError, type ErrorKind } from '../../errors.js';

const SQLSTATE: Record<ErrorKind, string> = {
  bad_request: '42000',
  syntax_error: '42601',
  unknown_table: '42P01',
  unknown_column: '42703',
  forbidden: '42501',
  not_found: '42704',
  not_acceptable: '0A000',
  request_too_large: '54000',
  result_too_large: '54000',
  out_of_memory: '53200',
  /** disk_full: more spill than --max-temp-directory-size. */
  out_of_temp_space: '53100',
  /** too_many_connections is the nearest: every query slot and the queue are taken. */
  overloaded: '53300',
  /** cannot_connect_now: a table's containers cannot be reached at the moment. */
  unavailable: '57P03',
  timeout: '57014',
  cancelled: '57014',
  protocol_error: '08P01',
  internal: 'XX000',
};

/** Finer codes for DuckDB's own error classes that Postgres also tells apart. */
const BY_MESSAGE: [RegExp, string][] = [
  [/^Conversion Error/, '22P02'],
  [/^Out of Range Error/, '22003'],
  [/^Binder Error: No function matches/, '42883'],
];

export interface PgError {
  code: string;
  message: string;
}

export function pgError(err: unknown): PgError {
  const error = asQueryError(err);
  const refined = BY_MESSAGE.find(([pattern]) => pattern.test(error.message))?.[1];
  return { code: refined ?? SQLSTATE[error.kind], message: error.message };
}
