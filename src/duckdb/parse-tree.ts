/** DuckDB's own parse tree of any SQL text, as JSON (`json_serialize_sql`). */
import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * DuckDB writes out-of-range numeric literals as bare Infinity/-Infinity/NaN, which are not
 * JSON; they become strings (the tree is read for its shape, never evaluated).
 */
const NON_JSON_NUMBER = /([:[,]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g;

export async function serializedSql(con: DuckDBConnection, sql: string): Promise<unknown> {
  const reader = await con.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  return JSON.parse(String(reader.getRows()[0][0]).replace(NON_JSON_NUMBER, '$1"$2"'));
}
