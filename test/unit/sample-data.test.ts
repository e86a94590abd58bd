import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_TABLES, type SampleData, writeSampleData } from '../../src/tools/sample-data.js';

const LABELS = 5_000;
const dirs = [join(tmpdir(), `sample-data-a-${process.pid}`), join(tmpdir(), `sample-data-b-${process.pid}`)];
let data: SampleData;
let again: SampleData;

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

beforeAll(async () => {
  data = await writeSampleData(dirs[0], { labels: LABELS });
  again = await writeSampleData(dirs[1], { labels: LABELS });
});
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('writeSampleData', () => {
  it('writes three gzipped CSVs with the promised rows and types', async () => {
    expect(data.rows).toEqual({ labels: LABELS, label_sublabels: 5 * LABELS, label_urls: 5 * LABELS });
    const types: Record<string, string> = {};
    for (const table of SAMPLE_TABLES) {
      const head = await readFile(data.files[table]);
      expect(head.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      const [{ n }] = await query(`SELECT count(*)::INTEGER AS n FROM read_csv('${data.files[table]}')`);
      expect(n).toBe(data.rows[table]);
      for (const c of await query(`DESCRIBE SELECT * FROM read_csv('${data.files[table]}')`)) {
        types[`${table}.${c.column_name}`] = String(c.column_type);
      }
    }
    expect(types).toEqual({
      'labels.label_id': 'BIGINT',
      'labels.name': 'VARCHAR',
      'labels.category': 'VARCHAR',
      'labels.score': 'DOUBLE',
      'labels.created_at': 'TIMESTAMP',
      'label_sublabels.sublabel_id': 'BIGINT',
      'label_sublabels.label_id': 'BIGINT',
      'label_sublabels.sublabel_name': 'VARCHAR',
      'label_urls.url_id': 'BIGINT',
      'label_urls.label_id': 'BIGINT',
      'label_urls.url': 'VARCHAR',
      'label_urls.sublabel_id': 'BIGINT',
    });
  });

  it('is deterministic', async () => {
    for (const table of SAMPLE_TABLES) {
      expect((await readFile(again.files[table])).equals(await readFile(data.files[table]))).toBe(true);
    }
  });

  it('has the awkward values queries must survive', async () => {
    const [labels] = await query(`SELECT
        count(*) FILTER (name LIKE '%test%')::INTEGER AS test,
        count(*) FILTER (name IS NULL)::INTEGER AS null_names,
        count(*) FILTER (name LIKE '%日本%' OR name LIKE '%é%' OR name LIKE '%🏷️%')::INTEGER AS unicode,
        count(*) FILTER (name LIKE '%, "quoted"%')::INTEGER AS quoted,
        count(*) FILTER (score IS NULL)::INTEGER AS null_scores,
        count(DISTINCT label_id)::INTEGER AS ids
      FROM read_csv('${data.files.labels}')`);
    expect(labels.test).toBeGreaterThan(LABELS * 0.005);
    expect(labels.test).toBeLessThan(LABELS * 0.02);
    for (const key of ['null_names', 'unicode', 'quoted', 'null_scores'])
      expect(labels[key], key).toBeGreaterThan(0);
    expect(labels.ids).toBe(LABELS);

    for (const table of ['label_sublabels', 'label_urls'] as const) {
      const [child] = await query(`SELECT
          count(*) FILTER (label_id IS NULL)::INTEGER AS null_ids,
          count(*) FILTER (label_id > ${LABELS} AND label_id < 9007199254740992)::INTEGER AS orphans,
          count(*) FILTER (label_id > 9007199254740992)::INTEGER AS beyond_2_53,
          (count(label_id) - count(DISTINCT label_id))::INTEGER AS duplicates,
          count(DISTINCT label_id) FILTER (label_id <= ${LABELS})::INTEGER AS labels_used
        FROM read_csv('${data.files[table]}')`);
      for (const key of ['null_ids', 'orphans', 'beyond_2_53', 'duplicates']) {
        expect(child[key], `${table}.${key}`).toBeGreaterThan(0);
      }
      expect(child.labels_used).toBeGreaterThan(LABELS * 0.9);
    }
  });

  it("gives the seed's 3-way join rows", async () => {
    const [{ n }] = await query(`SELECT count(*)::INTEGER AS n
      FROM read_csv('${data.files.labels}') l
      JOIN read_csv('${data.files.label_sublabels}') ls ON l.label_id = ls.label_id
      JOIN read_csv('${data.files.label_urls}') lu ON l.label_id = lu.label_id
      WHERE l.name LIKE '%test%'`);
    expect(n).toBeGreaterThan(100);
  });

  it("gives the seed's own join, label_urls by sublabel_id, rows", async () => {
    const [{ n }] = await query(`SELECT count(*)::INTEGER AS n
      FROM read_csv('${data.files.labels}') l
      JOIN read_csv('${data.files.label_sublabels}') ls ON l.label_id = ls.label_id
      JOIN read_csv('${data.files.label_urls}') lu ON ls.sublabel_id = lu.sublabel_id
      WHERE l.name LIKE '%test%'`);
    expect(n).toBeGreaterThan(20);
  });
});
