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

const NATIONS: TableCatalogEntry[] = [
  ...TPCH.filter((t) => t.name !== 'nation'),
  {
    name: 'nation',
    columns: ['n_nationkey', 'n_name', 'n_regionkey'],
    types: ['INTEGER', 'VARCHAR', 'INTEGER'],
    rows: 25,
  },
  { name: 'region', columns: ['r_regionkey', 'r_name'], types: ['INTEGER', 'VARCHAR'], rows: 5 },
  {
    name: 'customer',
    columns: ['c_custkey', 'c_nationkey'],
    types: ['BIGINT', 'INTEGER'],
    rows: 150_000,
  },
];

it('a small table read twice gets a scan per reference: its keys are those of one (TPC-H Q8)', async () => {
  // n1 is narrowed by region's keys, n2 by nothing: customer takes n1's keys only.
  const a = await perReference(
    `SELECT n2.n_name FROM supplier, customer, nation n1, nation n2, region
     WHERE c_nationkey = n1.n_nationkey AND n1.n_regionkey = r_regionkey AND r_name = 'AMERICA'
       AND s_nationkey = n2.n_nationkey AND s_name LIKE 'Supplier#0000001%'`,
    NATIONS,
  );
  const nations = a.tables.filter((t) => t.table === 'nation');
  expect(nations.map((t) => t.references)).toEqual([['n1'], ['n2']]);
  const n1 = nations[0].scan ?? 'nation';
  expect(a.reductions).toContainEqual(expect.objectContaining({ table: n1, source: 'region' }));
  expect(a.reductions).toContainEqual(
    expect.objectContaining({ table: 'customer', column: 'c_nationkey', source: n1 }),
  );
});

it('with estimates of what each predicate keeps, the reductions start from the most selective scans (TPC-H Q7)', async () => {
  const q7 = `SELECT count(*) FROM supplier, lineitem, orders, customer, nation n1, nation n2
     WHERE s_suppkey = l_suppkey AND o_orderkey = l_orderkey AND c_custkey = o_orderkey
       AND s_nationkey = n1.n_nationkey AND c_nationkey = n2.n_nationkey
       AND n1.n_name IN ('FRANCE', 'GERMANY') AND n2.n_name IN ('FRANCE', 'GERMANY')
       AND l_commitdate < DATE '1995-01-01'`;
  const asked: string[] = [];
  // Each nation keeps 2 of 25 rows, lineitem's date range 30% of its rows.
  const keptRows = async (table: string, where: string) => {
    asked.push(`${table}: ${where}`);
    return table === 'nation' ? 2 : 1_800_000;
  };
  const a = await analyzeQuery(q7, NATIONS, duck, { scanPerReference: true, keptRows });
  expect(asked).toHaveLength(3);
  expect(a.tables.filter((t) => t.table === 'nation').map((t) => t.estimatedRows)).toEqual([2, 2]);
  const order = a.reductions.map((r) => `${r.table}<${r.source}`);
  // customer (12k expected by the second nation's keys) narrows orders, and both narrow
  // lineitem, instead of lineitem (144k by the first nation's suppliers) going first.
  const customer = order.findIndex((r) => r.startsWith('customer<nation'));
  const orders = order.indexOf('orders<customer');
  const lineitem = order.indexOf('lineitem<orders');
  expect(customer).toBeGreaterThanOrEqual(0);
  expect(orders).toBeGreaterThan(customer);
  expect(lineitem).toBeGreaterThan(orders);
  expect(order).toContain('lineitem<supplier');
  // Without estimates the order follows the tables' sizes, as before.
  const sized = await perReference(q7, NATIONS);
  expect(sized.reductions.map((r) => `${r.table}<${r.source}`)).not.toEqual(order);
});
