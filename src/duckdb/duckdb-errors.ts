/**
 * DuckDB's error messages ("Binder Error: ...") as QueryErrors with a fitting kind, and with
 * only hints a user can follow: DuckDB suggests `SET ...` and `PRAGMA ...`, which are refused
 * here, so those sentences are dropped or replaced by what the user can do instead.
 */
import { type ErrorKind, QueryError } from '../errors.js';

const KIND_BY_PREFIX: [RegExp, ErrorKind][] = [
  [/^Parser Error/, 'syntax_error'],
  [/^Catalog Error: Table with name/, 'unknown_table'],
  [/^Binder Error: Referenced column/, 'unknown_column'],
  [/^Permission Error/, 'forbidden'],
  [/^INTERRUPT Error/, 'cancelled'],
  [/^(Binder|Catalog|Conversion|Invalid Input|Out of Range|Not implemented|Constraint) Error/, 'bad_request'],
];

const NARROW =
  'narrow the query, add a LIMIT or an aggregate, or stream the answer ("Accept: application/x-ndjson")';

/** Sentences that tell the user to change a setting: `Use "SET x TO y" to ...`, `(SET threads=X)`. */
const SETTING_HINT = /[^.\n]*\b(SET|PRAGMA)\s+[a-z_]+[^.\n]*\.?/g;

/** The message without its setting hints. */
function followable(message: string): string {
  return message
    .replace(SETTING_HINT, '')
    .replace(/[ \t]+$/gm, '')
    .trim();
}

/**
 * `error` with hints a user can follow, whoever wrote it from DuckDB's message (the analyzer
 * reports parser errors itself).
 */
export function withFollowableHints(error: QueryError): QueryError {
  if (error.message.search(SETTING_HINT) < 0) return error;
  const rewritten = duckdbErrorToQueryError(new Error(error.message));
  const message = rewritten.kind === 'internal' ? followable(error.message) : rewritten.message;
  return new QueryError(error.kind, message, { retryAfterSeconds: error.retryAfterSeconds });
}

export function duckdbErrorToQueryError(err: unknown): QueryError {
  if (err instanceof QueryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/max_temp_directory_size/.test(message)) {
    return new QueryError(
      'out_of_temp_space',
      `the query needs more temporary disk space than this server allows (--max-temp-directory-size, MAX_TEMP_DIRECTORY_SIZE); ${NARROW}`,
    );
  }
  if (/^Out of Memory Error/.test(message)) {
    const first = message.split('\n')[0].trim();
    return new QueryError(
      'out_of_memory',
      `${followable(first).replace(/[.:]$/, '')}: the query needs more memory than this DuckDB may use; ${NARROW}. The ` +
        'limit of the coordinator and of each data container is their --memory-limit (DUCKDB_MEMORY_LIMIT)',
    );
  }
  if (/Max expression depth limit of \d+ exceeded/.test(message)) {
    return new QueryError(
      'bad_request',
      `${followable(message).replace(/[.:]$/, '')}: the query nests expressions too deeply; write long chains flatter (x IN (1, 2, 3) rather than x = 1 OR x = 2 OR ...), or split the query`,
    );
  }
  const kind = KIND_BY_PREFIX.find(([prefix]) => prefix.test(message))?.[1] ?? 'internal';
  return new QueryError(kind, kind === 'internal' ? message.trim() : followable(message));
}
