/**
 * Partial aggregation is exact: for each query, planPartialAggregate's partSql runs over each
 * part of a table (each part a TEMP table of the table's name on its own connection), the
 * parts' rows are gathered into TEMP `__partials` (columns c0, c1…), mergeSql runs over it,
 * and the answer must be the query's own over the whole table: column names, column types,
 * rows (doubles within a relative 1e-9), and order where the query orders. The table has
 * ints, bigints, hugeints, decimals, doubles, floats, text, dates, timestamps, booleans and
 * NULLs; it is split 1, 3 and 5 ways, with an empty part and very unequal parts, rows of a
 * group spread over parts; and again with the empty parts not asked at all (the executor
 * skips them). Queries that cannot merge exactly must decline with a reason.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planPartialAggregate } from '../../src/coordinator/execute/shards/partial-aggregate.js';
import { resultToJson } from '../../src/duckdb/json-values.js';
import { seededRandom } from '../../src/seeded-random.js';
import { canonicalRows, expectRowsClose } from '../helpers/oracle.js';

const ROWS = 3000;

const TABLE_SQL = `
CREATE TABLE t AS
SELECT
  i AS id,
  (i % 7)::INTEGER AS g,
  CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 5)::SMALLINT END AS small,
  CASE WHEN i % 13 = 0 THEN NULL ELSE i * 1000003 - 700000000 END AS big,
  CASE WHEN i % 17 = 0 THEN NULL ELSE ((i * 37) % 10000 / 100.0 - 20)::DECIMAL(12,2) END AS price,
  CASE WHEN i % 19 = 0 THEN NULL ELSE (i * 0.731) / 3 - 100 END AS ratio,
  CASE WHEN i % 23 = 0 THEN NULL ELSE ['red', 'green', 'blue', 'black'][(i % 4) + 1] END AS color,
  DATE '2020-01-01' + (i % 400)::INTEGER AS day,
  TIMESTAMP '2021-03-04 05:06:07' + to_seconds(i * 3607) AS ts,
  CASE WHEN i % 29 = 0 THEN NULL ELSE i % 3 = 0 END AS flag,
  (i % 3)::HUGEINT * 1000000000000000000000000000000 + i AS huge,
  (i / 7)::FLOAT AS fl,
  CASE WHEN i % 7 = 3 THEN NULL ELSE i % 100 END AS sparse,
  'name_' || (i % 50) AS name,
  (i % 4)::TINYINT AS "Weird Name",
  (i % 9)::UBIGINT AS ub
FROM range(${ROWS}) r(i)`;

/** Part of a row for an N-way split: unequal shares, one part empty, a group's rows spread over parts. */
function partOf(n: number): string {
  if (n === 1) return '0';
  const shares = n === 3 ? [5, 0, 995] : [400, 300, 0, 250, 50];
  const cases: string[] = [];
  let upTo = 0;
  shares.forEach((s, part) => {
    upTo += s;
    if (s > 0) cases.push(`WHEN (id * 7919) % 1000 < ${upTo} THEN ${part}`);
  });
  return `CASE ${cases.join(' ')} END`;
}

interface Q {
  sql: string;
  /** Rows come in the query's order (its ORDER BY leaves no ties). */
  ordered?: boolean;
  /** A LIMIT without ORDER BY: any rows of the unlimited answer will do. */
  anyRowsOf?: string;
}

const DECOMPOSED: Q[] = [
  // Ungrouped aggregates.
  { sql: 'SELECT count(*) FROM t' },
  { sql: 'SELECT count(*), count(big), count(price), count(color), count(sparse), count(1) FROM t' },
  { sql: 'SELECT sum(id), sum(small), sum(big), sum(price), sum(huge), sum("Weird Name"), sum(ub) FROM t' },
  { sql: 'SELECT sum(ratio), sum(fl), fsum(ratio), kahan_sum(ratio) FROM t' },
  {
    sql: 'SELECT min(id), max(id), min(color), max(color), min(day), max(ts), min(price), max(ratio), min(flag), max(huge), min(fl) FROM t',
  },
  {
    sql: 'SELECT avg(id), avg(small), avg(big), avg(price), avg(ratio), avg(fl), avg(huge), mean(sparse), avg(ub) FROM t',
  },
  { sql: 'SELECT bool_and(flag), bool_or(flag), bool_and(id >= 0), bool_or(id < 0) FROM t' },
  {
    sql: 'SELECT count_if(flag), countif(g > 3), bit_and(id), bit_or(id), bit_xor(id), bit_xor(small) FROM t',
  },
  {
    sql: 'SELECT g, count_if(flag) FILTER (WHERE id < 10), count(*) FILTER (WHERE id < 10) FROM t GROUP BY g ORDER BY g',
    ordered: true,
  },
  {
    sql: 'SELECT count(DISTINCT color), count(DISTINCT g), count(DISTINCT price), count(DISTINCT day) FROM t',
  },
  { sql: 'SELECT sum(DISTINCT small), avg(DISTINCT small), sum(DISTINCT price), avg(DISTINCT price) FROM t' },
  {
    sql: 'SELECT min(DISTINCT color), max(DISTINCT id), bit_xor(DISTINCT small), count(DISTINCT flag) FROM t',
  },
  {
    sql: "SELECT count(*) FILTER (WHERE flag), sum(big) FILTER (WHERE color = 'red'), avg(price) FILTER (WHERE g > 2), min(ts) FILTER (WHERE NOT flag) FROM t",
  },
  {
    sql: 'SELECT count(DISTINCT color) FILTER (WHERE g < 3), sum(DISTINCT small) FILTER (WHERE flag) FROM t',
  },
  { sql: 'SELECT sum(big * small) / count(*), round(avg(price), 2), max(id) - min(id), sum(id) + 1 FROM t' },
  {
    sql: 'SELECT count(*) * 2 AS twice, (sum(price) / count(price))::DECIMAL(12,4) AS p, count(*)::INTEGER AS n FROM t',
  },
  { sql: 'SELECT count(*) FROM t WHERE false' },
  {
    sql: 'SELECT sum(big), avg(price), min(color), count(DISTINCT g), bool_and(flag), count(big), count_if(flag) FROM t WHERE id < 0',
  },
  { sql: 'SELECT sum(sparse), count(sparse), avg(sparse) FROM t WHERE g = 3' },
  { sql: 'SELECT count(*) FROM t HAVING count(*) > 5' },
  { sql: 'SELECT count(*) FROM t HAVING count(*) > 1000000' },
  { sql: "SELECT count(*), 'label' AS l, now() IS NOT NULL AS ok FROM t WHERE color LIKE 'b%'" },
  { sql: 'SELECT count(*) FROM main.t AS x WHERE x.id BETWEEN 100 AND 2000 AND x.small IN (1, 2)' },
  // Grouped.
  { sql: 'SELECT g, count(*) FROM t GROUP BY g ORDER BY g', ordered: true },
  { sql: 'SELECT color, count(*), sum(price), avg(ratio), min(day), max(ts) FROM t GROUP BY color' },
  { sql: 'SELECT g, small, count(*), sum(big) FROM t GROUP BY ALL' },
  { sql: "SELECT g, 'x' AS constant, count(*) FROM t WHERE id < 0 GROUP BY ALL" },
  { sql: "SELECT 'x' AS constant, count(*) FROM t WHERE id < 0 GROUP BY ALL" },
  { sql: 'SELECT g % 3 AS k, count(*) FROM t GROUP BY 1 ORDER BY 1', ordered: true },
  { sql: 'SELECT g % 3 AS k, sum(big) FROM t GROUP BY k HAVING sum(big) > 0 ORDER BY k', ordered: true },
  {
    sql: "SELECT date_trunc('month', day) AS m, count(*), max(ts) FROM t GROUP BY m ORDER BY m",
    ordered: true,
  },
  {
    sql: 'SELECT year(day), month(day), count(DISTINCT color) FROM t GROUP BY ALL ORDER BY 1, 2',
    ordered: true,
  },
  {
    sql: 'SELECT color, g, count(DISTINCT small), sum(DISTINCT small), count(*) FROM t GROUP BY color, g ORDER BY color NULLS FIRST, g DESC',
    ordered: true,
  },
  {
    sql: 'SELECT color, count(*) AS n FROM t GROUP BY color HAVING n > 100 ORDER BY n DESC, color',
    ordered: true,
  },
  { sql: 'SELECT g, sum(price) / sum(small) AS r FROM t GROUP BY g ORDER BY r DESC LIMIT 3', ordered: true },
  { sql: 'SELECT g, count(*) FROM t GROUP BY g ORDER BY count(*) DESC, g LIMIT 3 OFFSET 2', ordered: true },
  {
    sql: 'SELECT upper(color) AS c, count(*) FROM t WHERE id % 2 = 0 GROUP BY upper(color) ORDER BY c',
    ordered: true,
  },
  { sql: 'SELECT g + 1, count(*) * 2 + 1 AS z FROM t GROUP BY g + 1 ORDER BY 1', ordered: true },
  { sql: 'SELECT x.g, count(x.id) FROM t AS x GROUP BY x.g ORDER BY x.g', ordered: true },
  {
    sql: 'SELECT g, avg(price) FILTER (WHERE flag) AS fp, count(*) FILTER (WHERE color IS NULL) FROM t GROUP BY g ORDER BY g',
    ordered: true,
  },
  { sql: 'SELECT DISTINCT g % 2 AS parity FROM t GROUP BY g' },
  { sql: 'SELECT "Weird Name", count(*) FROM t GROUP BY "Weird Name" ORDER BY 1', ordered: true },
  {
    sql: 'SELECT g, count(DISTINCT color) FILTER (WHERE flag), count(DISTINCT small), count(DISTINCT g) FROM t GROUP BY g ORDER BY g',
    ordered: true,
  },
  {
    sql: 'SELECT flag, min(day), max(day), count(*) FROM t GROUP BY flag ORDER BY flag NULLS LAST',
    ordered: true,
  },
  {
    sql: 'SELECT small, sum(huge), avg(huge), max(huge) FROM t GROUP BY small ORDER BY small',
    ordered: true,
  },
  {
    sql: "SELECT g, CASE WHEN sum(big) > 1000000000 THEN 'big' ELSE 'small' END AS size, count(*) FROM t GROUP BY g ORDER BY g",
    ordered: true,
  },
  { sql: 'SELECT count(*) FROM t GROUP BY g HAVING max(id) > 10' },
  { sql: 'SELECT g, count(*) FROM t GROUP BY g LIMIT 3', anyRowsOf: 'SELECT g, count(*) FROM t GROUP BY g' },
  {
    sql: "SELECT name, count(*) c1, sum(id) FROM t WHERE name LIKE 'name_1%' GROUP BY name ORDER BY name",
    ordered: true,
  },
  { sql: 'SELECT g, count(*) AS c0 FROM t GROUP BY g HAVING count(*) > 1 ORDER BY g', ordered: true },
  {
    sql: 'SELECT sparse, count(*), sum(sparse) FROM t GROUP BY sparse ORDER BY sparse NULLS FIRST',
    ordered: true,
  },
  {
    sql: "SELECT day, count(*) FROM t WHERE day < DATE '2020-01-20' GROUP BY day ORDER BY day DESC LIMIT 5",
    ordered: true,
  },
  {
    sql: 'SELECT ts::DATE AS d, sum(fl), count(DISTINCT g) FROM t GROUP BY d ORDER BY d LIMIT 10',
    ordered: true,
  },
  {
    sql: 'SELECT g, small, avg(ratio) FROM t GROUP BY g, small HAVING count(*) > 30 ORDER BY 3 DESC, 1, 2',
    ordered: true,
  },
  { sql: 'SELECT price > 0 AS positive, bool_and(flag), bool_or(flag), count(*) FROM t GROUP BY positive' },
  { sql: 'SELECT g, count(*) FROM t GROUP BY g, g ORDER BY g', ordered: true },
  { sql: "SELECT count(DISTINCT color || g::VARCHAR) AS pairs, count(DISTINCT {'g': g, 's': small}) FROM t" },
  { sql: 'SELECT g AS G, count(*) FROM t GROUP BY G ORDER BY G', ordered: true },
  { sql: 'SELECT g, count(*), sum(big) FROM t GROUP BY g ORDER BY g DESC LIMIT 3 OFFSET 1', ordered: true },
  {
    sql: 'SELECT color, small, count(*), avg(price) FROM t GROUP BY ALL ORDER BY color NULLS FIRST, small DESC LIMIT 5',
    ordered: true,
  },
  {
    sql: 'SELECT color, small, count(*) FROM t GROUP BY color, small ORDER BY color LIMIT 5',
    anyRowsOf: 'SELECT color, small, count(*) FROM t GROUP BY color, small',
  },
  {
    sql: 'SELECT g, count(DISTINCT small) FROM t GROUP BY g ORDER BY g LIMIT 2',
    ordered: true,
  },
  // Rows (no aggregates).
  { sql: 'SELECT id, color FROM t ORDER BY id LIMIT 10', ordered: true },
  {
    sql: 'SELECT id, price FROM t WHERE price IS NOT NULL ORDER BY price DESC, id LIMIT 7 OFFSET 3',
    ordered: true,
  },
  { sql: 'SELECT id FROM t ORDER BY ratio DESC NULLS FIRST, id LIMIT 25', ordered: true },
  { sql: 'SELECT * FROM t ORDER BY id DESC LIMIT 4', ordered: true },
  { sql: 'SELECT * EXCLUDE (huge, ts) FROM t WHERE g = 2 ORDER BY id LIMIT 5 OFFSET 1', ordered: true },
  { sql: 'SELECT DISTINCT color FROM t' },
  { sql: 'SELECT DISTINCT g, small FROM t ORDER BY g, small NULLS FIRST', ordered: true },
  { sql: 'SELECT DISTINCT color FROM t ORDER BY color DESC LIMIT 2', ordered: true },
  { sql: 'SELECT id, color FROM t WHERE g = 1 LIMIT 5', anyRowsOf: 'SELECT id, color FROM t WHERE g = 1' },
  { sql: 'SELECT id * 2 AS d, upper(color) FROM t WHERE flag ORDER BY d LIMIT 6', ordered: true },
  { sql: 'SELECT id FROM t WHERE ratio > 500 ORDER BY id', ordered: true },
  { sql: 'SELECT id, day FROM t ORDER BY day DESC, id LIMIT 3', ordered: true },
  { sql: 'SELECT id FROM t ORDER BY id OFFSET 2990', ordered: true },
  { sql: 'SELECT id FROM t ORDER BY id LIMIT 0', ordered: true },
  { sql: 'SELECT 1 AS one, id FROM t ORDER BY id LIMIT 2', ordered: true },
  { sql: 'SELECT id AS c5 FROM t ORDER BY ratio LIMIT 3', ordered: true },
  { sql: 'SELECT small FROM t ORDER BY small NULLS FIRST LIMIT 300', ordered: true },
  { sql: 'SELECT id, id FROM t ORDER BY 1 DESC LIMIT 3', ordered: true },
  { sql: 'SELECT color, small FROM t WHERE big > 2000000000' },
  { sql: 'SELECT id + 1 AS next FROM t WHERE next < 5 ORDER BY next', ordered: true },
];

const DECLINED: [string, RegExp][] = [
  ['SELECT median(price) FROM t', /median/],
  ['SELECT quantile_cont(ratio, 0.5) FROM t', /quantile_cont/],
  ['SELECT g, mode(color) FROM t GROUP BY g', /mode/],
  ["SELECT string_agg(color, ',') FROM t", /string_agg.*order/],
  ['SELECT g, list(id) FROM t GROUP BY g', /list/],
  ['SELECT array_agg(id) FROM t', /array_agg/],
  ['SELECT first(color), any_value(color) FROM t', /first|any_value/],
  ['SELECT stddev(ratio), var_pop(ratio) FROM t', /stddev|var_pop/],
  ['SELECT approx_count_distinct(color) FROM t', /approx/],
  ['SELECT arg_max(id, price) FROM t', /arg_max/],
  ['SELECT id, row_number() OVER () FROM t', /window/],
  ['SELECT g, sum(id) OVER (PARTITION BY g) FROM t', /window/],
  ['SELECT g, small, count(*) FROM t GROUP BY ROLLUP (g, small)', /ROLLUP/],
  ['SELECT g, small, count(*) FROM t GROUP BY GROUPING SETS ((g), (small))', /GROUPING SETS/],
  ['SELECT g, small, count(*) FROM t GROUP BY CUBE (g, small)', /CUBE/],
  ['SELECT count(*) FROM t WHERE id IN (SELECT id FROM t WHERE g = 1)', /subquery/],
  ['SELECT (SELECT 1), count(*) FROM t', /subquery/],
  ['SELECT count(*) FROM t a JOIN t b USING (id)', /single table/],
  ['WITH x AS (SELECT * FROM t) SELECT count(*) FROM x', /WITH/],
  ['SELECT count(*) FROM (SELECT * FROM t)', /single table/],
  ['SELECT sum(id * random()) FROM t', /random.*deterministic/],
  ["SELECT count(*) FROM t WHERE color = current_setting('default_order')", /current_setting/],
  ['SELECT count(*) FROM t USING SAMPLE 10%', /sampl/],
  ['SELECT count(*) FROM other', /reads other/],
  ['SELECT DISTINCT ON (g) g, id FROM t ORDER BY g, id', /DISTINCT ON/],
  ['SELECT g, count(*) FROM t GROUP BY g QUALIFY row_number() OVER () < 3', /QUALIFY|window/],
  ['SELECT sum(id ORDER BY id) FROM t', /ORDER BY inside/],
  ['SELECT count(*) FROM t UNION ALL SELECT count(*) FROM t', /set_operation/i],
  ['SELECT g, id FROM t GROUP BY g', /GROUP BY clause/],
  ['SELECT color COLLATE nocase AS c, count(*) FROM t GROUP BY 1', /COLLATE/],
  ['SELECT g AS small, count(*) FROM t GROUP BY g', /alias small/],
  ['SELECT id FROM t LIMIT 10 PERCENT', /PERCENT/],
  ['SELECT g, count(*) FROM t GROUP BY ALL ORDER BY ALL', /ORDER BY ALL/],
  ['SELECT g, count(*) AS c1 FROM t GROUP BY g HAVING count(*) > 1', /c1/],
  ['SELECT id AS c1 FROM t ORDER BY ratio LIMIT 3', /c1/],
  ['SELECT id FROM t LIMIT $1', /parameter|LIMIT/],
  ['SELECT count(*) FROM t WHERE id > $1', /parameter/],
  ['SELECT count(*) FROM memory.main.t', /catalog or schema/],
  ['SELECT count(*) FROM t x(a, b)', /renames/],
  ['SELECT max(id, 3) FROM t', /2 arguments/],
  ["SELECT avg(ts - TIMESTAMP '2021-01-01') FROM t", /not a number/],
  ['SELECT DISTINCT g FROM t ORDER BY id LIMIT 3', /DISTINCT ordered/],
  ['SELECT g, count(*) FROM t GROUP BY g ORDER BY id', /GROUP BY clause/],
  ['SELECT id, list_transform([id], x -> x + 1) FROM t ORDER BY id LIMIT 3', /lambda|not a column/],
  ['SELECT sum(count(*)) FROM t', /aggregate inside an aggregate/],
  ['SELECT count(*), lateral_alias + 1 FROM (SELECT 1 AS lateral_alias) s', /single table/],
  ['SELECT count(*) AS n, n + 1 FROM t', /not a column/],
  ['SELECT count(*) FROM t WHERE id = 1; SELECT 1', /single statement|parse/],
  // DuckDB prints the DOUBLE 1e9 as 1000000000.0, a DECIMAL: not the same query.
  ['SELECT g, sum(big) > 1e9 FROM t GROUP BY g', /print/],
  // An unnamed STRUCT's type has no SQL text to declare __partials with.
  ['SELECT count(DISTINCT (g, small)) FROM t', /types/],
];

interface Parts {
  n: number;
  /** Connections on which `t` is the part's rows (a TEMP table shadowing the whole table). */
  cons: DuckDBConnection[];
  /** Which parts hold no rows. */
  empty: boolean[];
}

let instance: DuckDBInstance;
let whole: DuckDBConnection;
const splits: Parts[] = [];

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  whole = await instance.connect();
  await whole.run(TABLE_SQL);
  await whole.run('CREATE TABLE other (x INTEGER)');
  for (const n of [1, 3, 5]) {
    const cons: DuckDBConnection[] = [];
    const empty: boolean[] = [];
    for (let part = 0; part < n; part++) {
      const con = await instance.connect();
      await con.run(`CREATE TEMP TABLE t AS SELECT * FROM memory.main.t WHERE ${partOf(n)} = ${part}`);
      const rows = await con.runAndReadAll('SELECT count(*) FROM t');
      empty.push(Number(rows.getRows()[0][0]) === 0);
      cons.push(con);
    }
    splits.push({ n, cons, empty });
  }
});

afterAll(() => {
  for (const s of splits) for (const c of s.cons) c.closeSync();
  whole?.closeSync();
  instance?.closeSync();
});

const TABLE = { name: 't', columns: [] as string[], types: [] as string[] };

async function tableSchema(): Promise<typeof TABLE> {
  if (TABLE.columns.length === 0) {
    const reader = await whole.runAndReadAll('SELECT column_name, column_type FROM (DESCRIBE t)');
    for (const [name, type] of reader.getRows()) {
      TABLE.columns.push(String(name));
      TABLE.types.push(String(type));
    }
  }
  return TABLE;
}

/** The answer of partSql in each part (empty parts left out when `skipEmpty`), merged. */
async function runPlanned(parts: Parts, partSql: string, mergeSql: string, skipEmpty: boolean) {
  const merger = await instance.connect();
  try {
    let created = false;
    for (const [i, con] of parts.cons.entries()) {
      if (skipEmpty && parts.empty[i]) continue;
      const rows = await con.runAndReadAll(partSql);
      const names = rows.columnNames();
      expect(names).toEqual(names.map((_, j) => `c${j}`));
      if (!created) {
        const defs = rows.columnTypes().map((t, j) => `c${j} ${t.toString()}`);
        await merger.run(`CREATE TEMP TABLE __partials (${defs.join(', ')})`);
        created = true;
      }
      // Move the part's rows as the executor does: into the coordinator's TEMP table, by position.
      await con.run(`CREATE OR REPLACE TABLE memory.main.part_rows AS ${partSql}`);
      await merger.run('INSERT INTO temp.main.__partials SELECT * FROM memory.main.part_rows');
    }
    if (!created) {
      // Every part skipped: the table still has the part query's columns.
      const rows = await parts.cons[0].runAndReadAll(`${partSql}`);
      const defs = rows.columnTypes().map((t, j) => `c${j} ${t.toString()}`);
      await merger.run(`CREATE TEMP TABLE __partials (${defs.join(', ')})`);
    }
    const result = await merger.runAndReadAll(mergeSql);
    return {
      types: result.columnTypes().map(String),
      ...(await resultToJson(result)),
    };
  } finally {
    merger.closeSync();
  }
}

async function expectExact(q: Q, parts: Parts, skipEmpty: boolean) {
  const plan = await planPartialAggregate(q.sql, await tableSchema(), whole);
  if ('reason' in plan) throw new Error(`declined: ${plan.reason}`);
  const expectedResult = await whole.runAndReadAll(q.sql);
  const expected = {
    types: expectedResult.columnTypes().map(String),
    ...(await resultToJson(expectedResult)),
  };
  const actual = await runPlanned(parts, plan.partSql, plan.mergeSql, skipEmpty);
  expect(actual.columns).toEqual(expected.columns);
  expect(actual.types).toEqual(expected.types);
  if (q.anyRowsOf) {
    const all = await resultToJson(await whole.runAndReadAll(q.anyRowsOf));
    expect(actual.rows.length).toBe(expected.rows.length);
    const pool = canonicalRows(all.columns, all.rows, false);
    for (const row of canonicalRows(actual.columns, actual.rows, false)) expect(pool).toContain(row);
    return;
  }
  expectRowsClose(actual.columns, actual.rows, expected.rows, { ordered: !!q.ordered, tolerance: 1e-9 });
}

describe('planPartialAggregate decomposes exactly', () => {
  for (const n of [1, 3, 5]) {
    const parts = () => splits.find((s) => s.n === n)!;
    it.each(DECOMPOSED.map((q, i) => [i, q.sql, q] as const))(`${n} part(s) #%i %s`, async (_i, _sql, q) => {
      await expectExact(q, parts(), false);
    });
    if (n > 1)
      it.each(DECOMPOSED.map((q, i) => [i, q.sql, q] as const))(
        `${n} parts, empty parts not asked #%i %s`,
        async (_i, _sql, q) => {
          await expectExact(q, parts(), true);
        },
      );
  }
});

describe('planPartialAggregate cuts what the parts send', () => {
  const plan = async (sql: string) => {
    const p = await planPartialAggregate(sql, await tableSchema(), whole);
    if ('reason' in p) throw new Error(p.reason);
    return p;
  };

  it('ORDER BY every group key … LIMIT: each part sends its first n+m groups', async () => {
    const p = await plan(
      'SELECT g, small, count(*) FROM t GROUP BY g, small ORDER BY small, g DESC LIMIT 3 OFFSET 2',
    );
    expect(p.partSql).toMatch(/ORDER BY 2 ASC NULLS LAST, 1 DESC NULLS LAST LIMIT 5$/);
    expect(p.description).toMatch(/first 5 groups/);
  });

  it('ORDER BY some keys, HAVING, or a DISTINCT aggregate: every group', async () => {
    for (const sql of [
      'SELECT g, small, count(*) FROM t GROUP BY g, small ORDER BY g LIMIT 3',
      'SELECT g, count(*) FROM t GROUP BY g HAVING count(*) > 1 ORDER BY g LIMIT 3',
      'SELECT g, count(DISTINCT small) FROM t GROUP BY g ORDER BY g LIMIT 3',
      'SELECT g, count(*) FROM t GROUP BY g ORDER BY count(*) LIMIT 3',
    ])
      expect((await plan(sql)).partSql).not.toMatch(/LIMIT/);
  });

  it('ORDER BY … LIMIT n OFFSET m of rows: each part sends n+m rows', async () => {
    const p = await plan('SELECT id FROM t ORDER BY ratio DESC, id LIMIT 10 OFFSET 5');
    expect(p.partSql).toMatch(/LIMIT 15$/);
    expect(p.mergeSql).toMatch(/LIMIT 10 OFFSET 5$/);
  });

  it('count(DISTINCT x): the parts group by x, and send counts, not rows', async () => {
    const p = await plan('SELECT g, count(DISTINCT color), count(*) FROM t GROUP BY g');
    expect(p.partSql).toMatch(/GROUP BY 1, 2$/);
    expect(p.description).toMatch(/1 key and 1 DISTINCT argument/);
  });
});

describe('planPartialAggregate declines what it cannot merge exactly', () => {
  it.each(DECLINED)('%s', async (sql, why) => {
    const plan = await planPartialAggregate(sql, await tableSchema(), whole);
    expect(plan).toHaveProperty('reason');
    expect((plan as { reason: string }).reason).toMatch(why);
  });
});

describe('planPartialAggregate follows the session’s default ORDER BY', () => {
  it.each([
    'SELECT small FROM t ORDER BY small LIMIT 300',
    'SELECT sparse, count(*) FROM t GROUP BY sparse ORDER BY sparse DESC LIMIT 3',
  ])('%s', async (sql) => {
    const session = await instance.connect();
    try {
      await session.run("SET default_null_order = 'nulls_first'; SET default_order = 'desc'");
      const plan = await planPartialAggregate(sql, await tableSchema(), session);
      if ('reason' in plan) throw new Error(plan.reason);
      const expected = await resultToJson(await session.runAndReadAll(sql));
      const actual = await runPlanned(splits[2], plan.partSql, plan.mergeSql, false);
      expect(canonicalRows(actual.columns, actual.rows, true)).toEqual(
        canonicalRows(expected.columns, expected.rows, true),
      );
    } finally {
      session.closeSync();
    }
  });
});

/** Random grouped aggregate queries over the test table: keys, aggregates, FILTER, WHERE, HAVING, ORDER BY, LIMIT. */
function randomQueries(count: number, seed: number): Q[] {
  const next = seededRandom(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)];
  const numbers = ['id', 'small', 'big', 'price', 'ratio', 'huge', 'fl', 'sparse', '"Weird Name"', 'ub'];
  const any = [...numbers, 'color', 'day', 'ts', 'name', 'flag'];
  const predicates = [
    'flag',
    'g < 4',
    "color <> 'red'",
    'price > 0',
    'sparse IS NULL',
    'id % 3 = 1',
    'ratio < 50',
  ];
  const keys = ['g', 'small', 'color', 'flag', "date_trunc('month', day)", 'sparse % 3', 'upper(name)'];
  const aggregates = [
    () => 'count(*)',
    () => `count(${pick(any)})`,
    () => `sum(${pick(numbers)})`,
    () => `avg(${pick(numbers)})`,
    () => `min(${pick(any)})`,
    () => `max(${pick(any)})`,
    () => `count(DISTINCT ${pick(any)})`,
    () => `sum(DISTINCT ${pick(['small', 'sparse', 'price', 'g'])})`,
    () => 'bool_and(flag)',
    () => 'bool_or(flag)',
    () => 'count_if(flag)',
  ];
  const out: Q[] = [];
  for (let i = 0; i < count; i++) {
    const k = [...new Set(Array.from({ length: Math.floor(next() * 3) }, () => pick(keys)))];
    const aggs = Array.from({ length: 1 + Math.floor(next() * 4) }, () => {
      const a = pick(aggregates)();
      return next() < 0.3 ? `${a} FILTER (WHERE ${pick(predicates)})` : a;
    });
    let sql = `SELECT ${[...k, ...aggs].join(', ')} FROM t`;
    if (next() < 0.5) sql += ` WHERE ${pick(predicates)}`;
    if (k.length > 0) sql += ` GROUP BY ${k.map((_, j) => j + 1).join(', ')}`;
    if (next() < 0.2) sql += ` HAVING count(*) > ${Math.floor(next() * 50)}`;
    const ordered = k.length > 0 && next() < 0.6;
    if (ordered) {
      sql += ` ORDER BY ${k.map((_, j) => `${j + 1}${next() < 0.5 ? ' DESC' : ''}`).join(', ')}`;
      if (next() < 0.5) sql += ` LIMIT ${1 + Math.floor(next() * 5)} OFFSET ${Math.floor(next() * 3)}`;
    }
    out.push({ sql, ordered });
  }
  return out;
}

describe('planPartialAggregate is exact on random aggregate queries', () => {
  it.each(
    randomQueries(Number(process.env.PA_COUNT ?? 60), Number(process.env.PA_SEED ?? 16)).map(
      (q, i) => [i, q.sql, q] as const,
    ),
  )('#%i %s', async (_i, _sql, q) => {
    for (const parts of splits) await expectExact(q, parts, false);
    await expectExact(q, splits[2], true);
  });
});

describe('planPartialAggregate over a table whose columns are named like the partial columns', () => {
  it.each([
    'SELECT c1, sum(c0), count(DISTINCT c2) FROM u WHERE c0 > 1 GROUP BY c1 ORDER BY c1',
    'SELECT c1 AS c5, max(c0) AS c3 FROM u GROUP BY c1 HAVING min(c2) >= 0 ORDER BY c5 DESC',
    'SELECT c0 FROM u ORDER BY c2 DESC, c0 LIMIT 4',
  ])('%s', async (sql) => {
    const setup = await instance.connect();
    const parts = [await instance.connect(), await instance.connect()];
    try {
      await setup.run(
        'CREATE OR REPLACE TABLE u AS SELECT (i % 5)::INTEGER AS c1, i AS c0, i % 3 AS c2 FROM range(40) r(i)',
      );
      for (const [i, con] of parts.entries())
        await con.run(`CREATE TEMP TABLE u AS SELECT * FROM memory.main.u WHERE c0 % 2 = ${i}`);
      const table = { name: 'u', columns: ['c1', 'c0', 'c2'], types: ['INTEGER', 'BIGINT', 'BIGINT'] };
      const plan = await planPartialAggregate(sql, table, setup);
      if ('reason' in plan) throw new Error(plan.reason);
      const expected = await resultToJson(await setup.runAndReadAll(sql));
      const actual = await runPlanned(
        { n: 2, cons: parts, empty: [false, false] },
        plan.partSql,
        plan.mergeSql,
        false,
      );
      expect(actual.columns).toEqual(expected.columns);
      expect(canonicalRows(actual.columns, actual.rows, true)).toEqual(
        canonicalRows(expected.columns, expected.rows, true),
      );
    } finally {
      for (const con of [setup, ...parts]) con.closeSync();
    }
  });
});
