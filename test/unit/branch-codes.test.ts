/** Reductions whose keys carry the branches of an OR their rows satisfy (branch-codes.ts). */
import { expect, it } from 'vitest';
import { analyzeQuery, type TableCatalogEntry } from '../../src/coordinator/plan/analyze/index.js';
import { parserForFile, catalogTable as table } from './analyze-helpers.js';

const duck = parserForFile();

const TPCH: TableCatalogEntry[] = [
  table('part', 200_000, { p_partkey: 'BIGINT', p_brand: 'VARCHAR', p_size: 'INTEGER', p_name: 'VARCHAR' }),
  table('lineitem', 6_000_000, {
    l_partkey: 'BIGINT',
    l_quantity: 'DECIMAL(15,2)',
    l_shipmode: 'VARCHAR',
    l_comment: 'VARCHAR',
  }),
];

const Q19 = `SELECT sum(l_quantity) FROM lineitem, part
  WHERE (p_partkey = l_partkey AND p_brand = 'Brand#12' AND l_quantity BETWEEN 1 AND 11
         AND p_size BETWEEN 1 AND 5 AND l_shipmode IN ('AIR', 'AIR REG'))
     OR (p_partkey = l_partkey AND p_brand = 'Brand#23' AND l_quantity BETWEEN 10 AND 20
         AND p_size BETWEEN 1 AND 10 AND l_shipmode IN ('AIR', 'AIR REG'))`;

const codes = async (sql: string) => (await analyzeQuery(sql, TPCH, duck)).branchCodes ?? [];

it("Q19's shape: lineitem's part keys carry the branches their parts satisfy", async () => {
  const [code, ...more] = await codes(Q19);
  expect(more).toEqual([]);
  expect(code).toMatchObject({
    table: 'lineitem',
    column: 'l_partkey',
    source: 'part',
    sourceColumn: 'p_partkey',
  });
  expect(code.sourceBranches).toHaveLength(2);
  expect(code.sourceBranches[0]).toMatch(/Brand#12/);
  expect(code.sourceBranches[0]).toMatch(/p_size/);
  expect(code.sourceBranches[1]).toMatch(/Brand#23/);
  expect(code.branches[0]).toMatch(/l_quantity/);
  expect(code.branches[0]).not.toMatch(/l_shipmode/); // shared by both branches: a filter of its own
  expect(code.branches.join(' ')).not.toMatch(/p_/);
  expect(code.sourceBranches.join(' ')).not.toMatch(/l_/);
});

it('JOIN … ON, a branch saying nothing of part: TRUE there, and the codes go the way the keys go', async () => {
  const [code] = await codes(`SELECT count(*) FROM lineitem JOIN part ON p_partkey = l_partkey
    WHERE (p_brand = 'Brand#12' AND l_quantity < 5) OR (l_quantity > 40)`);
  // Part has no filter of its own here: lineitem's keys narrow it, coded by lineitem's branches.
  expect(code).toMatchObject({ table: 'part', column: 'p_partkey', source: 'lineitem' });
  expect(code.sourceBranches[1]).toMatch(/l_quantity > 40/);
  expect(code.branches).toEqual([expect.stringMatching(/Brand#12/), 'true']);
});

it('no code where a side is NULL-extended, the OR is not of both, or no equality joins them', async () => {
  const none = [
    `SELECT count(*) FROM lineitem LEFT JOIN part ON p_partkey = l_partkey
      WHERE (p_brand = 'Brand#12' AND l_quantity < 5) OR (p_brand = 'Brand#23' AND l_quantity > 40)`,
    `SELECT count(*) FROM lineitem, part WHERE p_partkey = l_partkey
      AND ((l_quantity < 5) OR (l_quantity > 40))`,
    `SELECT count(*) FROM lineitem, part WHERE p_size = 1
      AND ((p_brand = 'Brand#12' AND l_quantity < 5) OR (p_brand = 'Brand#23' AND l_quantity > 40))`,
    `SELECT count(*) FROM lineitem, part WHERE p_partkey = l_partkey
      AND ((p_brand = 'Brand#12' AND l_quantity < 5) OR (p_brand = 'Brand#23'))`,
  ];
  for (const sql of none) {
    const found = await codes(sql);
    // The last one codes part's keys for lineitem only if lineitem's branches say something in each.
    expect(found.filter((c) => c.table === 'lineitem' && c.branches.every((b) => b !== 'true'))).toEqual([]);
  }
});

it("an OR in an INNER join's ON codes keys as one in the WHERE does; not in a LEFT join's ON", async () => {
  const branches = `((p_brand = 'Brand#12' AND l_quantity < 5) OR (p_brand = 'Brand#23' AND l_quantity > 40))`;
  const [inner] = await codes(
    `SELECT count(*) FROM lineitem JOIN part ON p_partkey = l_partkey AND ${branches} WHERE p_size < 10`,
  );
  expect(inner).toMatchObject({ column: 'l_partkey', sourceColumn: 'p_partkey' });
  expect(inner.branches.join(' ')).toMatch(/l_quantity < 5.*l_quantity > 40/);
  const left = await codes(
    `SELECT count(*) FROM part LEFT JOIN lineitem ON p_partkey = l_partkey AND ${branches} WHERE p_size < 10`,
  );
  expect(left).toEqual([]);
});

it('an OR inside a subquery codes the keys of its own FROM only', async () => {
  const found = await codes(`SELECT count(*) FROM part p WHERE EXISTS (
      SELECT 1 FROM lineitem, part q WHERE l_partkey = q.p_partkey AND l_partkey = p.p_partkey
        AND ((q.p_brand = 'Brand#12' AND l_quantity < 5) OR (q.p_size = 3 AND l_quantity > 40)))`);
  for (const c of found) expect([c.table, c.source].sort()).toEqual(['lineitem', 'part']);
});
