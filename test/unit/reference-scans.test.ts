/** The analyzer's scans per group of references (reference-scans.ts): which references share a scan, and the reductions between them. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  analyzeQuery,
  type DuckDbSql,
  type TableCatalogEntry,
} from '../../src/coordinator/plan/analyze/index.js';
import { CATALOG, openParser } from './analyze-helpers.js';

let duck: DuckDbSql;
let close: () => void;

beforeAll(async () => {
  ({ duck, close } = await openParser());
});
afterAll(() => close());

const TPCH: TableCatalogEntry[] = [
  {
    name: 'lineitem',
    columns: ['l_orderkey', 'l_suppkey', 'l_commitdate', 'l_receiptdate'],
    types: ['BIGINT', 'BIGINT', 'DATE', 'DATE'],
    rows: 6_000_000,
  },
  { name: 'orders', columns: ['o_orderkey', 'o_orderstatus'], types: ['BIGINT', 'VARCHAR'], rows: 1_500_000 },
  {
    name: 'supplier',
    columns: ['s_suppkey', 's_name', 's_nationkey'],
    types: ['BIGINT', 'VARCHAR', 'INTEGER'],
    rows: 10_000,
  },
  { name: 'nation', columns: ['n_nationkey', 'n_name'], types: ['INTEGER', 'VARCHAR'], rows: 25 },
];

/** The analysis of `sql` with a scan per reference where references want different rows. */
const perReference = (sql: string, catalog = CATALOG) =>
  analyzeQuery(sql, catalog, duck, { scanPerReference: true });

const Q21 = `SELECT s_name, count(*) AS numwait FROM supplier, lineitem l1, orders, nation
  WHERE s_suppkey = l1.l_suppkey AND o_orderkey = l1.l_orderkey AND o_orderstatus = 'F'
    AND l1.l_receiptdate > l1.l_commitdate AND s_nationkey = n_nationkey AND n_name = 'SAUDI ARABIA'
    AND EXISTS (SELECT * FROM lineitem l2 WHERE l2.l_orderkey = l1.l_orderkey AND l2.l_suppkey <> l1.l_suppkey)
    AND NOT EXISTS (SELECT * FROM lineitem l3 WHERE l3.l_orderkey = l1.l_orderkey
      AND l3.l_suppkey <> l1.l_suppkey AND l3.l_receiptdate > l3.l_commitdate)
  GROUP BY s_name ORDER BY numwait DESC, s_name LIMIT 100`;

it("Q21: l1 gets its own scan; l2 and l3, reduced by the same keys (l1's), share one", async () => {
  const a = await perReference(Q21, TPCH);
  const lineitem = a.tables.filter((t) => t.table === 'lineitem');
  // l3's filter is applied again in the coordinator's SQL over the shared scan.
  expect(lineitem.map((t) => [t.scan, t.references, t.where, t.distinct])).toEqual([
    [undefined, ['l1'], '(l_receiptdate > l_commitdate)', undefined],
    ['lineitem#2', ['l2', 'l3'], undefined, true],
  ]);
  expect(a.reductions).toContainEqual({
    table: 'lineitem#2',
    column: 'l_orderkey',
    source: 'lineitem',
    sourceColumn: 'l_orderkey',
  });
  expect(a.sql).toContain('"temp".main."lineitem#2" AS l2');
  expect(a.sql).toContain('"temp".main."lineitem#2" AS l3');
  expect(a.references.find((r) => r.binding === 'l3')?.scan).toBe('lineitem#2');
});

it('a self-join reduced by its other side keeps a scan per side, though both have the same reducers', async () => {
  const a = await perReference(
    `SELECT * FROM labels a JOIN labels b ON a.label_id = b.label_id WHERE a.name = 'x' AND b.category = 'y'`,
  );
  const labels = a.tables.filter((t) => t.table === 'labels');
  expect(labels.map((t) => t.where)).toEqual(['("name" = \'x\')', "(category = 'y')"]);
  expect(a.reductions.map((r) => [r.table, r.source])).toContainEqual(['labels#2', 'labels']);
});

it('references reduced by the same keys with different filters share a scan, with the OR of their filters', async () => {
  const a = await perReference(`SELECT * FROM labels l, labels m, label_urls u
      WHERE l.label_id = u.label_id AND m.label_id = u.label_id AND u.url = 'z' AND l.name = 'x' AND m.name = 'y'`);
  const labels = a.tables.filter((t) => t.table === 'labels');
  expect(labels).toHaveLength(1);
  expect(labels[0].where).toBe(`("name" = 'x') OR ("name" = 'y')`);
});

it('without the option, a table keeps one scan', async () => {
  const a = await analyzeQuery(Q21, TPCH, duck);
  expect(a.tables.filter((t) => t.table === 'lineitem')).toHaveLength(1);
  expect(a.sql).toBeUndefined();
});

it('references that want the same rows share a scan', async () => {
  const a = await perReference(
    `SELECT * FROM labels a JOIN labels b ON a.label_id = b.label_id WHERE a.name = 'x' AND b.name = 'x'`,
  );
  expect(a.tables.filter((t) => t.table === 'labels')).toHaveLength(1);
  expect(a.sql).toBeUndefined();
});

it('a reference that wants every row keeps its table in one scan', async () => {
  const a = await perReference(
    `SELECT * FROM labels a JOIN labels b ON a.category = b.name WHERE a.name = 'x'`,
  );
  // b is reduced by a's keys (a is filtered): the two want different rows.
  expect(a.tables.filter((t) => t.table === 'labels')).toHaveLength(2);
  const whole = await perReference(`SELECT * FROM labels a, labels b WHERE a.name = 'x'`);
  expect(whole.tables.filter((t) => t.table === 'labels')).toHaveLength(1);
});

it('an unaliased reference keeps its name as the alias, and `main.t.c` keeps one scan', async () => {
  const a = await perReference(
    `SELECT * FROM labels l WHERE l.name = 'x' AND l.label_id IN (SELECT label_id FROM labels WHERE labels.category = 'y')`,
  );
  expect(a.sql).toContain('"temp".main."labels#2" AS labels');
  const qualified = await perReference(
    `SELECT * FROM labels l WHERE l.name = 'x' AND l.label_id IN (SELECT label_id FROM labels WHERE main.labels.category = 'y')`,
  );
  expect(qualified.sql).toBeUndefined();
  expect(qualified.notes.join(' ')).toMatch(/one scan for the references of labels/);
});

it('a small table keeps one scan', async () => {
  const small = CATALOG.map((t) => ({ ...t, rows: 1_000 }));
  const a = await perReference(
    `SELECT * FROM labels a JOIN labels b ON a.category = b.name WHERE a.name = 'x'`,
    small,
  );
  expect(a.tables.filter((t) => t.table === 'labels')).toHaveLength(1);
});
