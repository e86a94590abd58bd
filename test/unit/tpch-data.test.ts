/** The TPC-H generator: the same files every run, the specification's types and vocabularies. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TPCH_TABLES, type TpchData, writeTpchData } from '../../src/tools/tpch/generate.js';

const SF = 0.001;
let dir: string;
let data: TpchData;
let again: TpchData;

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
  dir = await mkdtemp(join(tmpdir(), 'tpch-data-'));
  [data, again] = await Promise.all([writeTpchData(join(dir, 'a'), SF), writeTpchData(join(dir, 'b'), SF)]);
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

it('writes the same files every run', async () => {
  for (const table of TPCH_TABLES)
    expect((await readFile(again.files[table])).equals(await readFile(data.files[table])), table).toBe(true);
});

it('scales the tables as the specification does', () => {
  expect(data.rows).toMatchObject({
    region: 5,
    nation: 25,
    supplier: 10,
    customer: 150,
    part: 200,
    partsupp: 800,
  });
  expect(data.rows.orders).toBe(1_500);
});

it('reads back with the types the queries expect', async () => {
  const types = await query(
    `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_csv('${data.files.lineitem}'))`,
  );
  expect(Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))).toMatchObject({
    l_orderkey: 'BIGINT',
    l_quantity: 'BIGINT',
    l_extendedprice: 'DOUBLE',
    l_discount: 'DOUBLE',
    l_shipdate: 'DATE',
    l_returnflag: 'VARCHAR',
  });
});

it('draws values from the specification vocabularies', async () => {
  const [part] =
    await query(`SELECT count(DISTINCT p_type)::INTEGER AS types, count(DISTINCT p_container)::INTEGER AS containers,
      count(DISTINCT p_brand)::INTEGER AS brands, bool_and(len(string_split(p_name, ' ')) = 5) AS five_colors,
      bool_and(len(list_distinct(string_split(p_name, ' '))) = 5) AS distinct_colors
    FROM read_csv('${data.files.part}')`);
  expect(part.types).toBeGreaterThan(90);
  expect(part.containers).toBeGreaterThan(35);
  expect(part).toMatchObject({ brands: 25, five_colors: true, distinct_colors: true });
  const [orders] = await query(`SELECT min(o_orderdate) >= DATE '1992-01-01' AS from_1992,
      max(o_orderdate) <= DATE '1998-08-02' AS to_august_1998, count(DISTINCT o_orderpriority)::INTEGER AS priorities,
      count(*) FILTER (o_custkey % 3 = 0)::INTEGER AS third_customers
    FROM read_csv('${data.files.orders}')`);
  expect(orders).toEqual({ from_1992: true, to_august_1998: true, priorities: 5, third_customers: 0 });
});
