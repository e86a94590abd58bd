/**
 * Eager aggregation below a join is exact: for each query, the table eagerAggregation
 * aggregates below its join is then pushed as a derived table (subquery-pushdown.ts), run over
 * the tables as its container would into its TEMP table, and the rewritten SQL, with the table
 * hidden behind an empty TEMP table of another shape, answers as the original query does:
 * column names and types, rows, order where it orders. The data has NULL keys on both sides,
 * duplicate keys on the preserved side, keys without a match, NULL values and an empty table.
 * Shapes where it would not be exact are left as they are, with the reason.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eagerAggregation, MIN_REDUCTION } from '../../src/coordinator/plan/eager-aggregation.js';
import { planSubqueryPushdown } from '../../src/coordinator/plan/subquery-pushdown.js';
import { expectPlanAnswersAsOriginal, tableSchema } from './pushed-plan-answer.js';

const TABLES = `
CREATE TABLE cust AS
  SELECT CASE WHEN i % 10 = 0 THEN NULL ELSE i % 50 END AS c_key, 'name ' || (i % 37) AS c_name,
         (i % 4)::INTEGER AS c_grp
  FROM range(60) r(i);
CREATE TABLE ord AS
  SELECT CASE WHEN i % 17 = 0 THEN NULL ELSE (i * 7) % 70 END AS o_key, i AS o_id,
         CASE WHEN i % 11 = 0 THEN NULL ELSE ((i % 13) * 1.5)::DECIMAL(10, 2) END AS o_amt,
         CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 19) / 3.0 END AS o_score,
         'comment ' || i AS o_comment, (i % 3)::INTEGER AS o_flag
  FROM range(400) r(i);
CREATE TABLE grp AS SELECT i AS id, 'group ' || i AS label FROM range(3) r(i);
CREATE TABLE nothing AS SELECT * FROM ord WHERE false;`;

const schemas = new Map<string, { name: string; columns: string[]; types: string[]; rows: number }>();
const lookup = (name: string) => schemas.get(name.toLowerCase());
/** Every block it applies to, worth it or not (the exactness tests). */
const always = { reducedBy: () => [], minReduction: 1 };

/** Queries with the table aggregated below its join. */
const REWRITTEN: { sql: string; table: string; ordered?: boolean }[] = [
  {
    // TPC-H Q13's shape.
    sql: `SELECT c_count, count(*) AS custdist FROM (SELECT c_key, count(o_id) FROM cust LEFT OUTER JOIN ord
      ON c_key = o_key AND o_comment NOT LIKE '%1%' GROUP BY c_key) AS c_orders (c_key, c_count)
      GROUP BY c_count ORDER BY custdist DESC, c_count DESC`,
    table: 'ord',
    ordered: true,
  },
  {
    sql: `SELECT c_grp, count(*), sum(o_amt), min(o_score), max(o.o_comment), avg(o_amt), avg(o_score)
      FROM cust c JOIN ord o ON c.c_key = o.o_key GROUP BY c_grp`,
    table: 'ord',
  },
  {
    sql: `SELECT c_name, count(*) AS n, count(o_amt), avg(o_score) FROM cust LEFT JOIN ord ON o_key = c_key
      WHERE c_grp < 3 GROUP BY c_name HAVING count(*) > 1 ORDER BY n DESC, c_name`,
    table: 'ord',
    ordered: true,
  },
  {
    // ord preserved: its ON conjunct stays, and o_flag is a group key.
    sql: `SELECT c_grp, sum(o_amt), count(*) FROM cust RIGHT JOIN ord ON c_key = o_key AND o_flag = 1 GROUP BY c_grp`,
    table: 'ord',
  },
  {
    sql: `SELECT c_grp, count(*), count(o_id), sum(o_amt) FROM cust FULL JOIN ord ON c_key = o_key GROUP BY c_grp`,
    table: 'ord',
  },
  {
    sql: `SELECT c_name, sum(o_amt) FROM cust, ord WHERE c_key = o_key AND o_flag = 2 GROUP BY c_name`,
    table: 'ord',
  },
  {
    sql: `SELECT c_grp, count(DISTINCT o_flag), sum(DISTINCT o_amt), max(DISTINCT o_score) FROM cust
      JOIN ord ON c_key = o_key GROUP BY c_grp`,
    table: 'ord',
  },
  {
    sql: `SELECT c_key, count(n.o_id), sum(n.o_amt), count(*) FROM cust LEFT JOIN nothing n ON c_key = n.o_key GROUP BY c_key`,
    table: 'nothing',
  },
  {
    sql: `SELECT count(*), sum(o_amt) FROM cust JOIN nothing ON c_key = o_key`,
    table: 'nothing',
  },
  {
    sql: `SELECT count(*), count(o_id), max(o_score) FROM cust LEFT JOIN ord ON c_key = o_key`,
    table: 'ord',
  },
  {
    sql: `SELECT o_flag, c_grp, sum(o_amt) AS s FROM cust JOIN ord ON c_key = o_key GROUP BY o_flag, c_grp ORDER BY 1, 2`,
    table: 'ord',
    ordered: true,
  },
  {
    sql: `SELECT c_grp, count(*) FILTER (WHERE o_flag = 1), sum(o_amt) FILTER (WHERE o_flag > 0) FROM cust
      JOIN ord ON c_key = o_key GROUP BY c_grp`,
    table: 'ord',
  },
  {
    sql: `SELECT c_key, sum(o_amt * (1 - o_flag)) AS s, count(o_score > 2) FROM cust LEFT JOIN ord ON c_key = o_key
      GROUP BY c_key ORDER BY c_key NULLS FIRST`,
    table: 'ord',
    ordered: true,
  },
  {
    sql: `SELECT g.label, count(o_id) FROM cust JOIN grp g ON c_grp = g.id LEFT JOIN ord ON o_key = c_key GROUP BY g.label`,
    table: 'ord',
  },
  {
    sql: `SELECT c_grp, count(o_id), sum(o_amt) FROM grp g LEFT JOIN (cust JOIN ord ON c_key = o_key AND o_flag = 1)
      ON g.id = c_grp GROUP BY c_grp`,
    table: 'ord',
  },
  {
    // ord NULL-extended below the join whose ON reads it: the conjunct stays there.
    sql: `SELECT g.label, count(o_id) FROM grp g JOIN (cust LEFT JOIN ord ON c_key = o_key)
      ON g.id = c_grp AND o_flag IS NULL GROUP BY g.label`,
    table: 'ord',
  },
  {
    sql: `SELECT DISTINCT c_grp % 2 AS odd, sum(o_amt) > 100 AS big FROM cust JOIN ord ON c_key = o_key + 1 GROUP BY c_grp`,
    table: 'ord',
  },
];

/** Queries left as they are. */
const DECLINED = [
  // count(*) alone: no table's columns to aggregate.
  `SELECT c_key, count(*) FROM cust JOIN ord ON c_key = o_key GROUP BY c_key`,
  // Aggregates of both tables.
  `SELECT count(c_name), sum(o_amt) FROM cust JOIN ord ON c_key = o_key`,
  // Under a LEFT join, an argument that is not NULL on ord's NULLs, and count(*) FILTER.
  `SELECT c_key, count(coalesce(o_amt, 0)) FROM cust LEFT JOIN ord ON c_key = o_key GROUP BY c_key`,
  `SELECT c_key, count(*) FILTER (WHERE o_flag = 1) FROM cust LEFT JOIN ord ON c_key = o_key GROUP BY c_key`,
  // A subquery, a window function, no key, an aggregate without an exact merge.
  `SELECT c_grp, sum(o_amt) FROM cust JOIN ord ON c_key = o_key WHERE o_flag IN (SELECT 1) GROUP BY c_grp`,
  `SELECT c_grp, sum(o_amt), rank() OVER (ORDER BY c_grp) FROM cust JOIN ord ON c_key = o_key GROUP BY c_grp`,
  `SELECT c_grp, sum(o_amt) FROM cust CROSS JOIN ord GROUP BY c_grp`,
  `SELECT c_grp, median(o_amt) FROM cust JOIN ord ON c_key = o_key GROUP BY c_grp`,
  // A derived table in the join, several grouping sets, a volatile function.
  `SELECT c_grp, sum(o_amt) FROM cust JOIN (SELECT * FROM ord) o ON c_key = o_key GROUP BY c_grp`,
  `SELECT c_grp, sum(o_amt) FROM cust JOIN ord ON c_key = o_key GROUP BY ROLLUP (c_grp)`,
  `SELECT c_grp, sum(o_amt) FROM cust JOIN ord ON c_key = o_key AND random() < 2 GROUP BY c_grp`,
];

let db: DuckDBInstance;
let container: DuckDBConnection;

beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:');
  container = await db.connect();
  await container.run(TABLES);
  for (const name of ['cust', 'ord', 'grp', 'nothing']) schemas.set(name, await tableSchema(container, name));
});

afterAll(() => {
  container.closeSync();
  db.closeSync();
});

describe('eagerAggregation', () => {
  it.each(REWRITTEN.map((q) => [q.sql, q] as const))('is exact: %s', async (_sql, q) => {
    const con = await db.connect();
    try {
      const eager = await eagerAggregation(con, q.sql, lookup, always);
      expect(eager.notes).toEqual([]);
      expect(eager.tables).toEqual([q.table]);
      const plan = await planSubqueryPushdown(con, eager.sql as string, lookup);
      expect(plan?.subqueries.map((s) => s.table)).toContain(q.table);
      if (!plan) return;
      expect([...plan.unread]).toContain(q.table);
      await expectPlanAnswersAsOriginal(container, con, plan, q.sql, !!q.ordered);
    } finally {
      con.closeSync();
    }
  });

  it.each(DECLINED)('declines, saying why: %s', async (sql) => {
    await container.run(`PREPARE check_valid AS ${sql}`);
    const eager = await eagerAggregation(container, sql, lookup, always);
    expect(eager.sql).toBeUndefined();
    expect(eager.notes.length).toBe(1);
    expect(eager.notes[0]).toMatch(/^not aggregated below the join of .+: ./);
  });

  it('declines a table whose scan other tables reduce', async () => {
    const reducedBy = (t: string) => (t === 'ord' ? ['cust'] : []);
    const eager = await eagerAggregation(container, REWRITTEN[0].sql, lookup, { ...always, reducedBy });
    expect(eager.sql).toBeUndefined();
    expect(eager.notes).toEqual([
      "not aggregated below the join of cust, ord: ord's scan is reduced by the keys of cust",
    ]);
  });

  it('aggregates a table below its join only where that promises at least MIN_REDUCTION times fewer rows', async () => {
    const worth = { reducedBy: () => [], minReduction: MIN_REDUCTION };
    // ord (400 rows) by a key equal to cust's (60 rows): at most 60 groups.
    const fewer = `SELECT c_grp, sum(o_amt) FROM cust JOIN ord ON c_key = o_key GROUP BY c_grp`;
    expect((await eagerAggregation(container, fewer, lookup, worth)).tables).toEqual(['ord']);
    // cust (60 rows) by a key equal to ord's: as many groups as rows, as by a column no join equates.
    for (const sql of [
      `SELECT o_flag, count(c_name) FROM ord JOIN cust ON c_key = o_key GROUP BY o_flag`,
      `SELECT o_flag, c_grp, sum(o_amt) FROM cust JOIN ord ON c_key = o_key GROUP BY o_flag, c_grp`,
    ]) {
      const eager = await eagerAggregation(container, sql, lookup, worth);
      expect(eager.sql).toBeUndefined();
      expect(eager.notes[0]).toMatch(/would keep about \d+ of its \d+ rows/);
    }
  });

  it('declines a table the query reads elsewhere too', async () => {
    const sql = `WITH x AS (SELECT c_grp, sum(o_amt) AS s FROM cust JOIN ord ON c_key = o_key GROUP BY c_grp)
      SELECT * FROM x, (SELECT max(o_id) FROM ord) m`;
    const eager = await eagerAggregation(container, sql, lookup, always);
    expect(eager.sql).toBeUndefined();
    expect(eager.notes).toContain(
      'not aggregated below the join of cust, ord: ord is read elsewhere in the query too',
    );
  });
});
