/** The order of semi-join reductions with the containers' estimates of their predicates' rows (reductions.ts). */
import { describe, expect, it } from 'vitest';
import type { SemiJoinReduction, TableScanPlan } from '../../src/coordinator/plan/analyze/index.js';
import { chooseReductions } from '../../src/coordinator/plan/analyze/reductions.js';

const ROWS: Record<string, number> = {
  region: 5,
  nation: 25,
  supplier: 10_000,
  customer: 150_000,
  part: 200_000,
  partsupp: 800_000,
  orders: 1_500_000,
  lineitem: 6_000_000,
};

/** A scan of `table` (named `scan` where not the table's), filtered where `where` is given. */
const plan = (table: string, where?: string, scan?: string): TableScanPlan => ({
  table,
  ...(scan && { scan }),
  columns: [],
  ...(where && { where }),
});

/** `table.column IN (keys of source.sourceColumn)` both ways. */
const join = (a: string, ac: string, b: string, bc: string): SemiJoinReduction[] => [
  { table: a, column: ac, source: b, sourceColumn: bc },
  { table: b, column: bc, source: a, sourceColumn: ac },
];

const named = (reductions: SemiJoinReduction[]) =>
  reductions.map((r) => `${r.table}.${r.column}<${r.source}`);
const rows = (scan: string) => ROWS[scan.replace(/#\d+$/, '')];

// TPC-H Q8's joins (n1 the customer's nation, n2 the supplier's).
const Q8_TABLES = [
  plan('part', "p_type = 'ECONOMY ANODIZED STEEL'"),
  plan('supplier'),
  plan('lineitem'),
  plan('orders', 'o_orderdate BETWEEN …'),
  plan('customer'),
  plan('nation'),
  plan('nation', undefined, 'nation#2'),
  plan('region', "r_name = 'AMERICA'"),
];
const Q8_JOINS = [
  ...join('lineitem', 'l_partkey', 'part', 'p_partkey'),
  ...join('lineitem', 'l_suppkey', 'supplier', 's_suppkey'),
  ...join('lineitem', 'l_orderkey', 'orders', 'o_orderkey'),
  ...join('orders', 'o_custkey', 'customer', 'c_custkey'),
  ...join('customer', 'c_nationkey', 'nation', 'n_nationkey'),
  ...join('nation', 'n_regionkey', 'region', 'r_regionkey'),
  ...join('supplier', 's_nationkey', 'nation#2', 'n_nationkey'),
];

describe('chooseReductions with estimates', () => {
  it('starts from the most selective chain and takes keys of two independent ones (TPC-H Q8)', () => {
    const kept = new Map([
      ['part', 1_339],
      ['orders', 457_000],
      ['region', 1],
    ]);
    const order = named(chooseReductions(Q8_TABLES, Q8_JOINS, rows, new Set(), kept));
    // lineitem by part's keys; orders by lineitem's and by customer's (one region's nations).
    expect(order).toContain('lineitem.l_partkey<part');
    expect(order).toContain('customer.c_nationkey<nation');
    expect(order).toContain('nation.n_regionkey<region');
    expect(order).toContain('orders.o_orderkey<lineitem');
    expect(order).toContain('orders.o_custkey<customer');
    expect(order.indexOf('orders.o_orderkey<lineitem')).toBeGreaterThan(
      order.indexOf('lineitem.l_partkey<part'),
    );
    expect(order).not.toContain('lineitem.l_orderkey<orders');
    expect(order).not.toContain('customer.c_custkey<orders');
  });

  it('lets a selective date range wait for customers of one region where those narrow more (TPC-H Q5)', () => {
    const tables = [
      plan('customer'),
      plan('orders', 'o_orderdate >= …'),
      plan('lineitem'),
      plan('supplier'),
      plan('nation'),
      plan('region', "r_name = 'ASIA'"),
    ];
    const joins = [
      ...join('orders', 'o_custkey', 'customer', 'c_custkey'),
      ...join('lineitem', 'l_orderkey', 'orders', 'o_orderkey'),
      ...join('lineitem', 'l_suppkey', 'supplier', 's_suppkey'),
      ...join('customer', 'c_nationkey', 'nation', 'n_nationkey'),
      ...join('supplier', 's_nationkey', 'nation', 'n_nationkey'),
      ...join('nation', 'n_regionkey', 'region', 'r_regionkey'),
    ];
    const kept = new Map([
      ['orders', 228_000],
      ['region', 1],
    ]);
    const order = named(chooseReductions(tables, joins, rows, new Set(), kept));
    expect(order.indexOf('orders.o_custkey<customer')).toBeGreaterThan(
      order.indexOf('customer.c_nationkey<nation'),
    );
    expect(order.indexOf('lineitem.l_orderkey<orders')).toBeGreaterThan(
      order.indexOf('orders.o_custkey<customer'),
    );
    // supplier is no deeper in its chain than orders: lineitem takes its keys too.
    expect(order).toContain('lineitem.l_suppkey<supplier');
  });

  it('takes no keys of a source deeper in a chain narrowed by the same predicate (TPC-H Q20)', () => {
    const tables = [
      plan('part', "p_name LIKE 'forest%'"),
      plan('partsupp'),
      plan('lineitem', 'l_shipdate >= …'),
    ];
    const joins = [
      ...join('partsupp', 'ps_partkey', 'part', 'p_partkey'),
      ...join('lineitem', 'l_partkey', 'part', 'p_partkey'),
      ...join('lineitem', 'l_partkey', 'partsupp', 'ps_partkey'),
      ...join('lineitem', 'l_suppkey', 'partsupp', 'ps_suppkey'),
    ];
    const kept = new Map([
      ['part', 2_085],
      ['lineitem', 900_000],
    ]);
    const order = named(chooseReductions(tables, joins, rows, new Set(), kept));
    expect(order).toContain('partsupp.ps_partkey<part');
    expect(order).toContain('lineitem.l_partkey<part');
    expect(order.filter((r) => r.startsWith('lineitem.') && r.endsWith('<partsupp'))).toEqual([]);
  });

  it('keeps to the tables’ sizes where a filtered scan has no estimate', () => {
    const kept = new Map([['part', 1_339]]);
    expect(chooseReductions(Q8_TABLES, Q8_JOINS, rows, new Set(), kept)).toEqual(
      chooseReductions(Q8_TABLES, Q8_JOINS, rows),
    );
  });
});
