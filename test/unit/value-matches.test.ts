/** Reductions that carry values where a cycle of equalities closes (value-matches.ts). */
import { expect, it } from 'vitest';
import { analyzeQuery, type TableCatalogEntry } from '../../src/coordinator/plan/analyze/index.js';
import { parserForFile, catalogTable as table } from './analyze-helpers.js';

const duck = parserForFile();

const TPCH: TableCatalogEntry[] = [
  table('customer', 150_000, { c_custkey: 'BIGINT', c_nationkey: 'INTEGER', c_name: 'VARCHAR' }),
  table('orders', 1_500_000, { o_orderkey: 'BIGINT', o_custkey: 'BIGINT', o_orderdate: 'DATE' }),
  table('lineitem', 6_000_000, { l_orderkey: 'BIGINT', l_suppkey: 'BIGINT', l_extendedprice: 'DOUBLE' }),
  table('supplier', 10_000, { s_suppkey: 'BIGINT', s_nationkey: 'INTEGER' }),
  table('nation', 25, { n_nationkey: 'INTEGER', n_regionkey: 'INTEGER', n_name: 'VARCHAR' }),
  table('region', 5, { r_regionkey: 'INTEGER', r_name: 'VARCHAR' }),
];

const Q5 = `SELECT n_name, sum(l_extendedprice) AS revenue
  FROM customer, orders, lineitem, supplier, nation, region
  WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND l_suppkey = s_suppkey
    AND c_nationkey = s_nationkey AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey
    AND r_name = 'ASIA' AND o_orderdate >= DATE '1994-01-01'
  GROUP BY n_name`;

const matches = async (sql: string) => (await analyzeQuery(sql, TPCH, duck)).valueMatches ?? [];

it("Q5: lineitem's order keys carry their customer's nation, its supplier keys their own", async () => {
  const [match, ...more] = await matches(Q5);
  expect(more).toEqual([]);
  expect(match.table).toBe('lineitem');
  const bySource = Object.fromEntries(match.sides.map((s) => [s.source, s]));
  expect(bySource.orders).toMatchObject({
    column: 'l_orderkey',
    sourceColumn: 'o_orderkey',
    via: { column: 'o_custkey', scan: 'customer', key: 'c_custkey' },
    value: 'c_nationkey',
  });
  expect(bySource.supplier).toMatchObject({
    column: 'l_suppkey',
    sourceColumn: 's_suppkey',
    value: 's_nationkey',
  });
  expect(bySource.supplier.via).toBeUndefined();
});

it('the same cycle written with JOIN … ON and USING-free inner joins matches too', async () => {
  const sql = `SELECT count(*) FROM lineitem
    JOIN orders ON l_orderkey = o_orderkey JOIN customer ON o_custkey = c_custkey
    JOIN supplier ON l_suppkey = s_suppkey AND s_nationkey = c_nationkey
    WHERE o_orderdate >= DATE '1994-01-01' AND c_name LIKE 'C%'`;
  expect((await matches(sql)).map((m) => m.table)).toEqual(['lineitem']);
});

it('no match where a use is on the null-supplying side, or the cycle does not close in one FROM', async () => {
  const left = `SELECT count(*) FROM lineitem JOIN orders ON l_orderkey = o_orderkey
    LEFT JOIN customer ON o_custkey = c_custkey
    JOIN supplier ON l_suppkey = s_suppkey AND s_nationkey = c_nationkey
    WHERE o_orderdate >= DATE '1994-01-01'`;
  expect(await matches(left)).toEqual([]);
  const open = `SELECT count(*) FROM customer, orders, lineitem, supplier
    WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND l_suppkey = s_suppkey
      AND o_orderdate >= DATE '1994-01-01' AND s_nationkey = 3`;
  expect(await matches(open)).toEqual([]);
  const elsewhere = `SELECT count(*) FROM orders, lineitem, supplier
    WHERE l_orderkey = o_orderkey AND l_suppkey = s_suppkey AND o_orderdate >= DATE '1994-01-01'
      AND EXISTS (SELECT 1 FROM customer WHERE c_custkey = o_custkey AND c_nationkey = s_nationkey)`;
  expect(await matches(elsewhere)).toEqual([]);
});

it('a value compared with a different type is not matched (the keys would cast)', async () => {
  const catalog = TPCH.map((t) => (t.name === 'supplier' ? { ...t, types: ['BIGINT', 'BIGINT'] } : t));
  const a = await analyzeQuery(Q5, catalog, duck);
  expect(a.valueMatches ?? []).toEqual([]);
});
