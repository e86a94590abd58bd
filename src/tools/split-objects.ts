/**
 * One generated table (a gzipped CSV written by DuckDB) rewritten as several objects, the way
 * Spark and Hive jobs leave a table in S3: a prefix of gzipped CSVs, each with the header, each
 * holding a contiguous run of the rows in file order. For the demo's and tests' split tables
 * (`serve s3://bucket/table/*.csv.gz --shard I/N`). DuckDB reads the file and writes the rows
 * back with the CSV writer that wrote them, so every value keeps its text exactly.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { quoteLiteral } from '../duckdb/sql.js';

/** Objects of equal row counts, `count` of them. */
export function equalWeights(count: number): number[] {
  if (!Number.isSafeInteger(count) || count < 1)
    throw new Error(`objects must be a positive integer, got ${count}`);
  return Array.from({ length: count }, () => 1);
}

/** Row offsets where each object starts, and the end: object k holds rows [at[k], at[k + 1]). */
export function objectBounds(rows: number, weights: readonly number[]): number[] {
  if (weights.length === 0 || weights.some((w) => !(w >= 0)) || !weights.some((w) => w > 0))
    throw new Error(`weights must be non-negative with one above 0, got [${weights.join(', ')}]`);
  const total = weights.reduce((a, b) => a + b, 0);
  const bounds = [0];
  let sum = 0;
  for (const w of weights) {
    sum += w;
    bounds.push(Math.round((rows * sum) / total));
  }
  return bounds;
}

/**
 * Writes the rows of `file` as `<dir>/part-<k>.csv.gz`, one object per weight, each with a
 * share of the rows proportional to its weight (a weight of 0 gives a header-only object).
 * Returns the objects' paths in order.
 */
export async function splitIntoObjects(
  file: string,
  dir: string,
  weights: readonly number[],
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const digits = String(weights.length - 1).length;
  const paths = weights.map((_, k) => resolve(join(dir, `part-${String(k).padStart(digits, '0')}.csv.gz`)));
  // Insertion order kept, so that rowid follows the file's order.
  const instance = await DuckDBInstance.create(':memory:', { preserve_insertion_order: 'true' });
  const con = await instance.connect();
  try {
    await con.run(`CREATE TABLE t AS SELECT * FROM read_csv(${quoteLiteral(file)})`);
    const rows = Number((await con.runAndReadAll('SELECT count(*) FROM t')).getRows()[0][0]);
    const at = objectBounds(rows, weights);
    for (const [k, path] of paths.entries()) {
      await con.run(
        `COPY (SELECT * FROM t WHERE rowid >= ${at[k]} AND rowid < ${at[k + 1]} ORDER BY rowid)
         TO ${quoteLiteral(path)} (HEADER, COMPRESSION gzip)`,
      );
    }
    return paths;
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}
