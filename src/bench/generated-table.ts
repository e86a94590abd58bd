/**
 * A LoadedTable filled by a SELECT instead of S3 (benchmarks and tests): the same DuckDB
 * setup a data container has after loading, external access off included.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import type { LoadedTable } from '../data-container/table.js';
import { lockDown } from '../duckdb/sandbox.js';

/** The benchmark's table: BIGINT, BIGINT, VARCHAR. */
export function benchTableSql(rows: number): string {
  return `SELECT i::BIGINT AS id, (i * 7919 % 1000003)::BIGINT AS amount, 'name_' || i AS name FROM range(${rows}) t(i)`;
}

export async function generatedTable(name: string, select: string, shard = '0'): Promise<LoadedTable> {
  const started = performance.now();
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    await con.run(`CREATE TABLE "${name}" AS ${select}`);
    const described = await con.runAndReadAll(`DESCRIBE "${name}"`);
    const columns = described
      .getRowObjectsJson()
      .map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    const counted = await con.runAndReadAll(`SELECT count(*)::INTEGER FROM "${name}"`);
    await lockDown(con);
    return {
      name,
      instance,
      columns,
      rowCount: Number(counted.getRows()[0][0]),
      sizeBytes: 0,
      loadTimeMs: performance.now() - started,
      urls: [],
      objects: [],
      loadedAt: new Date().toISOString(),
      shard,
    };
  } finally {
    con.closeSync();
  }
}
