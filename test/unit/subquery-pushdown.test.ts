/**
 * Subquery pushdown is exact: for each query, every subquery planSubqueryPushdown pushes is
 * run over the tables (as its container would) into its TEMP table, and the rewritten SQL,
 * with each table it no longer reads hidden behind an empty TEMP table of another shape,
 * answers as the original query does: column names and types, rows, order where it orders.
 * Shapes that are not exact (correlated, several tables, not aggregating…) are not pushed.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogTable } from '../../src/coordinator/catalog/catalog.js';
import { useful } from '../../src/coordinator/execute/reduction-schedule.js';
import { analyzeQuery, type QueryAnalysis } from '../../src/coordinator/plan/analyze/index.js';
import {
  type AnalyzeRewritten,
  planSubqueryPushdown,
  subqueryPlanOf,
} from '../../src/coordinator/plan/subquery-pushdown.js';
import { canonicalRows } from '../helpers/oracle.js';
import { openParser } from './analyze-helpers.js';
import { answer, expectPlanAnswersAsOriginal, tableSchema } from './pushed-plan-answer.js';

const TABLES = `
CREATE TABLE labels AS
  SELECT i AS label_id, 'label ' || i AS name, (i % 4)::INTEGER AS kind FROM range(200) r(i);
CREATE TABLE label_urls AS
  SELECT (i * 7) % 230 AS label_id, 'https://x/' || i AS url,
         CASE WHEN i % 9 = 0 THEN NULL ELSE (i % 13) * 1.5 END AS score
  FROM range(3000) r(i);
CREATE TABLE other AS SELECT i AS id FROM range(5) r(i);`;

/** The tables a subquery may be pushed to (`other` is not one), with their columns and types. */
const schemas = new Map<string, { name: string; columns: string[]; types: string[] }>();
const lookup = (name: string) => schemas.get(name.toLowerCase());

/** Queries with the tables (lower-case) whose subqueries must be pushed, in order. */
const PUSHED: { sql: string; pushed: string[]; unread?: string[]; ordered?: boolean }[] = [
  {
    sql: `SELECT l.name, x.n FROM labels l JOIN (SELECT label_id, count(*) AS n FROM label_urls WHERE url LIKE '%1%' GROUP BY label_id) x USING (label_id)`,
    pushed: ['label_urls'],
    unread: ['label_urls'],
  },
  {
    sql: `SELECT l.name, x.a, x.b FROM labels l JOIN (SELECT label_id, sum(score), max(url) FROM label_urls GROUP BY ALL) x(id, a, b) ON l.label_id = x.id ORDER BY x.a DESC NULLS LAST, l.name LIMIT 17`,
    pushed: ['label_urls'],
    unread: ['label_urls'],
    ordered: true,
  },
  {
    sql: `WITH x AS (SELECT label_id, count(DISTINCT url) AS n, avg(score) AS s FROM label_urls GROUP BY label_id HAVING count(*) > 5) SELECT l.kind, sum(x.n), max(x.s) FROM labels l JOIN x ON x.label_id = l.label_id GROUP BY l.kind`,
    pushed: ['label_urls'],
    unread: ['label_urls'],
  },
  {
    sql: `WITH x(k, n) AS (SELECT label_id, count(*) FROM label_urls GROUP BY 1) SELECT a.k, a.n, b.n FROM x a JOIN x b ON a.k = b.k - 1`,
    pushed: ['label_urls'],
    unread: ['label_urls'],
  },
  {
    sql: `SELECT count(*), sum(lu.score) FROM label_urls lu JOIN (SELECT DISTINCT label_id FROM label_urls WHERE score > 10) d USING (label_id)`,
    pushed: ['label_urls'],
  },
  {
    sql: `SELECT l.name, u.n, k.c FROM labels l LEFT JOIN (SELECT label_id, count(*) n FROM label_urls GROUP BY label_id) u USING (label_id) JOIN (SELECT kind, count(*) c FROM labels GROUP BY kind) k USING (kind)`,
    pushed: ['label_urls', 'labels'],
    unread: ['label_urls'],
  },
  {
    sql: `SELECT name FROM labels WHERE label_id IN (SELECT label_id FROM (SELECT label_id, sum(score) AS s FROM label_urls GROUP BY label_id) t WHERE s > 100) ORDER BY name`,
    pushed: ['label_urls'],
    unread: ['label_urls'],
    ordered: true,
  },
  {
    sql: `SELECT l.name, t.n FROM labels l, (SELECT count(*) AS n FROM label_urls WHERE score IS NULL) t WHERE l.label_id < 3`,
    pushed: ['label_urls'],
    unread: ['label_urls'],
  },
  {
    sql: `SELECT x.label_id, x.top FROM (SELECT label_id, max(url) AS top FROM label_urls GROUP BY label_id ORDER BY label_id LIMIT 10) x JOIN labels USING (label_id)`,
    pushed: ['label_urls'],
    unread: ['label_urls'],
  },
  {
    // TPC-H Q18's shape.
    sql: `SELECT l.name, count(*) AS n FROM labels l JOIN label_urls u USING (label_id) WHERE l.label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING sum(score) > 100) GROUP BY l.name`,
    pushed: ['label_urls'],
  },
  {
    sql: `SELECT name, (SELECT max(score) FROM label_urls) AS top FROM labels WHERE EXISTS (SELECT DISTINCT kind FROM labels WHERE kind = 2) AND kind > (SELECT count(DISTINCT label_id) % 3 FROM label_urls)`,
    pushed: ['label_urls', 'labels', 'label_urls'],
    unread: ['label_urls'],
  },
];

/** Queries where no subquery may be pushed. */
const DECLINED = [
  // Correlated (LATERAL, and an outer reference).
  `SELECT l.name, t.n FROM labels l, LATERAL (SELECT count(*) AS n FROM label_urls u WHERE u.label_id = l.label_id) t`,
  `SELECT l.name, t.n FROM labels l, LATERAL (SELECT count(*) + l.kind AS n FROM label_urls) t`,
  // Not aggregating: a scan moves as many rows.
  `SELECT l.name, x.url FROM labels l JOIN (SELECT label_id, url FROM label_urls WHERE score > 3) x USING (label_id)`,
  // Two tables in the subquery.
  `SELECT * FROM other JOIN (SELECT l.kind, count(*) AS n FROM labels l JOIN label_urls u USING (label_id) GROUP BY l.kind) x ON x.kind = other.id`,
  // A subquery inside it.
  `SELECT * FROM labels JOIN (SELECT label_id, count(*) FROM label_urls WHERE label_id IN (SELECT label_id FROM labels WHERE kind = 1) GROUP BY label_id) x USING (label_id)`,
  // A CTE of the query shadows the table.
  `WITH label_urls AS (SELECT * FROM labels) SELECT * FROM other JOIN (SELECT kind, count(*) n FROM label_urls GROUP BY kind) x ON x.kind = other.id`,
  // Not a table the coordinator can push to.
  `SELECT * FROM labels JOIN (SELECT id, count(*) n FROM other GROUP BY id) x ON x.id = labels.kind`,
  // Repeated output names.
  `SELECT l.name FROM labels l JOIN (SELECT label_id, label_id, count(*) FROM label_urls GROUP BY label_id) x ON true LIMIT 0`,
  // Schema-qualified, sampled.
  `SELECT * FROM labels JOIN (SELECT label_id, count(*) n FROM main.label_urls GROUP BY label_id) x USING (label_id)`,
  `SELECT * FROM labels JOIN (SELECT label_id, count(*) n FROM label_urls TABLESAMPLE 10% GROUP BY label_id) x USING (label_id)`,
  // Correlated expression subqueries.
  `SELECT name FROM labels l WHERE kind < (SELECT count(*) FROM label_urls u WHERE u.label_id = l.label_id)`,
  `SELECT name FROM labels WHERE EXISTS (SELECT max(score) FROM label_urls HAVING max(score) > kind)`,
  // A sampled derived table.
  `SELECT count(*) FROM labels JOIN (SELECT label_id, count(*) n FROM label_urls GROUP BY label_id) x TABLESAMPLE 50% USING (label_id)`,
  // No alias.
  `SELECT count(*) FROM labels, (SELECT count(*) AS n FROM label_urls)`,
];

let db: DuckDBInstance;
let container: DuckDBConnection;

beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:');
  container = await db.connect();
  await container.run(TABLES);
  for (const name of ['labels', 'label_urls']) schemas.set(name, await tableSchema(container, name));
});

afterAll(() => {
  container.closeSync();
  db.closeSync();
});

describe('planSubqueryPushdown', () => {
  it.each(PUSHED.map((q) => [q.sql, q] as const))('pushes exactly: %s', async (_sql, q) => {
    const con = await db.connect();
    try {
      const plan = await planSubqueryPushdown(con, q.sql, lookup);
      expect(plan?.subqueries.map((s) => s.table)).toEqual(q.pushed);
      if (!plan) return;
      expect([...plan.unread].sort()).toEqual([...(q.unread ?? [])].sort());
      await expectPlanAnswersAsOriginal(container, con, plan, q.sql, !!q.ordered);
    } finally {
      con.closeSync();
    }
  });

  it.each(DECLINED)('declines: %s', async (sql) => {
    await container.run(`PREPARE check_valid AS ${sql}`);
    expect(await planSubqueryPushdown(container, sql, lookup)).toBeUndefined();
  });
});

describe('subqueryPlanOf', () => {
  let parser: Awaited<ReturnType<typeof openParser>>;
  beforeAll(async () => {
    parser = await openParser();
  });
  afterAll(() => parser?.close());

  const catalog = () =>
    [...schemas.values()].map((t) => ({ name: t.name, columns: t.columns, types: t.types }));
  const tableOf = (name: string) => {
    const schema = lookup(name);
    if (!schema) return undefined;
    const columns = schema.columns.map((c, i) => ({ name: c, type: schema.types[i] }));
    return { name: schema.name, columns } as unknown as CatalogTable;
  };
  const planOf = async (sql: string, options: { scanPerReference?: boolean } = {}) => {
    const analysis = await analyzeQuery(sql, catalog(), parser.duck, options);
    const again: AnalyzeRewritten = (rewritten, results) =>
      analyzeQuery(rewritten, catalog(), parser.duck, { ...options, results });
    const scansSql = analysis.sql ?? sql;
    return {
      analysis,
      planned: (await subqueryPlanOf(container, scansSql, analysis, tableOf, again)).pushed,
    };
  };

  it('pushes only the subqueries of tables the SQL then no longer reads, and drops those tables from the scans', async () => {
    const { analysis, planned } = await planOf(PUSHED[5].sql);
    // labels' own subquery is not pushed: labels is scanned for the outer query anyway.
    expect(planned?.plan.subqueries.map((s) => s.table)).toEqual(['label_urls']);
    expect(planned?.analysis.tables.map((t) => t.table)).toEqual(['labels']);
    expect(planned?.analysis.reductions).toEqual([]);
    expect(planned?.analysis.otherReductions).toEqual([]);
    expect(planned?.analysis.subquerySources).toEqual([]);
    expect(planned?.analysis.references.map((r) => r.table)).toEqual(['labels', 'labels']);
    const single = { ...analysis, tables: analysis.tables.slice(0, 1) };
    expect(
      (await subqueryPlanOf(container, PUSHED[5].sql, single, tableOf, async () => single)).pushed,
    ).toBeUndefined();
    // Planned again once a table it looked up changes: no longer queryable, it is not pushed.
    const again: AnalyzeRewritten = (rewritten, results) =>
      analyzeQuery(rewritten, catalog(), parser.duck, { results });
    const gone = (name: string) => (name === 'label_urls' ? undefined : tableOf(name));
    expect((await subqueryPlanOf(container, PUSHED[5].sql, analysis, gone, again)).pushed).toBeUndefined();
    expect((await subqueryPlanOf(container, PUSHED[5].sql, analysis, tableOf, again)).pushed?.plan).toEqual(
      planned?.plan,
    );
  });

  it('gives a scan the comparison of a WHERE conjunct with a pushed scalar subquery, either side', async () => {
    for (const [where, op] of [
      ["u.score > (SELECT avg(score) FROM label_urls WHERE score > 2) AND u.url LIKE '%1%'", '>'],
      ["(SELECT avg(score) FROM label_urls WHERE score > 2) >= u.score AND u.url LIKE '%1%'", '<='],
    ] as const) {
      // u, filtered otherwise, reads a scan of its own, as the coordinator plans it.
      const sql = `SELECT l.name, u.url FROM labels l JOIN label_urls u USING (label_id) WHERE ${where}`;
      const { planned } = await planOf(sql, { scanPerReference: true });
      expect(planned?.plan.subqueries.map((s) => s.temp)).toEqual(['__subquery_0']);
      const urls = planned?.analysis.tables.find((t) => t.table === 'label_urls');
      expect(urls?.scalars).toEqual([
        { column: 'score', op, result: '__subquery_0', resultColumn: expect.any(String) },
      ]);
      expect(planned?.analysis.tables.find((t) => t.table === 'labels')?.scalars).toBeUndefined();
    }
  });

  it.each([
    [
      'in an OR',
      "u.url LIKE '%1%' AND (u.score > (SELECT avg(score) FROM label_urls WHERE score > 2) OR l.kind = 1)",
    ],
    [
      'compared with an expression of it',
      "u.url LIKE '%1%' AND u.score > (SELECT avg(score) FROM label_urls WHERE score > 2) + 1",
    ],
  ])('gives no scan a comparison with a scalar subquery %s', async (_, where) => {
    const sql = `SELECT l.name, u.url FROM labels l JOIN label_urls u USING (label_id) WHERE ${where}`;
    const { planned } = await planOf(sql, { scanPerReference: true });
    expect(planned?.plan.subqueries.map((s) => s.temp)).toEqual(['__subquery_0']);
    for (const t of planned?.analysis.tables ?? []) expect(t.scalars).toBeUndefined();
  });

  it('gives no comparison with a scalar subquery to the NULL-extended side of an outer join', async () => {
    const sql = `SELECT l.name, u.url FROM labels l LEFT JOIN label_urls u ON l.label_id = u.label_id AND u.url LIKE '%1%'
      WHERE u.score > (SELECT avg(score) FROM label_urls WHERE score > 2)`;
    const { planned } = await planOf(sql, { scanPerReference: true });
    expect(planned?.plan.subqueries.map((s) => s.temp)).toEqual(['__subquery_0']);
    for (const t of planned?.analysis.tables ?? []) expect(t.scalars).toBeUndefined();
  });

  it("pushes an IN subquery of a table read elsewhere too: its result is keys for the other tables' scans", async () => {
    const sql = `SELECT l.name, count(*) AS n FROM labels l JOIN label_urls u USING (label_id)
      WHERE l.label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 14) GROUP BY l.name`;
    const { planned } = await planOf(sql);
    expect(planned?.plan.subqueries.map((s) => [s.table, s.temp, s.columns, s.types])).toEqual([
      ['label_urls', '__subquery_0', ['label_id'], ['BIGINT']],
    ]);
    const analysis = planned?.analysis as QueryAnalysis;
    expect(analysis.tables.map((t) => t.table)).toEqual(['labels', 'label_urls']);
    expect(analysis.subquerySources).toEqual(['__subquery_0']);
    expect(useful(analysis).map((r) => `${r.source}.${r.sourceColumn}>${r.table}.${r.column}`)).toEqual([
      '__subquery_0.label_id>labels.label_id',
      'labels.label_id>label_urls.label_id',
    ]);
  });

  it.each([
    'l.label_id NOT IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 14)',
    'l.label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 14) IS NOT TRUE',
    'l.label_id > ALL (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 14)',
    'l.label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 14) OR l.kind = 1',
  ])('keeps no subquery of a table read elsewhere that gives no keys: %s', async (where) => {
    const sql = `SELECT l.name, count(*) AS n FROM labels l JOIN label_urls u USING (label_id) WHERE ${where} GROUP BY l.name`;
    const { analysis, planned } = await planOf(sql);
    expect(analysis.subqueryReductions).toEqual([]);
    expect(planned).toBeUndefined();
  });

  it("renames anew the scans of the SQL rewritten over a pushed IN's result, which is keys for them", async () => {
    const sql = `SELECT l.name FROM labels l WHERE l.kind = 1
      AND EXISTS (SELECT 1 FROM labels m WHERE m.kind = l.kind AND m.name LIKE '%7')
      AND l.label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING label_id % 3 = 0)`;
    const options = { scanPerReference: true };
    const analysis = await analyzeQuery(sql, catalog(), parser.duck, options);
    expect(analysis.tables.map((t) => t.scan ?? t.table)).toEqual(['labels', 'labels#2', 'label_urls']);
    const again: AnalyzeRewritten = (rewritten, results) =>
      analyzeQuery(rewritten, catalog(), parser.duck, { ...options, results });
    const planned = (await subqueryPlanOf(container, analysis.sql ?? sql, analysis, tableOf, again)).pushed;
    expect(planned?.plan.subqueries.map((s) => [s.table, s.read])).toEqual([['label_urls', 'label_urls']]);
    expect(planned?.plan.sql).not.toMatch(/labels#2/);
    const rewritten = planned?.analysis as QueryAnalysis;
    expect(rewritten.tables.map((t) => t.scan ?? t.table)).toEqual(['labels', 'labels#2']);
    expect(rewritten.subquerySources).toEqual(['__subquery_0']);
    expect(useful(rewritten).map((r) => `${r.source}.${r.sourceColumn}>${r.table}.${r.column}`)).toEqual([
      '__subquery_0.label_id>labels.label_id',
      'labels.kind>labels#2.kind',
    ]);
    // The SQL run over the scans' and the subquery's TEMP tables answers as the user's does.
    const con = await db.connect();
    try {
      await con.run(`CREATE TEMP TABLE __subquery_0 AS ${planned?.plan.subqueries[0].query}`);
      await con.run('CREATE TEMP TABLE "labels#2" AS SELECT * FROM labels');
      const expected = await answer(container, sql);
      expect(expected.rows.length).toBeGreaterThan(0);
      const actual = await answer(con, rewritten.sql as string);
      expect(canonicalRows(actual.columns, actual.rows, false)).toEqual(
        canonicalRows(expected.columns, expected.rows, false),
      );
    } finally {
      con.closeSync();
    }
  });

  it('pushes a subquery whose reference reads a scan of its own, over the table, and drops that scan', async () => {
    const sql = `SELECT l.label_id FROM labels l WHERE l.name LIKE '%a%'
      AND l.label_id > (SELECT avg(label_id) FROM "temp".main."labels#2" AS labels WHERE kind = 'x')`;
    const analysis: QueryAnalysis = {
      tables: [
        { table: 'labels', columns: ['label_id', 'kind', 'name'], references: ['l'] },
        { table: 'labels', scan: 'labels#2', columns: ['label_id', 'kind', 'name'], references: ['labels'] },
      ],
      pushWhole: false,
      sql,
      reductions: [],
      otherReductions: [],
      subqueryReductions: [],
      references: [
        { table: 'labels', binding: 'l', scan: 'labels' },
        { table: 'labels', binding: 'labels', scan: 'labels#2' },
      ],
      notes: [],
    };
    const again: AnalyzeRewritten = (rewritten, results) =>
      analyzeQuery(rewritten, catalog(), parser.duck, { results, scanPerReference: true });
    const planned = (await subqueryPlanOf(container, sql, analysis, tableOf, again)).pushed;
    expect(planned?.plan.subqueries.map((s) => [s.table, s.read])).toEqual([['labels', 'labels#2']]);
    // The rewritten SQL reads no scan of the first analysis: its own analysis names its scans.
    expect(planned?.plan.sql).not.toMatch(/labels#2/);
    expect(planned?.plan.subqueries[0].query).toMatch(/FROM labels AS labels/);
    expect(planned?.analysis.tables.map((t) => t.scan ?? t.table)).toEqual(['labels']);
    expect(planned?.analysis.references.map((r) => r.binding)).toEqual(['l']);
  });
});
