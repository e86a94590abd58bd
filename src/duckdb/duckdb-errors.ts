/** DuckDB's error messages ("Binder Error: ...") as QueryErrors with a fitting kind. */
import { type ErrorKind, QueryError } from '../errors.js';

const KIND_BY_PREFIX: [RegExp, ErrorKind][] = [
  [/^Parser Error/, 'syntax_error'],
  [/^Catalog Error: Table with name/, 'unknown_table'],
  [/^Binder Error: Referenced column/, 'unknown_column'],
  [/^Permission Error/, 'forbidden'],
  [/^INTERRUPT Error/, 'cancelled'],
  [/^(Binder|Catalog|Conversion|Invalid Input|Out of Range|Not implemented|Constraint) Error/, 'bad_request'],
];

export function duckdbErrorToQueryError(err: unknown): QueryError {
  if (err instanceof QueryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/^Out of Memory Error/.test(message)) {
    return new QueryError(
      'out_of_memory',
      `${message.trim()}: the query needs more memory than this DuckDB may use; narrow it, add a ` +
        'LIMIT or an aggregate, or stream the answer ("Accept: application/x-ndjson"). The ' +
        'limit of the coordinator and of each data container is their --memory-limit (DUCKDB_MEMORY_LIMIT)',
    );
  }
  const kind = KIND_BY_PREFIX.find(([prefix]) => prefix.test(message))?.[1] ?? 'internal';
  return new QueryError(kind, message.trim());
}
