/**
 * A LoadedTable filled by a SELECT instead of S3 (benchmarks and tests): the same DuckDB
 * setup a data container has after loading, external access off included.
 */
import { createHash } from 'node:crypto';
import { DuckDBInstance } from '@duckdb/node-api';
import { columnRanges } from '../data-container/column-ranges.js';
import type { LoadedTable } from '../data-container/table.js';
import { lockDown } from '../duckdb/sandbox.js';
import { type ShardSpec, UNSPLIT } from '../protocol/shards.js';

/** The benchmark's table: BIGINT, BIGINT, VARCHAR. */
export function benchTableSql(rows: number): string {
  return `SELECT i::BIGINT AS id, (i * 7919 % 1000003)::BIGINT AS amount, 'name_' || i AS name FROM range(${rows}) t(i)`;
}

export async function generatedTable(
  name: string,
  select: string,
  shard: ShardSpec = UNSPLIT,
): Promise<LoadedTable> {
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
    const ranges = await columnRanges(con, name, columns);
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
      // What it was made from, as a loaded table's is what it loaded: equal SELECTs, equal data.
      version: createHash('sha256').update(select).digest('hex').slice(0, 16),
      columnRanges: ranges,
    };
  } finally {
    con.closeSync();
  }
}
