/**
 * Sample tables `labels`, `label_sublabels` and `label_urls` as gzipped CSV, written by DuckDB
 * itself. Values are pseudo-random but deterministic: each comes from `hash(row, seed, salt)`,
 * so the same (labels, seed) always gives the same files. The data carries what queries trip
 * over: NULLs, unicode, commas and quotes inside values, label ids without a label, BIGINTs
 * beyond 2^53, duplicate keys, and ~1% of names containing 'test' (the seed's example filter).
 * The seed's own columns are all there: its example join reaches `label_urls` through
 * `sublabel_id` (1% NULL), as well as through `label_id`.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { quoteLiteral } from '../duckdb/sql.js';

export const SAMPLE_TABLES = ['labels', 'label_sublabels', 'label_urls'] as const;
export type SampleTable = (typeof SAMPLE_TABLES)[number];

export interface SampleDataOptions {
  /** Rows in `labels`; the other two tables get 5× as many. */
  labels: number;
  seed?: number;
}

export interface SampleData {
  files: Record<SampleTable, string>;
  rows: Record<SampleTable, number>;
}

/** Rows of the child tables per label. */
const FAN_OUT = 5;

/**
 * `h(i, 'salt') % m` is a stable pseudo-random number for row i. The outer hash matters: the
 * low bits of DuckDB's multi-argument hash are correlated across salts.
 */
function macro(seed: number): string {
  return `CREATE TEMP MACRO h(i, salt) AS hash(hash(i, ${seed}::BIGINT, salt))`;
}

/** A label id of a child row: mostly an existing label, 1% NULL, 1% orphan (some beyond 2^53). */
function childLabelId(n: number, table: SampleTable): string {
  return `CASE h(i, '${table}:lid_kind') % 100
      WHEN 0 THEN NULL
      WHEN 1 THEN CASE WHEN h(i, '${table}:orphan') % 2 = 0
        THEN ${n + 1}::BIGINT + (h(i, '${table}:orphan_id') % 1000)::BIGINT
        ELSE 9007199254740993::BIGINT + (h(i, '${table}:orphan_id') % 1000)::BIGINT END
      ELSE (h(i, '${table}:lid') % ${n})::BIGINT + 1 END`;
}

function labelsQuery(n: number): string {
  return `SELECT
    (i + 1)::BIGINT AS label_id,
    CASE
      WHEN h(i, 'name') % 1000 < 10 THEN 'test_label_' || (i + 1)
      WHEN h(i, 'name') % 1000 < 15 THEN NULL
      WHEN h(i, 'name') % 1000 < 18 THEN 'étiquette_' || (i + 1)
      WHEN h(i, 'name') % 1000 < 21 THEN '日本ラベル_' || (i + 1)
      WHEN h(i, 'name') % 1000 < 24 THEN '🏷️ label ' || (i + 1)
      WHEN h(i, 'name') % 1000 < 27 THEN 'label, "quoted" ' || (i + 1)
      WHEN h(i, 'name') % 1000 < 29 THEN 'TEST Label ' || (i + 1)
      ELSE 'label_' || (i + 1)
    END AS name,
    CASE WHEN h(i, 'cat') % 50 = 0 THEN NULL
      ELSE ['electronics', 'books', 'clothing', 'home', 'sports', 'toys', 'food', 'garden'][(h(i, 'cat') % 8)::INTEGER + 1]
    END AS category,
    CASE WHEN h(i, 'score') % 40 = 0 THEN NULL ELSE round((h(i, 'score') % 100000)::DOUBLE / 1000, 3) END AS score,
    CASE WHEN h(i, 'ts') % 100 = 0 THEN NULL
      ELSE TIMESTAMP '2020-01-01 00:00:00' + to_seconds((h(i, 'ts') % 157680000)::BIGINT)
    END AS created_at
  FROM range(${n}) t(i)`;
}

function sublabelsQuery(n: number): string {
  return `SELECT
    (i + 1)::BIGINT AS sublabel_id,
    ${childLabelId(n, 'label_sublabels')} AS label_id,
    CASE
      WHEN h(i, 'sname') % 100 = 0 THEN NULL
      WHEN h(i, 'sname') % 100 = 1 THEN 'test_sub_' || (h(i, 'dup') % ${n})
      WHEN h(i, 'sname') % 100 = 2 THEN 'sous-étiquette ' || (h(i, 'dup') % ${n})
      WHEN h(i, 'sname') % 100 = 3 THEN 'sub, "quoted" ' || (h(i, 'dup') % ${n})
      ELSE 'sub_' || (h(i, 'dup') % ${n})
    END AS sublabel_name
  FROM range(${n * FAN_OUT}) t(i)`;
}

function urlsQuery(n: number): string {
  return `SELECT
    (i + 1)::BIGINT AS url_id,
    ${childLabelId(n, 'label_urls')} AS label_id,
    CASE
      WHEN h(i, 'url') % 100 = 0 THEN NULL
      WHEN h(i, 'url') % 100 = 1 THEN 'https://example.com/search?q=a,b&tag="test"&id=' || (i + 1)
      WHEN h(i, 'url') % 100 = 2 THEN 'https://例え.jp/ラベル/' || (i + 1)
      ELSE 'https://example.com/labels/' || (h(i, 'label_urls:lid') % ${n} + 1) || '/urls/' || (i + 1)
    END AS url,
    CASE WHEN h(i, 'label_urls:sid') % 100 = 0 THEN NULL
      ELSE (h(i, 'label_urls:sid') % ${n * FAN_OUT})::BIGINT + 1
    END AS sublabel_id
  FROM range(${n * FAN_OUT}) t(i)`;
}

/** Writes `<dir>/<table>.csv.gz` for the three sample tables. */
export async function writeSampleData(dir: string, options: SampleDataOptions): Promise<SampleData> {
  const n = options.labels;
  const seed = options.seed ?? 42;
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`labels must be a positive integer, got ${n}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  await mkdir(dir, { recursive: true });
  const queries: Record<SampleTable, string> = {
    labels: labelsQuery(n),
    label_sublabels: sublabelsQuery(n),
    label_urls: urlsQuery(n),
  };
  const files = Object.fromEntries(
    SAMPLE_TABLES.map((table) => [table, resolve(join(dir, `${table}.csv.gz`))]),
  ) as Record<SampleTable, string>;
  const instance = await DuckDBInstance.create(':memory:');
  try {
    // DuckDB's gzip writer is single-threaded: one connection per table writes them side by side.
    await Promise.all(
      SAMPLE_TABLES.map(async (table) => {
        const con = await instance.connect();
        try {
          await con.run(macro(seed));
          await con.run(
            `COPY (${queries[table]}) TO ${quoteLiteral(files[table])} (HEADER, COMPRESSION gzip)`,
          );
        } finally {
          con.closeSync();
        }
      }),
    );
  } finally {
    instance.closeSync();
  }
  return { files, rows: { labels: n, label_sublabels: n * FAN_OUT, label_urls: n * FAN_OUT } };
}
