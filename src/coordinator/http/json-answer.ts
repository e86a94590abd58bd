/**
 * POST /query's JSON answer in the seed's shape, written as bytes chunk by chunk: no row
 * objects and no JSON.stringify of the whole answer, which for a few hundred thousand rows
 * took longer than the query itself. The result is materialized and the answer written
 * whole before the first byte, so that a failure or a result over either cap (rows, bytes)
 * still gets its status code.
 */
import { releasingChunks } from '../../duckdb/chunk-memory.js';
import { JsonRowWriter } from '../../duckdb/json-rows.js';
import { chunksOf } from '../../duckdb/json-values.js';
import { QueryError } from '../../errors.js';
import { msSince } from '../../timing.js';
import type { OpenQuery } from '../execute/query.js';

/** The answer's bytes: results, columns, row_count, execution_time_ms, timestamp, source_tables, stats, query_id. */
export async function* jsonAnswerText(open: OpenQuery, queryId?: string): AsyncGenerator<Buffer> {
  const columns = open.result.deduplicatedColumnNames();
  yield Buffer.from('{"results":[');
  const writer = new JsonRowWriter(columns, 'array');
  let rows = 0;
  for await (const chunk of releasingChunks(chunksOf(open.result))) {
    yield writer.write(chunk);
    rows += chunk.rowCount;
  }
  const rest = {
    columns,
    row_count: rows,
    execution_time_ms: msSince(open.started),
    timestamp: new Date().toISOString(),
    source_tables: open.sourceTables,
    stats: open.stats,
    ...(queryId && { query_id: queryId }),
  };
  yield Buffer.from(`],${JSON.stringify(rest).slice(1)}`);
}

/** A JSON answer over its row cap (413). */
export function jsonAnswerTooLarge(maxRows: number): QueryError {
  return new QueryError(
    'result_too_large',
    `the result has more than ${maxRows} rows, the cap of a JSON answer (--max-json-rows); ` +
      'stream it instead with the header "Accept: application/x-ndjson" or "Accept: text/csv", or add a LIMIT',
  );
}

/**
 * The whole JSON answer, refused with 413 once it passes `maxBytes` (--max-json-bytes): held
 * whole, so that a result over the cap gets its status before the first byte.
 */
export async function jsonAnswerBytes(open: OpenQuery, maxBytes: number, queryId?: string): Promise<Buffer> {
  const pieces: Buffer[] = [];
  let bytes = 0;
  for await (const piece of jsonAnswerText(open, queryId)) {
    bytes += piece.byteLength;
    if (bytes > maxBytes) {
      throw new QueryError(
        'result_too_large',
        `the JSON answer is over ${maxBytes} bytes, the byte cap of a JSON answer (--max-json-bytes); ` +
          'stream it instead with the header "Accept: application/x-ndjson" or "Accept: text/csv", or add a LIMIT',
      );
    }
    pieces.push(piece);
  }
  return Buffer.concat(pieces, bytes);
}
