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

/** Groups in `grp` of the grouped table. */
export const BENCH_GROUPS = 100;

/**
 * The shards benchmark's table: benchTableSql's columns and `grp`, one of BENCH_GROUPS groups,
 * over rows [from, to) of it, so that parts of it hold contiguous ranges of `id`.
 */
export function groupedTableSql(from: number, to: number): string {
  return `SELECT i::BIGINT AS id, (i * 7919 % 1000003)::BIGINT AS amount, (hash(i) % ${BENCH_GROUPS})::INTEGER AS grp,
    'name_' || i AS name FROM range(${from}, ${to}) t(i)`;
}

/** Rows [from, to) of `rows` that part `index` of `count` holds: a contiguous share. */
export function partRange(rows: number, index: number, count: number): [number, number] {
  return [Math.floor((rows * index) / count), Math.floor((rows * (index + 1)) / count)];
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
