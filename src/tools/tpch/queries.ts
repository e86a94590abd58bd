/**
 * The 22 TPC-H queries (specification 3.0, clause 2.4) with the validation substitution
 * parameters, as DuckDB SQL. Q15's view is a CTE. Q11's fraction depends on the scale factor.
 *
 * `ordered`: the ORDER BY orders rows totally by values both engines compute alike, so the rows
 * must come in that order; elsewhere (a double sum first, where summation order moves the last
 * bits) the rows are compared as a multiset. `perfect` counts, per table reference, the rows a
 * perfect pushdown of the query's filters and join keys would move: the rows that survive their
 * own filters and semi-joins with every other reference (Yannakakis' full reduction), counted
 * as distinct rowids of that reference in the joins that give the query's rows.
 */
export interface TpchQuery {
  id: number;
  sql: string;
  ordered: boolean;
  /** One row: a column per table reference, the rows it must move. */
  perfect: string;
}

/** count(DISTINCT alias.rowid) AS "label" for each `label: alias` (label defaults to the alias). */
function survivors(refs: Record<string, string>, from: string): string {
  const counts = Object.entries(refs).map(([label, alias]) => `count(DISTINCT ${alias}.rowid) AS "${label}"`);
  return `SELECT ${counts.join(', ')} ${from}`;
}

/** Several `survivors` results side by side (for a query whose subqueries join other tables). */
function sideBySide(...parts: string[]): string {
  return `SELECT * FROM ${parts.map((p, i) => `(${p}) p${i}`).join(', ')}`;
}

const Q2_FROM = `FROM part, supplier, partsupp, nation, region
  WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey AND p_size = 15 AND p_type LIKE '%BRASS'
    AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey AND r_name = 'EUROPE'`;
const Q3_FROM = `FROM customer, orders, lineitem
  WHERE c_mktsegment = 'BUILDING' AND c_custkey = o_custkey AND l_orderkey = o_orderkey
    AND o_orderdate < DATE '1995-03-15' AND l_shipdate > DATE '1995-03-15'`;
const Q5_FROM = `FROM customer, orders, lineitem, supplier, nation, region
  WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND l_suppkey = s_suppkey
    AND c_nationkey = s_nationkey AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey
    AND r_name = 'ASIA' AND o_orderdate >= DATE '1994-01-01' AND o_orderdate < DATE '1994-01-01' + INTERVAL '1' YEAR`;
const Q6_WHERE = `WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1994-01-01' + INTERVAL '1' YEAR
    AND l_discount BETWEEN 0.06 - 0.01 AND 0.06 + 0.01 AND l_quantity < 24`;
const Q7_FROM = `FROM supplier, lineitem, orders, customer, nation n1, nation n2
  WHERE s_suppkey = l_suppkey AND o_orderkey = l_orderkey AND c_custkey = o_custkey
    AND s_nationkey = n1.n_nationkey AND c_nationkey = n2.n_nationkey
    AND ((n1.n_name = 'FRANCE' AND n2.n_name = 'GERMANY') OR (n1.n_name = 'GERMANY' AND n2.n_name = 'FRANCE'))
    AND l_shipdate BETWEEN DATE '1995-01-01' AND DATE '1996-12-31'`;
const Q8_FROM = `FROM part, supplier, lineitem, orders, customer, nation n1, nation n2, region
  WHERE p_partkey = l_partkey AND s_suppkey = l_suppkey AND l_orderkey = o_orderkey
    AND o_custkey = c_custkey AND c_nationkey = n1.n_nationkey AND n1.n_regionkey = r_regionkey
    AND r_name = 'AMERICA' AND s_nationkey = n2.n_nationkey
    AND o_orderdate BETWEEN DATE '1995-01-01' AND DATE '1996-12-31' AND p_type = 'ECONOMY ANODIZED STEEL'`;
const Q9_FROM = `FROM part, supplier, lineitem, partsupp, orders, nation
  WHERE s_suppkey = l_suppkey AND ps_suppkey = l_suppkey AND ps_partkey = l_partkey
    AND p_partkey = l_partkey AND o_orderkey = l_orderkey AND s_nationkey = n_nationkey
    AND p_name LIKE '%green%'`;
const Q10_FROM = `FROM customer, orders, lineitem, nation
  WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND o_orderdate >= DATE '1993-10-01'
    AND o_orderdate < DATE '1993-10-01' + INTERVAL '3' MONTH AND l_returnflag = 'R' AND c_nationkey = n_nationkey`;
const Q11_FROM = `FROM partsupp, supplier, nation
  WHERE ps_suppkey = s_suppkey AND s_nationkey = n_nationkey AND n_name = 'GERMANY'`;
const Q12_FROM = `FROM orders, lineitem
  WHERE o_orderkey = l_orderkey AND l_shipmode IN ('MAIL', 'SHIP') AND l_commitdate < l_receiptdate
    AND l_shipdate < l_commitdate AND l_receiptdate >= DATE '1994-01-01'
    AND l_receiptdate < DATE '1994-01-01' + INTERVAL '1' YEAR`;
const Q14_FROM = `FROM lineitem, part
  WHERE l_partkey = p_partkey AND l_shipdate >= DATE '1995-09-01'
    AND l_shipdate < DATE '1995-09-01' + INTERVAL '1' MONTH`;
const Q15_WHERE = `WHERE l_shipdate >= DATE '1996-01-01' AND l_shipdate < DATE '1996-01-01' + INTERVAL '3' MONTH`;
const Q16_FROM = `FROM partsupp, part
  WHERE p_partkey = ps_partkey AND p_brand <> 'Brand#45' AND p_type NOT LIKE 'MEDIUM POLISHED%'
    AND p_size IN (49, 14, 23, 45, 19, 3, 36, 9)
    AND ps_suppkey NOT IN (SELECT s_suppkey FROM supplier WHERE s_comment LIKE '%Customer%Complaints%')`;
const Q17_FROM = `FROM lineitem, part
  WHERE p_partkey = l_partkey AND p_brand = 'Brand#23' AND p_container = 'MED BOX'`;
const Q18_IN = 'SELECT l_orderkey FROM lineitem GROUP BY l_orderkey HAVING sum(l_quantity) > 300';
const Q18_FROM = `FROM customer, orders, lineitem
  WHERE o_orderkey IN (${Q18_IN}) AND c_custkey = o_custkey AND o_orderkey = l_orderkey`;
const q19Branch = (brand: string, containers: string, quantity: number, sizes: number) =>
  `(p_partkey = l_partkey AND p_brand = '${brand}' AND p_container IN (${containers})
      AND l_quantity >= ${quantity} AND l_quantity <= ${quantity} + 10 AND p_size BETWEEN 1 AND ${sizes}
      AND l_shipmode IN ('AIR', 'AIR REG') AND l_shipinstruct = 'DELIVER IN PERSON')`;
const Q19_FROM = `FROM lineitem, part
  WHERE ${q19Branch('Brand#12', "'SM CASE', 'SM BOX', 'SM PACK', 'SM PKG'", 1, 5)}
    OR ${q19Branch('Brand#23', "'MED BAG', 'MED BOX', 'MED PKG', 'MED PACK'", 10, 10)}
    OR ${q19Branch('Brand#34', "'LG CASE', 'LG BOX', 'LG PACK', 'LG PKG'", 20, 15)}`;
const Q20_PARTSUPP = `FROM partsupp WHERE ps_partkey IN (SELECT p_partkey FROM part WHERE p_name LIKE 'forest%')
    AND ps_availqty > (SELECT 0.5 * sum(l_quantity) FROM lineitem WHERE l_partkey = ps_partkey
      AND l_suppkey = ps_suppkey AND l_shipdate >= DATE '1994-01-01'
      AND l_shipdate < DATE '1994-01-01' + INTERVAL '1' YEAR)`;
const Q20_FROM = `FROM supplier, nation
  WHERE s_suppkey IN (SELECT ps_suppkey ${Q20_PARTSUPP}) AND s_nationkey = n_nationkey AND n_name = 'CANADA'`;
const Q21_JOIN = `FROM supplier, lineitem l1, orders, nation
  WHERE s_suppkey = l1.l_suppkey AND o_orderkey = l1.l_orderkey AND o_orderstatus = 'F'
    AND l1.l_receiptdate > l1.l_commitdate AND s_nationkey = n_nationkey AND n_name = 'SAUDI ARABIA'`;
const Q21_FROM = `${Q21_JOIN}
    AND EXISTS (SELECT * FROM lineitem l2 WHERE l2.l_orderkey = l1.l_orderkey AND l2.l_suppkey <> l1.l_suppkey)
    AND NOT EXISTS (SELECT * FROM lineitem l3 WHERE l3.l_orderkey = l1.l_orderkey
      AND l3.l_suppkey <> l1.l_suppkey AND l3.l_receiptdate > l3.l_commitdate)`;
const Q22_CODES = "substring(c_phone FROM 1 FOR 2) IN ('13', '31', '23', '29', '30', '18', '17')";
const Q22_AVG = `SELECT avg(c_acctbal) FROM customer WHERE c_acctbal > 0.00 AND ${Q22_CODES}`;
const Q22_FROM = `FROM customer WHERE ${Q22_CODES} AND c_acctbal > (${Q22_AVG})
    AND NOT EXISTS (SELECT * FROM orders WHERE o_custkey = c_custkey)`;

const REVENUE = 'sum(l_extendedprice * (1 - l_discount))';

/** The 22 queries at scale factor `sf` (which sets Q11's fraction, 0.0001 / SF). */
export function tpchQueries(sf: number): TpchQuery[] {
  return [
    {
      id: 1,
      ordered: true,
      sql: `SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty, sum(l_extendedprice) AS sum_base_price,
    ${REVENUE} AS sum_disc_price, sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
    avg(l_quantity) AS avg_qty, avg(l_extendedprice) AS avg_price, avg(l_discount) AS avg_disc, count(*) AS count_order
  FROM lineitem WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL '90' DAY
  GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus`,
      perfect: survivors(
        { lineitem: 'lineitem' },
        `FROM lineitem WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL '90' DAY`,
      ),
    },
    {
      id: 2,
      ordered: true,
      sql: `SELECT s_acctbal, s_name, n_name, p_partkey, p_mfgr, s_address, s_phone, s_comment ${Q2_FROM}
    AND ps_supplycost = (SELECT min(ps_supplycost) FROM partsupp, supplier, nation, region
      WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey AND s_nationkey = n_nationkey
        AND n_regionkey = r_regionkey AND r_name = 'EUROPE')
  ORDER BY s_acctbal DESC, n_name, s_name, p_partkey LIMIT 100`,
      // The subquery's partsupp rows are those of the outer join (same filters and keys).
      perfect: survivors(
        { part: 'part', supplier: 'supplier', partsupp: 'partsupp', nation: 'nation', region: 'region' },
        Q2_FROM,
      ),
    },
    {
      id: 3,
      ordered: false,
      sql: `SELECT l_orderkey, ${REVENUE} AS revenue, o_orderdate, o_shippriority ${Q3_FROM}
  GROUP BY l_orderkey, o_orderdate, o_shippriority ORDER BY revenue DESC, o_orderdate LIMIT 10`,
      perfect: survivors({ customer: 'customer', orders: 'orders', lineitem: 'lineitem' }, Q3_FROM),
    },
    {
      id: 4,
      ordered: true,
      sql: `SELECT o_orderpriority, count(*) AS order_count FROM orders
  WHERE o_orderdate >= DATE '1993-07-01' AND o_orderdate < DATE '1993-07-01' + INTERVAL '3' MONTH
    AND EXISTS (SELECT * FROM lineitem WHERE l_orderkey = o_orderkey AND l_commitdate < l_receiptdate)
  GROUP BY o_orderpriority ORDER BY o_orderpriority`,
      perfect: survivors(
        { orders: 'orders', lineitem: 'lineitem' },
        `FROM orders, lineitem WHERE l_orderkey = o_orderkey AND l_commitdate < l_receiptdate
          AND o_orderdate >= DATE '1993-07-01' AND o_orderdate < DATE '1993-07-01' + INTERVAL '3' MONTH`,
      ),
    },
    {
      id: 5,
      ordered: false,
      sql: `SELECT n_name, ${REVENUE} AS revenue ${Q5_FROM} GROUP BY n_name ORDER BY revenue DESC`,
      perfect: survivors(
        {
          customer: 'customer',
          orders: 'orders',
          lineitem: 'lineitem',
          supplier: 'supplier',
          nation: 'nation',
          region: 'region',
        },
        Q5_FROM,
      ),
    },
    {
      id: 6,
      ordered: true,
      sql: `SELECT sum(l_extendedprice * l_discount) AS revenue FROM lineitem ${Q6_WHERE}`,
      perfect: survivors({ lineitem: 'lineitem' }, `FROM lineitem ${Q6_WHERE}`),
    },
    {
      id: 7,
      ordered: true,
      sql: `SELECT supp_nation, cust_nation, l_year, sum(volume) AS revenue FROM (
    SELECT n1.n_name AS supp_nation, n2.n_name AS cust_nation, extract(year FROM l_shipdate) AS l_year,
      l_extendedprice * (1 - l_discount) AS volume ${Q7_FROM}) AS shipping
  GROUP BY supp_nation, cust_nation, l_year ORDER BY supp_nation, cust_nation, l_year`,
      perfect: survivors(
        {
          supplier: 'supplier',
          lineitem: 'lineitem',
          orders: 'orders',
          customer: 'customer',
          'nation n1': 'n1',
          'nation n2': 'n2',
        },
        Q7_FROM,
      ),
    },
    {
      id: 8,
      ordered: true,
      sql: `SELECT o_year, sum(CASE WHEN nation = 'BRAZIL' THEN volume ELSE 0 END) / sum(volume) AS mkt_share FROM (
    SELECT extract(year FROM o_orderdate) AS o_year, l_extendedprice * (1 - l_discount) AS volume, n2.n_name AS nation
    ${Q8_FROM}) AS all_nations
  GROUP BY o_year ORDER BY o_year`,
      perfect: survivors(
        {
          part: 'part',
          supplier: 'supplier',
          lineitem: 'lineitem',
          orders: 'orders',
          customer: 'customer',
          'nation n1': 'n1',
          'nation n2': 'n2',
          region: 'region',
        },
        Q8_FROM,
      ),
    },
    {
      id: 9,
      ordered: true,
      sql: `SELECT nation, o_year, sum(amount) AS sum_profit FROM (
    SELECT n_name AS nation, extract(year FROM o_orderdate) AS o_year,
      l_extendedprice * (1 - l_discount) - ps_supplycost * l_quantity AS amount ${Q9_FROM}) AS profit
  GROUP BY nation, o_year ORDER BY nation, o_year DESC`,
      perfect: survivors(
        {
          part: 'part',
          supplier: 'supplier',
          lineitem: 'lineitem',
          partsupp: 'partsupp',
          orders: 'orders',
          nation: 'nation',
        },
        Q9_FROM,
      ),
    },
    {
      id: 10,
      ordered: false,
      sql: `SELECT c_custkey, c_name, ${REVENUE} AS revenue, c_acctbal, n_name, c_address, c_phone, c_comment
  ${Q10_FROM}
  GROUP BY c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment ORDER BY revenue DESC LIMIT 20`,
      perfect: survivors(
        { customer: 'customer', orders: 'orders', lineitem: 'lineitem', nation: 'nation' },
        Q10_FROM,
      ),
    },
    {
      id: 11,
      ordered: false,
      sql: `SELECT ps_partkey, sum(ps_supplycost * ps_availqty) AS value ${Q11_FROM}
  GROUP BY ps_partkey HAVING sum(ps_supplycost * ps_availqty) > (
    SELECT sum(ps_supplycost * ps_availqty) * ${0.0001 / sf} ${Q11_FROM})
  ORDER BY value DESC`,
      perfect: survivors({ partsupp: 'partsupp', supplier: 'supplier', nation: 'nation' }, Q11_FROM),
    },
    {
      id: 12,
      ordered: true,
      sql: `SELECT l_shipmode,
    sum(CASE WHEN o_orderpriority = '1-URGENT' OR o_orderpriority = '2-HIGH' THEN 1 ELSE 0 END) AS high_line_count,
    sum(CASE WHEN o_orderpriority <> '1-URGENT' AND o_orderpriority <> '2-HIGH' THEN 1 ELSE 0 END) AS low_line_count
  ${Q12_FROM} GROUP BY l_shipmode ORDER BY l_shipmode`,
      perfect: survivors({ orders: 'orders', lineitem: 'lineitem' }, Q12_FROM),
    },
    {
      id: 13,
      ordered: true,
      sql: `SELECT c_count, count(*) AS custdist FROM (
    SELECT c_custkey, count(o_orderkey) FROM customer
      LEFT OUTER JOIN orders ON c_custkey = o_custkey AND o_comment NOT LIKE '%special%requests%'
    GROUP BY c_custkey) AS c_orders (c_custkey, c_count)
  GROUP BY c_count ORDER BY custdist DESC, c_count DESC`,
      // Every customer counts (an outer join); orders only where the comment lets them.
      perfect: sideBySide(
        survivors({ customer: 'customer' }, 'FROM customer'),
        survivors({ orders: 'orders' }, "FROM orders WHERE o_comment NOT LIKE '%special%requests%'"),
      ),
    },
    {
      id: 14,
      ordered: true,
      sql: `SELECT 100.00 * sum(CASE WHEN p_type LIKE 'PROMO%' THEN l_extendedprice * (1 - l_discount) ELSE 0 END)
    / ${REVENUE} AS promo_revenue ${Q14_FROM}`,
      perfect: survivors({ lineitem: 'lineitem', part: 'part' }, Q14_FROM),
    },
    {
      id: 15,
      ordered: true,
      sql: `WITH revenue0 AS (
    SELECT l_suppkey AS supplier_no, ${REVENUE} AS total_revenue FROM lineitem ${Q15_WHERE} GROUP BY l_suppkey)
  SELECT s_suppkey, s_name, s_address, s_phone, total_revenue FROM supplier, revenue0
  WHERE s_suppkey = supplier_no AND total_revenue = (SELECT max(total_revenue) FROM revenue0)
  ORDER BY s_suppkey`,
      // Both references of revenue0 read the same lineitem rows; the top supplier is one row.
      perfect: sideBySide(
        survivors({ lineitem: 'lineitem' }, `FROM lineitem ${Q15_WHERE}`),
        `SELECT 1 AS supplier`,
      ),
    },
    {
      id: 16,
      ordered: true,
      sql: `SELECT p_brand, p_type, p_size, count(DISTINCT ps_suppkey) AS supplier_cnt ${Q16_FROM}
  GROUP BY p_brand, p_type, p_size ORDER BY supplier_cnt DESC, p_brand, p_type, p_size`,
      perfect: sideBySide(
        survivors({ partsupp: 'partsupp', part: 'part' }, Q16_FROM),
        survivors({ supplier: 'supplier' }, "FROM supplier WHERE s_comment LIKE '%Customer%Complaints%'"),
      ),
    },
    {
      id: 17,
      ordered: true,
      sql: `SELECT sum(l_extendedprice) / 7.0 AS avg_yearly ${Q17_FROM}
    AND l_quantity < (SELECT 0.2 * avg(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)`,
      // The subquery averages every line of the chosen parts: those rows, once.
      perfect: survivors({ lineitem: 'lineitem', part: 'part' }, Q17_FROM),
    },
    {
      id: 18,
      ordered: false,
      sql: `SELECT c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice, sum(l_quantity) ${Q18_FROM}
  GROUP BY c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice ORDER BY o_totalprice DESC, o_orderdate LIMIT 100`,
      // The IN subquery must sum every line of every order (its own reference moves per-order sums at best).
      perfect: sideBySide(
        survivors({ customer: 'customer', orders: 'orders', lineitem: 'lineitem' }, Q18_FROM),
        `SELECT count(*) AS "lineitem (IN, grouped)" FROM (SELECT DISTINCT l_orderkey FROM lineitem)`,
      ),
    },
    {
      id: 19,
      ordered: true,
      sql: `SELECT ${REVENUE} AS revenue ${Q19_FROM}`,
      perfect: survivors({ lineitem: 'lineitem', part: 'part' }, Q19_FROM),
    },
    {
      id: 20,
      ordered: true,
      sql: `SELECT s_name, s_address ${Q20_FROM} ORDER BY s_name`,
      perfect: sideBySide(
        survivors({ supplier: 'supplier', nation: 'nation' }, Q20_FROM),
        survivors({ partsupp: 'partsupp' }, Q20_PARTSUPP),
        survivors({ part: 'part' }, "FROM part WHERE p_name LIKE 'forest%'"),
        survivors(
          { lineitem: 'lineitem' },
          `FROM lineitem, partsupp, part WHERE l_partkey = ps_partkey AND l_suppkey = ps_suppkey
            AND ps_partkey = p_partkey AND p_name LIKE 'forest%'
            AND l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1994-01-01' + INTERVAL '1' YEAR`,
        ),
      ),
    },
    {
      id: 21,
      ordered: true,
      sql: `SELECT s_name, count(*) AS numwait ${Q21_FROM} GROUP BY s_name ORDER BY numwait DESC, s_name LIMIT 100`,
      // l2 and l3 need every line of the orders where l1 has candidates (to see the other suppliers).
      perfect: sideBySide(
        survivors(
          { supplier: 'supplier', 'lineitem l1': 'l1', orders: 'orders', nation: 'nation' },
          Q21_FROM,
        ),
        survivors(
          { 'lineitem l2/l3': 'l2' },
          `FROM lineitem l2 WHERE l2.l_orderkey IN (SELECT l1.l_orderkey ${Q21_JOIN})`,
        ),
      ),
    },
    {
      id: 22,
      ordered: true,
      sql: `SELECT cntrycode, count(*) AS numcust, sum(c_acctbal) AS totacctbal FROM (
    SELECT substring(c_phone FROM 1 FOR 2) AS cntrycode, c_acctbal ${Q22_FROM}) AS custsale
  GROUP BY cntrycode ORDER BY cntrycode`,
      perfect: sideBySide(
        survivors({ customer: 'customer' }, Q22_FROM),
        survivors({ 'customer (avg)': 'customer' }, `FROM customer WHERE c_acctbal > 0.00 AND ${Q22_CODES}`),
        survivors(
          { orders: 'orders' },
          `FROM orders, customer WHERE o_custkey = c_custkey AND ${Q22_CODES} AND c_acctbal > (${Q22_AVG})`,
        ),
      ),
    },
  ];
}
