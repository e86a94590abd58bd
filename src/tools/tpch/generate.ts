/**
 * TPC-H data as gzipped CSV with a header, written by DuckDB SQL (dbgen and DuckDB's tpch
 * extension are not available here). The keys, row counts per scale factor, value domains and
 * distributions follow the specification's clause 4.2.3, closely enough that each of the 22
 * queries selects what it selects on dbgen's data; comments are cut from a pool of sentences of
 * dbgen's grammar, as dbgen cuts them from its text pool. Every value comes from
 * `hash(hash(key, salt))`, so one DuckDB build always writes the same files.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { quoteLiteral } from '../../duckdb/sql.js';
import {
  COLORS,
  CONTAINER_SYLLABLES,
  NATIONS,
  PRIORITIES,
  REGIONS,
  SEGMENTS,
  SHIP_INSTRUCTIONS,
  SHIP_MODES,
  TYPE_SYLLABLES,
  words,
} from './vocabulary.js';

export const TPCH_TABLES = [
  'region',
  'nation',
  'supplier',
  'customer',
  'part',
  'partsupp',
  'orders',
  'lineitem',
] as const;
export type TpchTable = (typeof TPCH_TABLES)[number];

export interface TpchData {
  sf: number;
  files: Record<TpchTable, string>;
  rows: Record<TpchTable, number>;
}

/** Row counts of the scaled tables (lineitem: 1-7 per order, about 4 × orders). */
export function tpchCounts(sf: number) {
  const scaled = (base: number) => Math.max(1, Math.round(base * sf));
  return {
    supplier: scaled(10_000),
    part: scaled(200_000),
    customer: scaled(150_000),
    orders: scaled(1_500_000),
    clerks: scaled(1_000),
  };
}

const list = (values: readonly string[]) => `[${values.map(quoteLiteral).join(', ')}]`;
/** Sentences in the comment pool. */
const POOL_SENTENCES = 8192;

/** The helpers every table's SQL uses: h (a stable hash), u (uniform integer), pick, money, text. */
const MACROS = [
  'CREATE MACRO h(k, salt) AS hash(hash(k, salt))',
  'CREATE MACRO u(k, salt, lo, hi) AS (lo + (h(k, salt) % ((hi - lo + 1)::UBIGINT))::BIGINT)',
  'CREATE MACRO pick(words, k, salt) AS words[u(k, salt, 1, len(words))]',
  /** A price from a uniform number of cents. */
  'CREATE MACRO money(k, salt, lo, hi) AS (u(k, salt, lo, hi) / 100)::DECIMAL(15,2)',
  /** Text of lo..hi characters: five pooled sentences, cut from a random offset as dbgen does. */
  `CREATE MACRO text(k, salt, lo, hi) AS substr(
     concat_ws(' ', ${[1, 2, 3, 4, 5].map((n) => `getvariable('pool')[u(k, salt || '${n}', 1, ${POOL_SENTENCES})]`).join(', ')}),
     u(k, salt || 'at', 1, 20)::BIGINT, u(k, salt || 'len', lo, hi)::BIGINT)`,
  /** dbgen's v-string: random characters (here hex digits) of lo..hi length. */
  `CREATE MACRO vstring(k, salt, lo, hi) AS
     left(md5(k::VARCHAR || salt) || md5(salt || k::VARCHAR), u(k, salt || 'len', lo, hi)::BIGINT)`,
  /** A phone number whose country code is the nation key + 10 (Q22 selects on it). */
  `CREATE MACRO phone(k, salt, nation) AS (nation + 10)::VARCHAR || '-' || u(k, salt || '1', 100, 999)::VARCHAR
     || '-' || u(k, salt || '2', 100, 999)::VARCHAR || '-' || u(k, salt || '3', 1000, 9999)::VARCHAR`,
  `CREATE MACRO keyname(prefix, k) AS prefix || '#' || lpad(k::VARCHAR, 9, '0')`,
];

/** Sentences of dbgen's grammar: noun phrase, verb phrase, prepositional phrase, terminator. */
function poolSql(): string {
  const [nouns, verbs, adjectives, adverbs, prepositions, terminators] = (
    ['nouns', 'verbs', 'adjectives', 'adverbs', 'prepositions', 'terminators'] as const
  ).map((p) => list(words(p)));
  const nounPhrase = (salt: string) => `CASE u(s, '${salt}', 0, 3)
      WHEN 0 THEN pick(${nouns}, s, '${salt}n')
      WHEN 1 THEN pick(${adjectives}, s, '${salt}a') || ' ' || pick(${nouns}, s, '${salt}n')
      WHEN 2 THEN pick(${adjectives}, s, '${salt}a') || ', ' || pick(${adjectives}, s, '${salt}b') || ' ' || pick(${nouns}, s, '${salt}n')
      ELSE pick(${adverbs}, s, '${salt}d') || ' ' || pick(${adjectives}, s, '${salt}a') || ' ' || pick(${nouns}, s, '${salt}n') END`;
  const verbPhrase = `CASE u(s, 'vp', 0, 1) WHEN 0 THEN pick(${verbs}, s, 'v')
      ELSE pick(${verbs}, s, 'v') || ' ' || pick(${adverbs}, s, 'va') END`;
  return `SET VARIABLE pool = (SELECT list(sentence ORDER BY s) FROM (
    SELECT s, ${nounPhrase('np')} || ' ' || ${verbPhrase}
      || CASE WHEN u(s, 'pp', 0, 1) = 0 THEN '' ELSE ' ' || pick(${prepositions}, s, 'p') || ' the ' || ${nounPhrase('pn')} END
      || pick(${terminators}, s, 't') AS sentence
    FROM range(${POOL_SENTENCES}) t(s)))`;
}

function regionSql(): string {
  const rows = REGIONS.map((name, k) => `(${k}, ${quoteLiteral(name)})`).join(', ');
  return `SELECT r_regionkey, r_name, text(r_regionkey, 'r_comment', 31, 115) AS r_comment
    FROM (VALUES ${rows}) t(r_regionkey, r_name)`;
}

function nationSql(): string {
  const rows = NATIONS.map(([name, region], k) => `(${k}, ${quoteLiteral(name)}, ${region})`).join(', ');
  return `SELECT n_nationkey, n_name, n_regionkey, text(n_nationkey, 'n_comment', 31, 114) AS n_comment
    FROM (VALUES ${rows}) t(n_nationkey, n_name, n_regionkey)`;
}

/** 5 in 10,000 suppliers complain and 5 recommend (clause 4.2.3: Q16 looks for the complaints). */
function supplierSql(suppliers: number): string {
  return `SELECT k AS s_suppkey, keyname('Supplier', k) AS s_name, vstring(k, 's_address', 10, 40) AS s_address,
      nation AS s_nationkey, phone(k, 's_phone', nation) AS s_phone, money(k, 's_acctbal', -99999, 999999) AS s_acctbal,
      CASE WHEN h(k, 's_bbb') % 10000 < 10
        THEN text(k, 's_c1', 5, 20) || ' Customer ' || text(k, 's_c2', 5, 20)
          || CASE WHEN h(k, 's_bbb') % 10000 < 5 THEN ' Complaints ' ELSE ' Recommends ' END || text(k, 's_c3', 5, 30)
        ELSE text(k, 's_comment', 25, 100) END AS s_comment
    FROM (SELECT i + 1 AS k, u(i + 1, 's_nationkey', 0, 24) AS nation FROM range(${suppliers}) t(i))`;
}

function customerSql(customers: number): string {
  return `SELECT k AS c_custkey, keyname('Customer', k) AS c_name, vstring(k, 'c_address', 10, 40) AS c_address,
      nation AS c_nationkey, phone(k, 'c_phone', nation) AS c_phone, money(k, 'c_acctbal', -99999, 999999) AS c_acctbal,
      pick(${list(SEGMENTS)}, k, 'c_segment') AS c_mktsegment, text(k, 'c_comment', 29, 116) AS c_comment
    FROM (SELECT i + 1 AS k, u(i + 1, 'c_nation', 0, 24) AS nation FROM range(${customers}) t(i))`;
}

/** The retail price in cents, a function of the part key (clause 4.2.3). */
const RETAIL_CENTS = (key: string) => `(90000 + ((${key} // 10) % 20001) + 100 * (${key} % 1000))`;

/**
 * Five distinct colors per name: c0 + j·step (mod 92) for j < 5, with a step prime to 92.
 */
function partSql(parts: number): string {
  const color = (j: number) => `${list(COLORS)}[((c0 + ${j} * step) % ${COLORS.length}) + 1]`;
  const syllables = (lists: readonly (readonly string[])[], salt: string) =>
    lists.map((l, n) => `pick(${list(l)}, k, '${salt}${n}')`).join(` || ' ' || `);
  return `SELECT k AS p_partkey, concat_ws(' ', ${[0, 1, 2, 3, 4].map(color).join(', ')}) AS p_name,
      'Manufacturer#' || m AS p_mfgr, 'Brand#' || m || u(k, 'p_brand', 1, 5) AS p_brand,
      ${syllables(TYPE_SYLLABLES, 'p_type')} AS p_type, u(k, 'p_size', 1, 50) AS p_size,
      ${syllables(CONTAINER_SYLLABLES, 'p_container')} AS p_container,
      (${RETAIL_CENTS('k')} / 100)::DECIMAL(15,2) AS p_retailprice, text(k, 'p_comment', 5, 22) AS p_comment
    FROM (SELECT k, u(k, 'p_mfgr', 1, 5) AS m, u(k, 'p_color', 0, ${COLORS.length - 1}) AS c0,
        CASE WHEN odd % 23 = 0 THEN odd + 2 ELSE odd END AS step
      FROM (SELECT i + 1 AS k, 1 + 2 * u(i + 1, 'p_step', 0, 44) AS odd FROM range(${parts}) t(i)))`;
}

/** The j-th (0-3) supplier of a part (clause 4.2.3), also the supplier a line item names. */
function supplierOf(part: string, j: string, suppliers: number): string {
  return `((${part} + ${j} * (${Math.floor(suppliers / 4)} + (${part} - 1) // ${suppliers})) % ${suppliers}) + 1`;
}

function partsuppSql(parts: number, suppliers: number): string {
  return `SELECT pk AS ps_partkey, ${supplierOf('pk', 'j', suppliers)} AS ps_suppkey,
      u(id, 'ps_availqty', 1, 9999) AS ps_availqty, money(id, 'ps_supplycost', 100, 100000) AS ps_supplycost,
      text(id, 'ps_comment', 49, 198) AS ps_comment
    FROM (SELECT i + 1 AS pk, j, i * 4 + j AS id FROM range(${parts}) t(i), range(4) r(j))`;
}

/**
 * Orders without the columns that sum their lines. Keys are sparse (8 of every 32); a third
 * of the customers (keys divisible by 3) never order; dates run to 151 days before 1998-12-31.
 */
function orderBaseSql(sf: number): string {
  const n = tpchCounts(sf);
  return `SELECT i, (i // 8) * 32 + (i % 8) + 1 AS o_orderkey,
      CASE WHEN c % 3 = 0 THEN c - 1 ELSE c END AS o_custkey,
      DATE '1992-01-01' + u(i, 'o_date', 0, 2405)::INTEGER AS o_orderdate,
      pick(${list(PRIORITIES)}, i, 'o_priority') AS o_orderpriority,
      keyname('Clerk', u(i, 'o_clerk', 1, ${n.clerks})) AS o_clerk, 0 AS o_shippriority,
      text(i, 'o_comment', 19, 78) AS o_comment, u(i, 'o_lines', 1, 7) AS lines
    FROM (SELECT i, u(i, 'o_cust', 1, ${n.customer}) AS c FROM range(${n.orders}) t(i))`;
}

/** Line items of the order base `ord`, with their prices in cents for the orders' totals. */
function lineitemSql(sf: number): string {
  const n = tpchCounts(sf);
  const current = "DATE '1995-06-17'";
  return `SELECT l_orderkey, l_partkey, ${supplierOf('l_partkey', 'supplier_j', n.supplier)} AS l_suppkey,
      l_linenumber, l_quantity, (cents / 100)::DECIMAL(15,2) AS l_extendedprice,
      (discount / 100)::DECIMAL(15,2) AS l_discount, (tax / 100)::DECIMAL(15,2) AS l_tax,
      CASE WHEN l_receiptdate > ${current} THEN 'N' WHEN h(id, 'l_rf') % 2 = 0 THEN 'R' ELSE 'A' END AS l_returnflag,
      CASE WHEN l_shipdate > ${current} THEN 'O' ELSE 'F' END AS l_linestatus,
      l_shipdate, l_commitdate, l_receiptdate,
      pick(${list(SHIP_INSTRUCTIONS)}, id, 'l_instruct') AS l_shipinstruct,
      pick(${list(SHIP_MODES)}, id, 'l_mode') AS l_shipmode, text(id, 'l_comment', 10, 43) AS l_comment,
      cents, discount, tax
    FROM (SELECT id, l_orderkey, l_partkey, supplier_j, l_linenumber, l_quantity, discount, tax,
        l_quantity * ${RETAIL_CENTS('l_partkey')} AS cents, l_shipdate, l_commitdate,
        l_shipdate + u(id, 'l_receipt', 1, 30)::INTEGER AS l_receiptdate
      FROM (SELECT id, o_orderkey AS l_orderkey, u(id, 'l_part', 1, ${n.part}) AS l_partkey,
          u(id, 'l_supp', 0, 3) AS supplier_j, j + 1 AS l_linenumber, u(id, 'l_quantity', 1, 50) AS l_quantity,
          u(id, 'l_discount', 0, 10) AS discount, u(id, 'l_tax', 0, 8) AS tax,
          o_orderdate + u(id, 'l_ship', 1, 121)::INTEGER AS l_shipdate,
          o_orderdate + u(id, 'l_commit', 30, 90)::INTEGER AS l_commitdate
        FROM (SELECT o.*, j, o.i * 8 + j AS id FROM ord o, range(7) r(j) WHERE j < o.lines)))`;
}

/** Orders with their status (F/O when every line is, else P) and total from their lines. */
const ORDERS_SQL = `SELECT o_orderkey, o_custkey,
    CASE WHEN shipped = lines THEN 'F' WHEN shipped = 0 THEN 'O' ELSE 'P' END AS o_orderstatus,
    (total / 100)::DECIMAL(15,2) AS o_totalprice, o_orderdate, o_orderpriority, o_clerk, o_shippriority, o_comment
  FROM ord JOIN (
    SELECT l_orderkey, count(*) FILTER (WHERE l_linestatus = 'F') AS shipped,
      round(sum(cents * (100 + tax) * (100 - discount)) / 10000) AS total
    FROM li GROUP BY l_orderkey) ON o_orderkey = l_orderkey
  ORDER BY o_orderkey`;

/** The SQL whose result is each table's file (`ord` and `li` built first). */
function tableQueries(sf: number): Record<TpchTable, string> {
  const n = tpchCounts(sf);
  return {
    region: regionSql(),
    nation: nationSql(),
    supplier: supplierSql(n.supplier),
    customer: customerSql(n.customer),
    part: partSql(n.part),
    partsupp: partsuppSql(n.part, n.supplier),
    orders: ORDERS_SQL,
    lineitem: 'SELECT * EXCLUDE (cents, discount, tax) FROM li ORDER BY l_orderkey, l_linenumber',
  };
}

/** Every statement the generator runs at `sf`: the same text writes the same files (with one DuckDB build). */
export function tpchGeneratorSql(sf: number): string {
  return [...MACROS, poolSql(), orderBaseSql(sf), lineitemSql(sf), ...Object.values(tableQueries(sf))].join(
    ';\n',
  );
}

async function count(con: DuckDBConnection, sql: string): Promise<number> {
  const rows = (await con.runAndReadAll(sql)).getRows();
  return Number(rows[0][0]);
}

/** Writes `<dir>/<table>.csv.gz` for the 8 tables at scale factor `sf`. */
export async function writeTpchData(dir: string, sf: number): Promise<TpchData> {
  if (!(sf > 0 && sf <= 1000)) throw new Error(`the scale factor must be a number in (0, 1000], got ${sf}`);
  await mkdir(dir, { recursive: true });
  const files = Object.fromEntries(
    TPCH_TABLES.map((table) => [table, resolve(join(dir, `${table}.csv.gz`))]),
  ) as Record<TpchTable, string>;
  const queries = tableQueries(sf);
  const instance = await DuckDBInstance.create(':memory:', { preserve_insertion_order: 'true' });
  try {
    const setup = await instance.connect();
    for (const macro of MACROS) await setup.run(macro);
    setup.closeSync();
    const rows = {} as Record<TpchTable, number>;
    // Variables are per connection: each sets the pool, which is the same everywhere.
    const connect = async () => {
      const con = await instance.connect();
      await con.run(poolSql());
      return con;
    };
    const main = await connect();
    await main.run(`CREATE TABLE ord AS ${orderBaseSql(sf)}`);
    await main.run(`CREATE TABLE li AS ${lineitemSql(sf)}`);
    main.closeSync();
    // DuckDB's gzip writer is single-threaded: one connection per table writes them side by side.
    await Promise.all(
      TPCH_TABLES.map(async (table) => {
        const con = await connect();
        try {
          // COPY answers the number of rows it wrote.
          rows[table] = await count(
            con,
            `COPY (${queries[table]}) TO ${quoteLiteral(files[table])} (HEADER, COMPRESSION gzip)`,
          );
        } finally {
          con.closeSync();
        }
      }),
    );
    return { sf, files, rows };
  } finally {
    instance.closeSync();
  }
}
