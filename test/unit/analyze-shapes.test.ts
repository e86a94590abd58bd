/**
 * The shapes analysts, dbt models and TPC-H write (issue 15): what each pushes to which scan.
 * That pushing them never changes a result is checked in analyze-differential.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  analyzeQuery,
  type DuckDbSql,
  type QueryAnalysis,
  type TableCatalogEntry,
} from '../../src/coordinator/plan/analyze/index.js';
import { CATALOG, openParser } from './analyze-helpers.js';

const TPCH: TableCatalogEntry[] = [
  {
    name: 'lineitem',
    columns: [
      'l_orderkey',
      'l_partkey',
      'l_quantity',
      'l_extendedprice',
      'l_shipdate',
      'l_shipinstruct',
      'l_shipmode',
    ],
    types: ['BIGINT', 'BIGINT', 'DECIMAL(15,2)', 'DECIMAL(15,2)', 'DATE', 'VARCHAR', 'VARCHAR'],
    rows: 60_000,
  },
  {
    name: 'orders',
    columns: ['o_orderkey', 'o_custkey', 'o_orderdate', 'o_orderpriority'],
    types: ['BIGINT', 'BIGINT', 'DATE', 'VARCHAR'],
    rows: 15_000,
  },
  {
    name: 'part',
    columns: ['p_partkey', 'p_brand', 'p_container', 'p_size'],
    types: ['BIGINT', 'VARCHAR', 'VARCHAR', 'INTEGER'],
    rows: 2_000,
  },
];

let duck: DuckDbSql;
let close: () => void;
beforeAll(async () => {
  ({ duck, close } = await openParser());
});
afterAll(() => close());

async function an(sql: string, catalog = CATALOG): Promise<QueryAnalysis> {
  return analyzeQuery(sql, catalog, duck);
}

function where(a: QueryAnalysis, table: string): string | undefined {
  return a.tables.find((t) => t.table === table)?.where;
}

function reductions(a: QueryAnalysis): string[] {
  return a.reductions.map((r) => `${r.source}.${r.sourceColumn}>${r.table}.${r.column}`);
}

describe('the demo shapes that moved whole tables', () => {
  const ON = `SELECT l.name, u.url FROM labels l JOIN label_urls u ON l.label_id = u.label_id WHERE l.name LIKE '%test%'`;

  it('gives JOIN … USING the plan of its JOIN … ON form', async () => {
    const on = await an(ON);
    const using = await an(
      `SELECT l.name, u.url FROM labels l JOIN label_urls u USING (label_id) WHERE l.name LIKE '%test%'`,
    );
    expect(using.tables).toEqual(on.tables);
    expect(using.reductions).toEqual(on.reductions);
    expect(reductions(using)).toEqual(['labels.label_id>label_urls.label_id']);
  });

  it('pushes an unqualified USING column to both sides', async () => {
    const a = await an(
      'SELECT * FROM labels l JOIN label_urls u USING (label_id) WHERE label_id BETWEEN 3 AND 5',
    );
    expect(where(a, 'labels')).toBe('(label_id BETWEEN 3 AND 5)');
    expect(where(a, 'label_urls')).toBe('(label_id BETWEEN 3 AND 5)');
  });

  it('gives a join through a CTE the plan of its JOIN … ON form', async () => {
    const on = await an(ON);
    const cte = await an(`WITH l AS (SELECT * FROM labels)
      SELECT l.name, u.url FROM l JOIN label_urls u ON l.label_id = u.label_id WHERE l.name LIKE '%test%'`);
    // The same rows; the CTE's `SELECT *` still fetches every column of labels.
    expect(cte.tables.map((t) => t.where)).toEqual(on.tables.map((t) => t.where));
    expect(cte.reductions).toEqual(on.reductions);
  });

  it('reduces by IN (SELECT …)', async () => {
    const a = await an(
      `SELECT u.url FROM label_urls u WHERE u.label_id IN (SELECT label_id FROM labels WHERE name LIKE '%test%')`,
    );
    expect(where(a, 'labels')).toBe(`("name" ~~ '%test%')`);
    expect(reductions(a)).toEqual(['labels.label_id>label_urls.label_id']);
  });

  it('keeps pushing with GROUP BY ALL and QUALIFY in a multi-table query', async () => {
    for (const sql of [
      `SELECT l.category, count(*) FROM labels l JOIN label_urls u ON l.label_id = u.label_id
        WHERE l.name LIKE '%test%' GROUP BY ALL`,
      `SELECT l.name, u.url FROM labels l JOIN label_urls u ON l.label_id = u.label_id WHERE l.name LIKE '%test%'
        QUALIFY row_number() OVER (PARTITION BY l.label_id ORDER BY u.url) = 1`,
    ]) {
      const a = await an(sql);
      expect(where(a, 'labels'), sql).toBe(`("name" ~~ '%test%')`);
      expect(reductions(a), sql).toEqual(['labels.label_id>label_urls.label_id']);
    }
  });
});

describe('CTEs and derived tables', () => {
  it('gives each table the OR of what each CTE reference implies', async () => {
    const a = await an(`WITH l AS (SELECT * FROM labels)
      SELECT * FROM l a JOIN l b ON a.label_id = b.label_id WHERE a.category = 'x' AND b.name = 'y'`);
    expect(where(a, 'labels')).toBe(`((category = 'x') OR ("name" = 'y'))`);
  });

  it('maps renamed and computed outputs, pushing only bare columns', async () => {
    const a = await an(`SELECT * FROM (SELECT label_id AS id, upper(name) AS n FROM labels) t
      WHERE t.id > 3 AND t.n = 'X'`);
    expect(where(a, 'labels')).toBe('(label_id > 3)');
  });

  it('stops at LIMIT, aggregates, windows and DISTINCT ON, and says so', async () => {
    const a = await an('SELECT * FROM (SELECT * FROM labels LIMIT 10) t WHERE t.label_id > 3');
    expect(where(a, 'labels')).toBeUndefined();
    expect(a.notes).toContain('filters on t stay above its LIMIT');
  });

  it('goes into each branch of a UNION ALL whose columns have one type', async () => {
    const a =
      await an(`WITH u AS (SELECT label_id, name FROM labels UNION ALL SELECT label_id, url FROM label_urls)
      SELECT * FROM u WHERE label_id = 3 AND name LIKE 'h%'`);
    expect(where(a, 'labels')).toBe(`((label_id = 3) AND ("name" ~~ 'h%'))`);
    expect(where(a, 'label_urls')).toBe(`((label_id = 3) AND (url ~~ 'h%'))`);
    const mixed = await an(`SELECT * FROM (SELECT label_id FROM labels UNION ALL SELECT url FROM label_urls) t
      WHERE t.label_id < '5'`);
    expect(where(mixed, 'labels')).toBeUndefined();
  });

  it('goes through a chain of CTEs', async () => {
    const a = await an(`WITH a AS (SELECT * FROM labels), b AS (SELECT label_id, name FROM a)
      SELECT * FROM b WHERE b.label_id = 7`);
    expect(where(a, 'labels')).toBe('(label_id = 7)');
  });
});

const Q19 = `SELECT sum(l_extendedprice) FROM lineitem, part
      WHERE (p_partkey = l_partkey AND p_brand = 'Brand#12' AND l_quantity BETWEEN 1 AND 11
             AND l_shipinstruct = 'DELIVER IN PERSON')
         OR (p_partkey = l_partkey AND p_brand = 'Brand#23' AND l_quantity BETWEEN 10 AND 20
             AND l_shipinstruct = 'DELIVER IN PERSON')`;

describe('TPC-H shapes', () => {
  it('pushes date ± INTERVAL arithmetic as it is (Q4, Q5, Q10, Q12)', async () => {
    const a = await an(
      `SELECT o_orderpriority, count(*) FROM orders WHERE o_orderdate >= DATE '1993-07-01'
        AND o_orderdate < DATE '1993-07-01' + INTERVAL '3' MONTH
        AND EXISTS (SELECT * FROM lineitem WHERE l_orderkey = o_orderkey AND l_shipdate > o_orderdate)
        GROUP BY o_orderpriority ORDER BY o_orderpriority`,
      TPCH,
    );
    expect(where(a, 'orders')).toMatch(
      /^\(o_orderdate >= CAST\('1993-07-01' AS DATE\)\) AND \(o_orderdate < /,
    );
    expect(where(a, 'orders')).toContain('to_months');
    expect(reductions(a)).toEqual(['orders.o_orderkey>lineitem.l_orderkey']);
  });

  it('factors an OR of ANDs (Q19): shared conjuncts, and each table its own OR', async () => {
    const a = await an(Q19, TPCH);
    expect(where(a, 'part')).toBe(`((p_brand = 'Brand#12') OR (p_brand = 'Brand#23'))`);
    expect(where(a, 'lineitem')).toBe(
      `((l_quantity BETWEEN 1 AND 11) OR (l_quantity BETWEEN 10 AND 20)) AND (l_shipinstruct = 'DELIVER IN PERSON')`,
    );
    // Both sides are filtered: the smaller table's keys narrow the larger one.
    expect(reductions(a)).toEqual(['part.p_partkey>lineitem.l_partkey']);
    const unsized = await an(
      Q19,
      TPCH.map(({ rows: _, ...t }) => t),
    );
    expect(reductions(unsized)).toEqual(['lineitem.l_partkey>part.p_partkey']);
  });

  it('infers filters across join equalities', async () => {
    const a = await an(
      'SELECT * FROM orders, lineitem WHERE o_orderkey = l_orderkey AND o_orderkey BETWEEN 10 AND 20',
      TPCH,
    );
    expect(where(a, 'orders')).toBe('(o_orderkey BETWEEN 10 AND 20)');
    expect(where(a, 'lineitem')).toBe('(l_orderkey BETWEEN 10 AND 20)');
  });

  it('does not infer across an outer join or between different types', async () => {
    const outer = await an(
      'SELECT * FROM orders LEFT JOIN lineitem ON o_orderkey = l_orderkey WHERE o_orderkey = 5 AND l_quantity > 1',
      TPCH,
    );
    expect(where(outer, 'lineitem')).toBeUndefined();
    expect(outer.notes).toEqual([
      'a WHERE filter on lineitem stays above the outer join that NULL-extends it',
    ]);
    const typed = await an('SELECT * FROM part, lineitem WHERE p_size = l_partkey AND p_size = 5', TPCH);
    expect(where(typed, 'lineitem')).toBeUndefined();
  });

  it("reduces a correlated subquery's table by the outer query's keys (Q17)", async () => {
    const a = await an(
      `SELECT sum(l_extendedprice) / 7.0 FROM lineitem, part
      WHERE p_partkey = l_partkey AND p_brand = 'Brand#23' AND p_container = 'MED BOX'
        AND l_quantity < (SELECT 0.2 * avg(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)`,
      TPCH,
    );
    expect(where(a, 'part')).toBe(`(p_brand = 'Brand#23') AND (p_container = 'MED BOX')`);
    expect(reductions(a)).toEqual(['part.p_partkey>lineitem.l_partkey']);
  });
});
