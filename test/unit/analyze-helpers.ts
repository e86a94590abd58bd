/** Shared fixtures for the analyzer tests: a real DuckDB for `json_serialize_sql`, the sample catalog. */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { ParseWithDuckDb, TableCatalogEntry } from '../../src/coordinator/analyze/index.js';

export const CATALOG: TableCatalogEntry[] = [
  { name: 'labels', columns: ['label_id', 'name', 'category'], types: ['BIGINT', 'VARCHAR', 'VARCHAR'] },
  {
    name: 'label_sublabels',
    columns: ['label_id', 'sublabel_id', 'sublabel_name'],
    types: ['BIGINT', 'BIGINT', 'VARCHAR'],
  },
  { name: 'label_urls', columns: ['label_id', 'url'], types: ['BIGINT', 'VARCHAR'] },
];

export async function openParser(): Promise<{
  con: DuckDBConnection;
  parse: ParseWithDuckDb;
  close: () => void;
}> {
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  const parse: ParseWithDuckDb = async (sql) => {
    const reader = await con.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR) AS j', [sql]);
    return JSON.parse(String(reader.getRows()[0][0]));
  };
  return {
    con,
    parse,
    close: () => {
      con.closeSync();
      instance.closeSync();
    },
  };
}
