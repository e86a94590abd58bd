/** One DuckDB holding every table read straight from its CSV file: the baseline and the oracle. */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from '../duckdb/sql.js';

export async function singleNodeDuckDB(files: Record<string, string>): Promise<DuckDBConnection> {
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  for (const [table, file] of Object.entries(files)) {
    await con.run(`CREATE TABLE ${quoteIdent(table)} AS SELECT * FROM read_csv(${quoteLiteral(file)})`);
  }
  return con;
}
