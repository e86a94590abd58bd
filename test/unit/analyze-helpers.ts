/** Shared fixtures for the analyzer tests: a real DuckDB for `json_serialize_sql`, the sample catalog. */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll } from 'vitest';
import type {
  DuckDbSql,
  ParseWithDuckDb,
  TableCatalogEntry,
} from '../../src/coordinator/plan/analyze/index.js';
import { deserializedSql } from '../../src/duckdb/parse-tree.js';

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
  /** DuckDB's parser both ways, as the analyzer takes it */
  duck: DuckDbSql;
  close: () => void;
}> {
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  const parse: ParseWithDuckDb = async (sql) => {
    const reader = await con.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR) AS j', [sql]);
    return JSON.parse(String(reader.getRows()[0][0]));
  };
  const duck: DuckDbSql = { parse, print: (trees) => deserializedSql(con, trees) };
  return {
    con,
    parse,
    duck,
    close: () => {
      con.closeSync();
      instance.closeSync();
    },
  };
}

/** DuckDB's parser for one test file: opened before its tests, closed after them. */
export function parserForFile(): DuckDbSql {
  let opened: Awaited<ReturnType<typeof openParser>> | undefined;
  beforeAll(async () => {
    opened = await openParser();
  });
  afterAll(() => opened?.close());
  const duck = () => {
    if (!opened) throw new Error('the parser opens before the tests');
    return opened.duck;
  };
  return { parse: (sql) => duck().parse(sql), print: (trees) => duck().print(trees) };
}

/** A catalog entry of `columns` (name → DuckDB type) and `rows` rows. */
export const catalogTable = (
  name: string,
  rows: number,
  columns: Record<string, string>,
): TableCatalogEntry => ({
  name,
  columns: Object.keys(columns),
  types: Object.values(columns),
  rows,
});
