/** DuckDB's own parse tree of any SQL text, as JSON (`json_serialize_sql`). */
import { type DuckDBConnection, LIST, listValue, VARCHAR } from '@duckdb/node-api';

/**
 * DuckDB writes out-of-range numeric literals as bare Infinity/-Infinity/NaN, which are not
 * JSON; they become strings (the tree is read for its shape, never evaluated).
 */
const NON_JSON_NUMBER = /([:[,]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g;

/** A `json_serialize_sql` result text as JSON. */
export function parseTreeText(text: string): unknown {
  return JSON.parse(text.replace(NON_JSON_NUMBER, '$1"$2"'));
}

export async function serializedSql(con: DuckDBConnection, sql: string): Promise<unknown> {
  const reader = await con.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  return parseTreeText(String(reader.getRows()[0][0]));
}

/**
 * SQL text of parse trees (`json_deserialize_sql`), one per tree (each a JSON text of a whole
 * `json_serialize_sql` result); undefined where DuckDB cannot turn one back into SQL.
 */
export async function deserializedSql(
  con: DuckDBConnection,
  trees: string[],
): Promise<(string | undefined)[]> {
  if (trees.length === 0) return [];
  const one = async (tree: string): Promise<string | undefined> => {
    try {
      const reader = await con.runAndReadAll('SELECT json_deserialize_sql($1::JSON)', [tree]);
      return String(reader.getRows()[0][0]);
    } catch {
      return undefined;
    }
  };
  try {
    const reader = await con.runAndReadAll(
      'SELECT json_deserialize_sql(t::JSON) FROM unnest($1) WITH ORDINALITY u(t, i) ORDER BY i',
      [listValue(trees)],
      [LIST(VARCHAR)],
    );
    return reader.getRows().map((r) => String(r[0]));
  } catch {
    // One tree DuckDB refuses fails the whole batch: print them one by one.
    return Promise.all(trees.map(one));
  }
}
