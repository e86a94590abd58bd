import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  analyzeQuery,
  type DuckDbSql,
  type QueryAnalysis,
  type TableCatalogEntry,
  type TableScanPlan,
} from '../../src/coordinator/plan/analyze/index.js';
import { QueryError } from '../../src/errors.js';
import { CATALOG, openParser } from './analyze-helpers.js';

let duck: DuckDbSql;
let con: DuckDBConnection;
let close: () => void;

beforeAll(async () => {
  ({ duck, con, close } = await openParser());
});
afterAll(() => close());

function an(sql: string, catalog: TableCatalogEntry[] = CATALOG): Promise<QueryAnalysis> {
  return analyzeQuery(sql, catalog, duck);
}

function plan(a: QueryAnalysis, table: string): TableScanPlan {
  const p = a.tables.find((t) => t.table === table);
  if (!p) throw new Error(`no plan for ${table} in ${JSON.stringify(a)}`);
  return p;
}

async function fails(sql: string, kind: string, message?: RegExp): Promise<QueryError> {
  try {
    await an(sql);
  } catch (err) {
    expect(err).toBeInstanceOf(QueryError);
    const q = err as QueryError;
    expect(q.kind, q.message).toBe(kind);
    if (message) expect(q.message).toMatch(message);
    return q;
  }
  throw new Error(`expected ${kind} for: ${sql}`);
}

const ALL_LABELS = ['label_id', 'name', 'category'];
const ALL_SUBLABELS = ['label_id', 'sublabel_id', 'sublabel_name'];
const ALL_URLS = ['label_id', 'url'];

describe('tables read', () => {
  it('maps names case-insensitively and through the main schema', async () => {
    const a = await an('SELECT l.name FROM MAIN."LABELS" l JOIN Label_Urls u ON l.label_id = u.label_id');
    expect(a.tables.map((t) => t.table)).toEqual(['labels', 'label_urls']);
    expect(a.pushWhole).toBe(false);
  });

  it('lists a table once however often it is read', async () => {
    const a = await an(
      'SELECT * FROM labels a JOIN labels b ON a.label_id = b.label_id WHERE a.label_id IN (SELECT label_id FROM labels)',
    );
    expect(a.tables.map((t) => t.table)).toEqual(['labels']);
    expect(a.pushWhole).toBe(true);
  });

  it('lets a CTE shadow a table while its body reads the table', async () => {
    const a = await an(
      'WITH labels AS (SELECT label_id FROM labels WHERE label_id > 2) SELECT * FROM labels',
    );
    expect(a.tables).toEqual([
      {
        table: 'labels',
        columns: ['label_id'],
        where: '(label_id > 2)',
        exact: { columns: ['label_id'], applied: ['(label_id > 2)'] },
      },
    ]);
    expect(a.pushWhole).toBe(true);
  });

  it('does not read a table that only a CTE of the same name stands for', async () => {
    const a = await an(
      'WITH label_urls AS (SELECT 1 AS url) SELECT l.name, u.url FROM labels l, label_urls u',
    );
    expect(a.tables.map((t) => t.table)).toEqual(['labels']);
  });

  it('counts a schema-qualified name as the table even under a CTE of that name', async () => {
    const a = await an('WITH labels AS (SELECT 1 AS x) SELECT * FROM main.labels');
    expect(a.tables.map((t) => t.table)).toEqual(['labels']);
    expect(plan(a, 'labels').columns).toEqual(ALL_LABELS);
  });

  it('follows CTEs defined from CTEs and skips unreferenced ones', async () => {
    const a = await an(
      'WITH a AS (SELECT label_id FROM label_urls), b AS (SELECT * FROM a), c AS (SELECT * FROM nope) SELECT * FROM b',
    );
    expect(a.tables).toEqual([{ table: 'label_urls', columns: ['label_id'] }]);
  });

  it('scopes a CTE inside a subquery', async () => {
    const a = await an(
      'SELECT (WITH labels AS (SELECT 2 AS x) SELECT max(x) FROM labels), count(*) FROM label_sublabels',
    );
    expect(a.tables.map((t) => t.table)).toEqual(['label_sublabels']);
  });

  it('reads the table in the anchor of a recursive CTE of the same name', async () => {
    const a = await an(
      'WITH RECURSIVE labels AS (SELECT label_id FROM labels UNION ALL SELECT label_id + 1 FROM labels WHERE label_id < 3) SELECT count(*) FROM labels',
    );
    expect(a.tables.map((t) => t.table)).toEqual(['labels']);
    expect(plan(a, 'labels').columns).toEqual(['label_id']);
  });

  it('handles a recursive CTE over the tables', async () => {
    const a = await an(`WITH RECURSIVE r(id, depth) AS (
        SELECT label_id, 0 FROM labels WHERE category = 'x'
        UNION ALL
        SELECT s.sublabel_id, r.depth + 1 FROM r JOIN label_sublabels s ON s.label_id = r.id WHERE r.depth < 3)
      SELECT * FROM r`);
    expect(a.tables).toEqual([
      {
        table: 'labels',
        columns: ['label_id', 'category'],
        where: "(category = 'x')",
        exact: { columns: ['label_id'], applied: ["(category = 'x')"] },
      },
      { table: 'label_sublabels', columns: ['label_id', 'sublabel_id'] },
    ]);
  });

  it('lets a subquery alias shadow a table name', async () => {
    const a = await an('SELECT labels.x FROM (SELECT 1 AS x) labels');
    expect(a.tables).toEqual([]);
    expect(a.pushWhole).toBe(false);
  });

  it('reads nothing for SQL without tables', async () => {
    expect(await an('SELECT 1 + 1 AS two')).toEqual({
      tables: [],
      pushWhole: false,
      reductions: [],
      otherReductions: [],
      subqueryReductions: [],
      references: [],
      notes: [],
    });
    expect((await an('SELECT * FROM range(3)')).tables).toEqual([]);
  });

  it('pushes a single-table query whole, aggregates and limits included', async () => {
    for (const sql of [
      'SELECT count(*) FROM labels',
      'SELECT category, count(*) FROM labels GROUP BY category ORDER BY 2 DESC LIMIT 3',
      'SELECT * FROM labels a, labels b',
      'WITH x AS (SELECT * FROM labels) SELECT * FROM x UNION ALL SELECT * FROM labels',
      'SELECT * FROM labels, (VALUES (1)) v(n)',
      'SELECT name FROM labels QUALIFY row_number() OVER (PARTITION BY category ORDER BY label_id) = 1',
    ]) {
      expect((await an(sql)).pushWhole, sql).toBe(true);
    }
    expect((await an('SELECT * FROM labels, range(3)')).pushWhole).toBe(false);
    expect((await an('SELECT * FROM labels l JOIN label_urls u USING (label_id)')).pushWhole).toBe(false);
  });
});

describe('columns needed', () => {
  it('needs no column for count(*)', async () => {
    const a = await an('SELECT count(*) FROM labels');
    expect(a.tables).toEqual([{ table: 'labels', columns: [] }]);
  });

  it('keeps catalog order and spelling', async () => {
    const catalog = [{ name: 'Labels', columns: ['Label_ID', 'Name', 'Category'] }];
    const a = await an('SELECT category, NAME FROM labels WHERE "name" = \'x\'', catalog);
    expect(a.tables).toEqual([
      {
        table: 'Labels',
        columns: ['Name', 'Category'],
        where: '("Name" = \'x\')',
        exact: { columns: ['Name', 'Category'], applied: ['("Name" = \'x\')'] },
      },
    ]);
  });

  it('needs every column for * and t.* (only of t)', async () => {
    const a = await an('SELECT l.*, u.url FROM labels l JOIN label_urls u ON l.label_id = u.label_id');
    expect(plan(a, 'labels').columns).toEqual(ALL_LABELS);
    expect(plan(a, 'label_urls').columns).toEqual(ALL_URLS);
    const b = await an('SELECT u.* FROM labels l JOIN label_urls u ON l.label_id = u.label_id');
    expect(plan(b, 'labels').columns).toEqual(['label_id']);
  });

  it('needs every column for * EXCLUDE / REPLACE / COLUMNS(...)', async () => {
    for (const sql of [
      'SELECT * EXCLUDE (category) FROM labels',
      'SELECT * REPLACE (upper(name) AS name) FROM labels',
      "SELECT COLUMNS('.*id') FROM labels",
      "SELECT COLUMNS(c -> c LIKE '%a%') FROM labels",
      'SELECT #1 FROM labels',
    ]) {
      const a = await an(sql);
      expect(a.tables, sql).toEqual([{ table: 'labels', columns: ALL_LABELS }]);
    }
  });

  it('needs an unqualified name from every table that has it', async () => {
    const a = await an(
      'SELECT url, sublabel_name FROM labels l, label_sublabels s, label_urls u WHERE label_id = 1',
    );
    expect(plan(a, 'labels').columns).toEqual(['label_id']);
    expect(plan(a, 'label_sublabels').columns).toEqual(['label_id', 'sublabel_name']);
    expect(plan(a, 'label_urls').columns).toEqual(['label_id', 'url']);
  });

  it('needs USING columns from both sides and everything for NATURAL', async () => {
    const a = await an('SELECT count(*) FROM labels JOIN label_urls USING (label_id)');
    expect(plan(a, 'labels').columns).toEqual(['label_id']);
    expect(plan(a, 'label_urls').columns).toEqual(['label_id']);
    const b = await an('SELECT count(*) FROM labels NATURAL JOIN label_urls');
    expect(plan(b, 'labels').columns).toEqual(ALL_LABELS);
    expect(plan(b, 'label_urls').columns).toEqual(ALL_URLS);
  });

  it('needs every column for a row reference', async () => {
    const a = await an('SELECT l FROM labels l');
    expect(plan(a, 'labels').columns).toEqual(ALL_LABELS);
    const b = await an('SELECT to_json(labels) FROM labels');
    expect(plan(b, 'labels').columns).toEqual(ALL_LABELS);
  });

  it('needs only the referenced columns under EXISTS (SELECT * ...)', async () => {
    const a = await an(
      'SELECT name FROM labels l WHERE EXISTS (SELECT * FROM label_urls u WHERE u.label_id = l.label_id)',
    );
    expect(plan(a, 'label_urls').columns).toEqual(['label_id']);
    expect(plan(a, 'labels').columns).toEqual(['label_id', 'name']);
  });

  it('collects columns from every clause and subquery', async () => {
    const a = await an(`SELECT l.category, count(DISTINCT s.sublabel_name) FILTER (WHERE s.sublabel_id > 1)
      FROM labels l LEFT JOIN label_sublabels s ON s.label_id = l.label_id
      GROUP BY l.category HAVING max(l.name) > 'a'
      ORDER BY (SELECT count(*) FROM label_urls u WHERE u.label_id = min(l.label_id))`);
    expect(plan(a, 'labels').columns).toEqual(ALL_LABELS);
    expect(plan(a, 'label_sublabels').columns).toEqual(ALL_SUBLABELS);
    expect(plan(a, 'label_urls').columns).toEqual(['label_id']);
  });

  it('does not add select aliases, lambda parameters or unknown names, and does not throw for them', async () => {
    const a = await an('SELECT name AS n, list_transform([1], q -> q + 1) FROM labels ORDER BY n');
    expect(plan(a, 'labels').columns).toEqual(['name']);
    const b = await an('SELECT nope FROM labels');
    expect(plan(b, 'labels').columns).toEqual([]);
  });

  it('over-fetches a column that a lambda parameter shadows', async () => {
    const a = await an('SELECT list_transform([1], name -> name + 1) FROM labels');
    expect(plan(a, 'labels').columns).toEqual(['name']);
  });

  it('does not make ORDER BY ALL need every column', async () => {
    const a = await an('SELECT name FROM labels ORDER BY ALL');
    expect(a.tables).toEqual([{ table: 'labels', columns: ['name'] }]);
  });

  it('reads columns through CTEs and derived tables', async () => {
    const a = await an(
      'WITH c AS (SELECT label_id AS id, name FROM labels) SELECT d.n FROM (SELECT name AS n FROM c) d',
    );
    expect(a.tables).toEqual([{ table: 'labels', columns: ['label_id', 'name'] }]);
  });

  it('needs every column of a PIVOT source and of a table with renamed columns', async () => {
    const a = await an("SELECT * FROM labels PIVOT (count(*) FOR category IN ('x', 'y'))");
    expect(a.tables).toEqual([{ table: 'labels', columns: ALL_LABELS }]);
    const b = await an('SELECT t.a FROM labels AS t(a, b, c) WHERE t.b = 1');
    expect(b.tables).toEqual([{ table: 'labels', columns: ALL_LABELS }]);
  });
});

describe('predicate pushdown', () => {
  it('pushes the WHERE of a three-way join to each side', async () => {
    const a = await an(`SELECT l.name, s.sublabel_name, u.url FROM labels l
      JOIN label_sublabels s ON l.label_id = s.label_id
      JOIN label_urls u ON l.label_id = u.label_id
      WHERE l.name LIKE '%test%' AND u.url ILIKE 'http%' AND s.sublabel_id > 10`);
    expect(plan(a, 'labels').where).toBe(`("name" ~~ '%test%')`);
    expect(plan(a, 'label_urls').where).toBe("(url ~~* 'http%')");
    expect(plan(a, 'label_sublabels').where).toBe('(sublabel_id > 10)');
  });

  it('never pushes WHERE to the null-supplying side of an outer join', async () => {
    const left = await an(
      "SELECT * FROM labels l LEFT JOIN label_urls u ON l.label_id = u.label_id WHERE u.url IS NULL AND l.category = 'x'",
    );
    expect(plan(left, 'label_urls').where).toBeUndefined();
    expect(plan(left, 'labels').where).toBe("(category = 'x')");
    const right = await an(
      "SELECT * FROM labels l RIGHT JOIN label_urls u ON l.label_id = u.label_id WHERE l.name = 'a' AND u.url = 'b'",
    );
    expect(plan(right, 'labels').where).toBeUndefined();
    expect(plan(right, 'label_urls').where).toBe("(url = 'b')");
    const full = await an(
      "SELECT * FROM labels l FULL JOIN label_urls u ON l.label_id = u.label_id WHERE l.name = 'a' AND u.url = 'b'",
    );
    expect(plan(full, 'labels').where).toBeUndefined();
    expect(plan(full, 'label_urls').where).toBeUndefined();
  });

  it('pushes ON conjuncts of the null-supplying side only', async () => {
    const a = await an(
      "SELECT * FROM labels l LEFT JOIN label_urls u ON l.label_id = u.label_id AND u.url LIKE 'h%' AND l.name = 'a'",
    );
    expect(plan(a, 'label_urls').where).toBe("(url ~~ 'h%')");
    expect(plan(a, 'labels').where).toBeUndefined();
    const r = await an(
      "SELECT * FROM labels l RIGHT JOIN label_urls u ON l.label_id = u.label_id AND u.url LIKE 'h%' AND l.name = 'a'",
    );
    expect(plan(r, 'labels').where).toBe(`("name" = 'a')`);
    expect(plan(r, 'label_urls').where).toBeUndefined();
    const f = await an(
      "SELECT * FROM labels l FULL JOIN label_urls u ON l.label_id = u.label_id AND u.url = 'h'",
    );
    expect(plan(f, 'label_urls').where).toBeUndefined();
  });

  it('pushes ON conjuncts of an inner join to either side, but not below an outer join', async () => {
    const a = await an(
      "SELECT * FROM labels l JOIN label_urls u ON l.label_id = u.label_id AND u.url = 'x' AND l.name = 'y'",
    );
    expect(plan(a, 'label_urls').where).toBe("(url = 'x')");
    expect(plan(a, 'labels').where).toBe(`("name" = 'y')`);
    const b = await an(`SELECT * FROM labels l LEFT JOIN label_urls u ON l.label_id = u.label_id
      JOIN label_sublabels s ON s.label_id = l.label_id AND u.url = 'x' AND s.sublabel_id = 1`);
    expect(plan(b, 'label_urls').where).toBeUndefined();
    expect(plan(b, 'label_sublabels').where).toBe('(sublabel_id = 1)');
  });

  it('ORs the filters of every use of a self-joined table', async () => {
    const a = await an(
      "SELECT * FROM labels a JOIN labels b ON a.label_id = b.label_id WHERE a.category = 'x' AND b.name LIKE 'n%'",
    );
    expect(plan(a, 'labels').where).toBe(`(category = 'x') OR ("name" ~~ 'n%')`);
    const same = await an("SELECT * FROM labels a, labels b WHERE a.category = 'x' AND b.category = 'x'");
    expect(plan(same, 'labels').where).toBe("(category = 'x')");
    const sub = await an(
      "SELECT * FROM labels a, labels b WHERE a.category = 'x' AND a.name = 'n' AND b.category = 'x'",
    );
    expect(plan(sub, 'labels').where).toBe("(category = 'x')");
  });

  it('pushes nothing for a table when one of its uses is unfiltered', async () => {
    const a = await an(
      "SELECT * FROM labels a JOIN labels b ON a.label_id = b.label_id WHERE a.category = 'x'",
    );
    expect(plan(a, 'labels').where).toBeUndefined();
    const b = await an("SELECT * FROM labels WHERE name = 'a' AND label_id IN (SELECT label_id FROM labels)");
    expect(plan(b, 'labels').where).toBeUndefined();
    const c = await an("SELECT name FROM labels WHERE name = 'a' UNION ALL SELECT name FROM labels");
    expect(plan(c, 'labels').where).toBeUndefined();
  });

  it('pushes each scope its own conjuncts, across subqueries, CTEs and UNION branches', async () => {
    const a = await an(`WITH big AS (SELECT * FROM label_sublabels WHERE sublabel_id > 100)
      SELECT l.name FROM labels l WHERE l.category = 'a'
        AND l.label_id IN (SELECT label_id FROM big)
        AND EXISTS (SELECT 1 FROM label_urls u WHERE u.label_id = l.label_id AND u.url LIKE '%.org')
      UNION
      SELECT name FROM labels WHERE category = 'b'`);
    expect(plan(a, 'labels').where).toBe("(category = 'a') OR (category = 'b')");
    expect(plan(a, 'label_sublabels').where).toBe('(sublabel_id > 100)');
    expect(plan(a, 'label_urls').where).toBe("(url ~~ '%.org')");
  });

  it('does not push a conjunct of an outer query into a derived table', async () => {
    const a = await an(`SELECT * FROM (SELECT label_id, name, row_number() OVER (ORDER BY label_id) AS rn
      FROM labels LIMIT 5) t WHERE t.name = 'x' AND rn > 1`);
    expect(plan(a, 'labels').where).toBeUndefined();
    const b = await an("SELECT * FROM (SELECT DISTINCT ON (category) * FROM labels) t WHERE category = 'x'");
    expect(plan(b, 'labels').where).toBeUndefined();
  });

  it('does not push HAVING, aggregates, windows, subqueries, volatile functions or parameters', async () => {
    const cases = [
      "SELECT category FROM labels GROUP BY category HAVING category = 'x'",
      'SELECT * FROM labels WHERE label_id > (SELECT min(label_id) FROM label_urls)',
      'SELECT * FROM labels WHERE random() < 0.5',
      'SELECT * FROM labels WHERE label_id = $1',
      'SELECT * FROM labels WHERE name = ANY(SELECT url FROM label_urls)',
      "SELECT * FROM labels WHERE name = current_setting('threads')",
    ];
    for (const sql of cases) expect(plan(await an(sql), 'labels').where, sql).toBeUndefined();
  });

  it('does not push a conjunct that references an outer query', async () => {
    const a = await an(`SELECT * FROM labels l WHERE EXISTS (SELECT 1 FROM label_urls u
      WHERE u.label_id = l.label_id AND u.url = l.name AND u.url <> '')`);
    expect(plan(a, 'label_urls').where).toBe("(url != '')");
    const b = await an("SELECT * FROM labels l WHERE EXISTS (SELECT 1 FROM label_urls u WHERE name = 'x')");
    expect(plan(b, 'label_urls').where).toBeUndefined();
  });

  it('does not push a filter on an outer table written inside a subquery', async () => {
    const a = await an(
      "SELECT (SELECT count(*) FROM label_urls u WHERE l.category = 'music' AND u.url LIKE 'h%') FROM labels l",
    );
    expect(plan(a, 'labels').where).toBeUndefined();
    expect(plan(a, 'label_urls').where).toBe("(url ~~ 'h%')");
  });

  it('does not push constants that JSON numbers cannot hold exactly', async () => {
    const a = await an('SELECT * FROM labels WHERE label_id = 9007199254740993 AND name IS NOT NULL');
    expect(plan(a, 'labels').where).toBe('("name" IS NOT NULL)');
  });

  it('pushes long SQL too', async () => {
    const list = Array.from({ length: 3000 }, (_, i) => i).join(', ');
    const a = await an(`SELECT name FROM labels WHERE label_id IN (${list})`);
    expect(plan(a, 'labels').where).toBe(`(label_id IN (${list}))`);
  });

  it('resolves unqualified columns only when exactly one table of the FROM has them', async () => {
    const a = await an(
      "SELECT * FROM labels l JOIN label_urls u ON l.label_id = u.label_id WHERE url = 'x' AND label_id = 1",
    );
    expect(plan(a, 'label_urls').where).toBe("(url = 'x')");
    expect(plan(a, 'labels').where).toBeUndefined();
    const b = await an("SELECT * FROM labels, (SELECT 1 AS name) s WHERE name = 'x'");
    expect(plan(b, 'labels').where).toBeUndefined();
    const c = await an("SELECT * FROM labels, (SELECT 1 AS other) s WHERE name = 'x'");
    expect(plan(c, 'labels').where).toBe(`("name" = 'x')`);
  });

  it('does not push a select alias used in WHERE', async () => {
    const a = await an("SELECT upper(name) AS shout FROM labels WHERE shout = 'X'");
    expect(plan(a, 'labels').where).toBeUndefined();
  });

  it('pushes a constant condition to every preserved table', async () => {
    const a = await an(
      'SELECT * FROM labels l LEFT JOIN label_urls u ON l.label_id = u.label_id WHERE 1 = 0',
    );
    expect(plan(a, 'labels').where).toBe('(1 = 0)');
    expect(plan(a, 'label_urls').where).toBeUndefined();
  });

  it('pushes inside LATERAL subqueries and scalar subqueries', async () => {
    const a =
      await an(`SELECT l.name, (SELECT max(sublabel_id) FROM label_sublabels s WHERE s.label_id = l.label_id AND s.sublabel_name IS NOT NULL)
      FROM labels l, LATERAL (SELECT url FROM label_urls u WHERE u.label_id = l.label_id AND u.url LIKE 'h%' LIMIT 1) x`);
    expect(plan(a, 'label_sublabels').where).toBe('(sublabel_name IS NOT NULL)');
    expect(plan(a, 'label_urls').where).toBe("(url ~~ 'h%')");
  });

  it('pushes through DuckDB-only syntax', async () => {
    const cases = [
      "SELECT * EXCLUDE (category) FROM labels WHERE name = 'x'",
      "SELECT name FROM labels WHERE name = 'x' QUALIFY row_number() OVER (ORDER BY label_id) = 1",
      "SELECT category, count(*) FROM labels WHERE name = 'x' GROUP BY ALL",
      "FROM labels SELECT name WHERE name = 'x'",
      "SELECT [1, 2] AS l, name FROM labels WHERE name = 'x'",
      "SELECT name FROM labels WHERE name = 'x' INTERSECT SELECT name FROM labels WHERE name = 'x'",
      "SELECT name FROM labels WHERE name = 'x' UNION BY NAME SELECT name FROM labels WHERE name = 'x'",
    ];
    for (const sql of cases) expect(plan(await an(sql), 'labels').where, sql).toBe(`("name" = 'x')`);
    const tryCast = await an("SELECT name FROM labels WHERE TRY_CAST(name AS INT) = 1 AND name = 'x'");
    expect(plan(tryCast, 'labels').where).toBe(`(TRY_CAST("name" AS INTEGER) = 1) AND ("name" = 'x')`);
  });

  it('pushes nothing where the lowering does not model the query, and says why', async () => {
    const cases = [
      "SELECT * FROM labels l ASOF JOIN label_urls u ON l.label_id >= u.label_id WHERE l.name = 'x'",
      "SELECT * FROM labels POSITIONAL JOIN label_urls WHERE name = 'x'",
      "SELECT * FROM labels l SEMI JOIN label_urls u ON l.label_id = u.label_id WHERE l.name = 'x'",
      "SELECT * FROM labels WHERE name = 'x' USING SAMPLE 50%",
      "SELECT * FROM labels TABLESAMPLE 50% WHERE name = 'x'",
      "SELECT name FROM labels WHERE list_transform([1], q -> q + 1) = [2] AND name = 'x'",
    ];
    for (const sql of cases) {
      const a = await an(sql);
      for (const t of a.tables) expect(t.where, sql).toBeUndefined();
      expect(a.notes.join(), sql).toMatch(/no filter pushed/);
    }
  });

  it('quotes columns that need it', async () => {
    const catalog = [{ name: 't', columns: ['order', 'Mixed Case', 'x'] }];
    const a = await an(
      'SELECT count(*) FROM t WHERE "order" = 1 AND "mixed case" LIKE \'a%\' AND x IS NULL',
      catalog,
    );
    expect(a.tables[0].where).toBe('("order" = 1) AND ("Mixed Case" ~~ \'a%\') AND (x IS NULL)');
    expect(a.tables[0].columns).toEqual(['order', 'Mixed Case', 'x']);
  });
});

/** The reductions as 'source.column>table.column', in order. */
async function reductions(sql: string, catalog: TableCatalogEntry[] = CATALOG): Promise<string[]> {
  const a = await an(sql, catalog);
  return a.reductions.map((r) => `${r.source}.${r.sourceColumn}>${r.table}.${r.column}`);
}

const SEED = `SELECT l.label_id, l.name, s.sublabel_name, u.url FROM labels l
  JOIN label_sublabels s ON l.label_id = s.label_id JOIN label_urls u ON l.label_id = u.label_id
  WHERE l.name LIKE '%test%'`;

describe('semi-join reductions', () => {
  it('reduces both joined tables of the seed query by the filtered labels', async () => {
    const a = await an(SEED);
    expect(a.reductions).toEqual([
      { table: 'label_sublabels', column: 'label_id', source: 'labels', sourceColumn: 'label_id' },
      { table: 'label_urls', column: 'label_id', source: 'labels', sourceColumn: 'label_id' },
    ]);
    expect(plan(a, 'labels').where).toBe(`("name" ~~ '%test%')`);
  });

  it('reduces with WHERE equalities of comma joins, either operand order', async () => {
    expect(
      await reductions(
        "SELECT * FROM labels l, label_urls u WHERE u.label_id = l.label_id AND u.url LIKE 'h%'",
      ),
    ).toEqual(['label_urls.label_id>labels.label_id']);
    expect(
      await reductions(
        "SELECT * FROM labels l CROSS JOIN label_urls u WHERE l.label_id = u.label_id AND l.name = 'x'",
      ),
    ).toEqual(['labels.label_id>label_urls.label_id']);
  });

  it('reduces the null-supplying side of an outer join only', async () => {
    const left =
      "SELECT * FROM labels l LEFT JOIN label_sublabels s ON s.label_id = l.label_id WHERE l.category = 'x'";
    expect(await reductions(left)).toEqual(['labels.label_id>label_sublabels.label_id']);
    const filteredRight =
      'SELECT * FROM labels l LEFT JOIN label_sublabels s ON s.label_id = l.label_id WHERE s.sublabel_id > 1';
    expect(await reductions(filteredRight)).toEqual(['labels.label_id>label_sublabels.label_id']);
    const right =
      "SELECT * FROM labels l RIGHT JOIN label_urls u ON l.label_id = u.label_id WHERE u.url = 'x'";
    expect(await reductions(right)).toEqual(['label_urls.label_id>labels.label_id']);
    // The preserved side goes first even unfiltered: the other is reduced by it.
    expect(
      await reductions('SELECT * FROM label_urls u RIGHT JOIN labels l ON l.label_id = u.label_id'),
    ).toEqual(['labels.label_id>label_urls.label_id']);
    // A filtered null-supplying side is fetched on its own when its source would be a whole table.
    expect(
      await reductions(
        "SELECT * FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id AND u.url LIKE 'h%'",
      ),
    ).toEqual([]);
  });

  it('reduces a preserved side of an outer join through a WHERE equality', async () => {
    expect(
      await reductions(`SELECT * FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id, label_sublabels s
        WHERE s.label_id = l.label_id AND s.sublabel_id > 100`),
    ).toEqual([
      'label_sublabels.label_id>labels.label_id',
      // Chained through labels: label_urls' key equals labels', which equals the filtered side's.
      'label_sublabels.label_id>label_urls.label_id',
      'labels.label_id>label_urls.label_id',
    ]);
  });

  it('does not reduce across FULL joins, nor by a NULL-extended source, nor a NULL-extended target in WHERE', async () => {
    for (const sql of [
      "SELECT * FROM labels l FULL JOIN label_urls u ON l.label_id = u.label_id WHERE l.name = 'x'",
      "SELECT * FROM labels l FULL JOIN label_urls u ON l.label_id = u.label_id AND u.url = 'x'",
      "SELECT * FROM labels l LEFT JOIN label_urls u ON true WHERE u.label_id = l.label_id AND l.name = 'x'",
      "SELECT * FROM labels l RIGHT JOIN label_urls u ON true WHERE u.label_id = l.label_id AND u.url = 'x'",
    ]) {
      expect(await reductions(sql), sql).toEqual([]);
    }
    const a = await reductions(`SELECT * FROM labels l LEFT JOIN label_sublabels s ON s.label_id = l.label_id
      LEFT JOIN label_urls u ON u.label_id = s.label_id WHERE l.name = 'x'`);
    expect(a).toEqual(['labels.label_id>label_sublabels.label_id']);
    const b = await reductions(`SELECT * FROM labels l LEFT JOIN label_sublabels s ON s.label_id = l.label_id
      JOIN label_urls u ON u.label_id = s.label_id WHERE l.name = 'x'`);
    expect(b).toEqual(['labels.label_id>label_sublabels.label_id']);
  });

  it('chains reductions, sources first, and prefers a filtered source', async () => {
    expect(
      await reductions(`SELECT * FROM labels l JOIN label_sublabels s ON l.label_id = s.label_id
        JOIN label_urls u ON u.label_id = s.label_id WHERE l.name LIKE '%test%'`),
    ).toEqual([
      'labels.label_id>label_sublabels.label_id',
      'labels.label_id>label_urls.label_id',
      'label_sublabels.label_id>label_urls.label_id',
    ]);
    expect(
      await reductions(`SELECT * FROM labels l JOIN label_urls u ON u.label_id = l.label_id
        JOIN label_sublabels s ON s.label_id = l.label_id AND s.label_id = u.label_id WHERE u.url LIKE 'h%'`),
    ).toEqual([
      'label_urls.label_id>labels.label_id',
      'label_urls.label_id>label_sublabels.label_id',
      // Both sources placed before it: intersected.
      'labels.label_id>label_sublabels.label_id',
    ]);
    // Unfiltered: the first table serves; any subset of the list stays valid.
    expect(await reductions('SELECT * FROM labels l JOIN label_urls u ON u.label_id = l.label_id')).toEqual([
      'labels.label_id>label_urls.label_id',
    ]);
  });

  it('uses the equated columns, whatever they are named', async () => {
    expect(
      await reductions(`SELECT * FROM labels l JOIN label_sublabels s ON s.sublabel_id = l.label_id
        WHERE s.sublabel_name = 'x'`),
    ).toEqual(['label_sublabels.sublabel_id>labels.label_id']);
    expect(
      await reductions(`SELECT * FROM labels l JOIN label_urls u ON l.label_id = u.label_id
        JOIN label_sublabels s ON sublabel_id = l.label_id WHERE l.name = 'x'`),
    ).toEqual(['labels.label_id>label_urls.label_id', 'labels.label_id>label_sublabels.sublabel_id']);
    const catalog: TableCatalogEntry[] = [
      { name: 'A', columns: ['Id', 'X'], types: ['INTEGER', 'VARCHAR'] },
      { name: 'B', columns: ['A_Id'], types: ['INTEGER'] },
    ];
    expect(await reductions("SELECT * FROM a JOIN b ON b.a_id = a.id WHERE a.x = 'q'", catalog)).toEqual([
      'A.Id>B.A_Id',
    ]);
  });

  it('does not reduce a self-join, nor a table one of whose uses has no equality', async () => {
    for (const sql of [
      "SELECT * FROM labels a JOIN labels b ON a.label_id = b.label_id WHERE a.name = 'x'",
      `SELECT * FROM labels l JOIN label_urls u ON u.label_id = l.label_id WHERE l.name = 'x'
        AND u.label_id IN (SELECT label_id FROM label_urls)`,
      "SELECT l.label_id FROM labels l JOIN label_urls u ON u.label_id = l.label_id WHERE l.name = 'x' UNION ALL SELECT label_id FROM label_urls",
      `SELECT * FROM labels l JOIN label_urls u ON u.label_id = l.label_id
        JOIN label_urls u2 ON u2.url = u.url WHERE l.name = 'x'`,
    ]) {
      expect(
        (await reductions(sql)).filter((r) => r.endsWith('>label_urls.label_id')),
        sql,
      ).toEqual([]);
    }
    // The other table of a self-join may still be reduced by it.
    expect(
      await reductions(`SELECT * FROM labels a JOIN labels b ON a.label_id = b.label_id
        JOIN label_urls u ON u.label_id = a.label_id WHERE a.name = 'x'`),
    ).toEqual(['labels.label_id>label_urls.label_id']);
  });

  it('needs the equality in every set-operation branch that reads the table', async () => {
    const both = `SELECT l.name FROM labels l JOIN label_urls u ON u.label_id = l.label_id WHERE l.category = 'a'
      UNION SELECT l.name FROM labels l JOIN label_urls u ON u.label_id = l.label_id WHERE u.url = 'b'`;
    expect(await reductions(both)).toEqual(['labels.label_id>label_urls.label_id']);
    const one = `SELECT l.name FROM labels l JOIN label_urls u ON u.label_id = l.label_id WHERE l.category = 'a'
      UNION SELECT url FROM label_urls`;
    expect(await reductions(one)).toEqual([]);
    // A branch without the reduced table does not matter.
    const other = `SELECT l.name FROM labels l JOIN label_urls u ON u.label_id = l.label_id WHERE u.url = 'a'
      UNION ALL SELECT sublabel_name FROM label_sublabels`;
    expect(await reductions(other)).toEqual(['label_urls.label_id>labels.label_id']);
  });

  it('looks into CTE bodies and subqueries, and through CTE references, derived tables and correlation', async () => {
    expect(
      await reductions(`WITH x AS (SELECT u.* FROM label_urls u JOIN labels l ON l.label_id = u.label_id
        WHERE l.name LIKE '%test%') SELECT * FROM x JOIN x y ON x.url = y.url`),
    ).toEqual(['labels.label_id>label_urls.label_id']);
    expect(
      await reductions(`SELECT * FROM labels l WHERE EXISTS (SELECT 1 FROM label_urls u
        JOIN label_sublabels s ON s.label_id = u.label_id WHERE u.label_id = l.label_id AND s.sublabel_id > 2)`),
    ).toEqual([
      'label_sublabels.label_id>labels.label_id',
      'label_sublabels.label_id>label_urls.label_id',
      'labels.label_id>label_urls.label_id',
    ]);
    for (const sql of [
      "WITH m AS (SELECT * FROM labels WHERE category = 'x') SELECT * FROM m JOIN label_urls u ON m.label_id = u.label_id",
      "SELECT * FROM (SELECT * FROM labels WHERE category = 'x') m JOIN label_urls u ON m.label_id = u.label_id",
      "SELECT * FROM labels l WHERE l.name = 'x' AND EXISTS (SELECT 1 FROM label_urls u WHERE u.label_id = l.label_id)",
      `SELECT l.name, (SELECT count(*) FROM label_urls u WHERE u.label_id = l.label_id) FROM labels l
        WHERE l.name = 'x'`,
      "SELECT * FROM labels l JOIN label_urls u USING (label_id) WHERE l.name = 'x'",
      "SELECT * FROM labels l NATURAL JOIN label_urls u WHERE l.name = 'x'",
    ]) {
      expect(await reductions(sql), sql).toEqual(['labels.label_id>label_urls.label_id']);
    }
    expect(
      await reductions(
        "SELECT * FROM label_urls u WHERE u.label_id IN (SELECT label_id FROM labels WHERE name = 'x')",
      ),
    ).toEqual(['labels.label_id>label_urls.label_id']);
    for (const sql of [
      // labels has its own filter: reducing it by a whole table gains nothing.
      "SELECT * FROM labels l WHERE l.name = 'x' AND l.label_id IN (SELECT label_id FROM label_urls)",
      // A LATERAL subquery in FROM is not a subquery expression: no correlation reducer.
      `SELECT l.name, x.url FROM labels l, LATERAL (SELECT url FROM label_urls u WHERE u.label_id = l.label_id) x
        WHERE l.name = 'x'`,
      // An aggregate without GROUP BY makes a row even over no rows: EXISTS is then always true.
      `SELECT * FROM label_urls u WHERE EXISTS (SELECT count(*) FROM labels l WHERE l.label_id = u.label_id
        AND l.name = 'x')`,
      // Through a LIMIT a filter would change which rows are kept.
      "SELECT * FROM (SELECT * FROM label_urls LIMIT 5) u JOIN labels l ON l.label_id = u.label_id WHERE l.name = 'x'",
    ]) {
      expect(await reductions(sql), sql).toEqual([]);
    }
  });

  it('needs a plain equality of two bare columns', async () => {
    for (const sql of [
      "SELECT * FROM labels l JOIN label_urls u ON l.label_id IS NOT DISTINCT FROM u.label_id WHERE l.name = 'x'",
      "SELECT * FROM labels l JOIN label_urls u ON l.label_id::VARCHAR = u.label_id::VARCHAR WHERE l.name = 'x'",
      "SELECT * FROM labels l JOIN label_urls u ON l.label_id + 0 = u.label_id WHERE l.name = 'x'",
      "SELECT * FROM labels l JOIN label_urls u ON l.label_id >= u.label_id WHERE l.name = 'x'",
      "SELECT * FROM labels l JOIN label_urls u ON l.label_id = u.label_id OR u.url IS NULL WHERE l.name = 'x'",
      "SELECT * FROM labels l JOIN label_urls u ON (l.label_id, l.name) = (u.label_id, u.url) WHERE l.name = 'x'",
      "SELECT * FROM labels AS l(a, b, c) JOIN label_urls u ON l.a = u.label_id WHERE l.b = 'x'",
    ]) {
      expect(await reductions(sql), sql).toEqual([]);
    }
  });

  it('needs the same known type on both columns', async () => {
    const sql = "SELECT * FROM labels l JOIN label_urls u ON l.label_id = u.label_id WHERE l.name = 'x'";
    const untyped = CATALOG.map(({ name, columns }) => ({ name, columns }));
    expect(await reductions(sql, untyped)).toEqual([]);
    const differ = CATALOG.map((t) =>
      t.name === 'label_urls' ? { ...t, types: ['INTEGER', 'VARCHAR'] } : t,
    );
    expect(await reductions(sql, differ)).toEqual([]);
    const short = CATALOG.map((t) => (t.name === 'label_urls' ? { ...t, types: ['BIGINT'] } : t));
    expect(await reductions(sql, short)).toEqual([]);
    const spelled = CATALOG.map((t) =>
      t.name === 'label_urls' ? { ...t, types: ['bigint', 'VARCHAR'] } : t,
    );
    expect(await reductions(sql, spelled)).toEqual(['labels.label_id>label_urls.label_id']);
  });

  it('reduces through DuckDB-only syntax of the SELECT itself', async () => {
    for (const sql of [
      `SELECT * EXCLUDE (url) FROM labels l JOIN label_urls u ON l.label_id = u.label_id WHERE l.name = 'x'`,
      `SELECT * FROM labels l JOIN label_urls u ON l.label_id = u.label_id WHERE l.name = 'x'
        QUALIFY row_number() OVER (ORDER BY u.url) = 1`,
      `SELECT l.label_id FROM labels l JOIN label_urls u ON l.label_id = u.label_id WHERE l.name = 'x'
        INTERSECT SELECT label_id FROM labels`,
    ]) {
      expect(await reductions(sql), sql).toEqual(['labels.label_id>label_urls.label_id']);
    }
  });

  it('gives none for joins it does not model', async () => {
    for (const sql of [
      "SELECT * FROM labels l SEMI JOIN label_urls u ON l.label_id = u.label_id WHERE l.name = 'x'",
      "SELECT * FROM labels l ANTI JOIN label_urls u ON l.label_id = u.label_id WHERE l.name = 'x'",
      'SELECT * FROM labels l ASOF JOIN label_urls u ON l.label_id = u.label_id AND l.label_id >= u.label_id',
    ]) {
      const a = await an(sql);
      expect(a.reductions, sql).toEqual([]);
    }
  });
});

describe('printed predicates keep their meaning in DuckDB', () => {
  beforeAll(async () => {
    await con.run(`CREATE TABLE labels AS SELECT * FROM (VALUES
      (1, 'test one', 'a'), (2, 'It''s', 'b'), (3, NULL, 'a'), (4, 'ünïcødé ✓', NULL),
      (-5, '100%', 'c'), (6, 'back\\slash', 'b'), (7, 'line
break', 'a'), (NULL, 'null id', 'z'), (8, '2020-01-02', 'd')) v(label_id, name, category)`);
  });

  const predicates = [
    "name LIKE '%test%'",
    "name NOT LIKE 'It%'",
    "name ILIKE 'IT''S'",
    "name NOT ILIKE '%E%'",
    "name = 'It''s'",
    "name = 'ünïcødé ✓'",
    "name LIKE '%\\%' ",
    "name = 'back\\slash'",
    "name = 'line\nbreak'",
    'label_id IN (1, 2, -5)',
    'label_id NOT IN (1, 3)',
    'label_id BETWEEN -5 AND 2',
    'label_id NOT BETWEEN 0 AND 3',
    'label_id > -3',
    'label_id = -5',
    '-label_id > 2',
    'name IS NULL',
    'name IS NOT NULL',
    'NOT (label_id = 1)',
    'NOT label_id = 1',
    "CASE WHEN category = 'a' THEN label_id > 1 ELSE false END",
    "label_id::VARCHAR = '1'",
    "CAST(label_id AS VARCHAR) LIKE '1%'",
    "TRY_CAST(name AS DATE) = DATE '2020-01-02'",
    "name::VARCHAR = '2020-01-02' OR name IS NULL OR name NOT LIKE '2%'",
    "category IN ('a', 'b') OR label_id IS NULL",
    "coalesce(category, 'none') = 'none'",
    "lower(name) = 'test one'",
    'length(name) > 5 AND label_id % 2 = 0',
    'label_id + 1 = 2 * 1',
    "name || '!' = 'It''s!'",
    '(label_id > 1) = true',
    'label_id IS DISTINCT FROM 1',
    "name SIMILAR TO 'test.*'",
    "category = 'a' AND label_id > 1 OR category = 'b'",
    'label_id = 1.0',
    "name ~ '^t'",
    "name ^@ 'te'",
    "starts_with(name, 'te')",
    "current_date > DATE '2000-01-01'",
    'label_id >= 2 AND label_id <= 4 AND label_id <> 3',
    'label_id = 1e0',
  ];

  for (const p of predicates) {
    it(`keeps: ${p.replace(/\n/g, '\\n')}`, async () => {
      const sql = `SELECT * FROM labels l WHERE ${p.replace(/\blabel_id\b/g, 'l.label_id')}`;
      const a = await an(sql);
      const where = plan(a, 'labels').where;
      const oracle = (await con.runAndReadAll(sql)).getRowObjectsJson();
      if (where !== undefined) {
        const pushed = (await con.runAndReadAll(`SELECT * FROM labels WHERE ${where}`)).getRowObjectsJson();
        expect(pushed, where).toEqual(oracle);
      }
    });
  }

  it('pushes the common forms', async () => {
    const pushed = [];
    for (const p of predicates) {
      const a = await an(`SELECT * FROM labels WHERE ${p}`);
      if (plan(a, 'labels').where !== undefined) pushed.push(p);
    }
    // The common forms are pushed.
    for (const p of [
      "name LIKE '%test%'",
      "name ILIKE 'IT''S'",
      "name = 'It''s'",
      "name = 'ünïcødé ✓'",
      "name = 'back\\slash'",
      'label_id IN (1, 2, -5)',
      'label_id BETWEEN -5 AND 2',
      'label_id = -5',
      'name IS NULL',
      'NOT (label_id = 1)',
      "CASE WHEN category = 'a' THEN label_id > 1 ELSE false END",
      "CAST(label_id AS VARCHAR) LIKE '1%'",
      "name::VARCHAR = '2020-01-02' OR name IS NULL OR name NOT LIKE '2%'",
    ]) {
      expect(pushed).toContain(p);
    }
  });
});

describe('errors', () => {
  it('reports syntax errors with DuckDB message and position', async () => {
    const e = await fails('SELECT * FORM labels', 'syntax_error', /syntax error at or near "labels"/);
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/position 14 \(line 1, column 15\)/);
    await fails('SELECT 1\nFROM labels WHERE x = = 2', 'syntax_error', /position 31 \(line 2, column 23\)/);
    await fails('', 'syntax_error', /empty/);
  });

  it('refuses anything but one read-only query', async () => {
    for (const sql of [
      "INSERT INTO labels VALUES (1, 'a', 'b')",
      "UPDATE labels SET name = 'x'",
      'DELETE FROM labels',
      'CREATE TABLE t (x INT)',
      'CREATE TABLE t AS SELECT * FROM labels',
      'DROP TABLE labels',
      "COPY labels TO '/tmp/x.csv'",
      "ATTACH '/tmp/x.db' AS x",
      'INSTALL httpfs',
      'LOAD httpfs',
      'SET threads = 1',
      'PRAGMA version',
      "EXPORT DATABASE '/tmp/x'",
      'EXPLAIN SELECT 1',
      'DESCRIBE labels',
      'SUMMARIZE labels',
      'SHOW TABLES',
      'CALL pragma_version()',
      'SELECT 1; SELECT 2',
      'PIVOT labels ON category USING count(*)',
    ]) {
      const e = await fails(sql, 'forbidden');
      expect(e.status, sql).toBe(403);
    }
  });

  it('refuses table functions and files, anywhere in the query', async () => {
    for (const sql of [
      "SELECT * FROM read_csv('/etc/passwd')",
      "SELECT * FROM read_csv_auto('x.csv')",
      "SELECT * FROM read_parquet('x.parquet')",
      "SELECT * FROM read_json('x.json')",
      "SELECT * FROM read_text('/etc/hostname')",
      "SELECT * FROM read_blob('/etc/hostname')",
      "SELECT * FROM glob('/*')",
      "SELECT * FROM '/etc/passwd.csv'",
      "SELECT * FROM 'data.parquet'",
      "SELECT * FROM query_table('labels')",
      "SELECT * FROM query('SELECT 1')",
      'SELECT * FROM duckdb_tables()',
      "SELECT * FROM labels WHERE name IN (SELECT * FROM read_csv('x.csv'))",
      "WITH x AS (SELECT * FROM read_text('y')) SELECT * FROM x",
    ]) {
      await fails(sql, 'forbidden');
    }
  });

  it('names unknown tables and lists the tables that exist', async () => {
    const e = await fails(
      'SELECT * FROM nope',
      'unknown_table',
      /"nope".*labels, label_sublabels, label_urls/,
    );
    expect(e.status).toBe(400);
    await fails('SELECT * FROM labels WHERE label_id IN (SELECT x FROM missing)', 'unknown_table', /missing/);
    await fails('WITH c AS (SELECT * FROM missing) SELECT * FROM c', 'unknown_table');
    await fails('SELECT * FROM other.labels', 'unknown_table', /other\.labels/);
    await fails('SELECT * FROM information_schema.tables', 'unknown_table');
    await fails('SELECT * FROM sqlite_master', 'unknown_table');
  });

  it('rejects a qualified column the table does not have', async () => {
    const e = await fails(
      'SELECT l.nope FROM labels l',
      'unknown_column',
      /"nope".*"labels".*label_id, name, category/,
    );
    expect(e.status).toBe(400);
    await fails(
      'SELECT * FROM labels l JOIN label_urls u ON u.name = l.name',
      'unknown_column',
      /label_urls/,
    );
    await fails('SELECT * FROM labels WHERE labels.url = 1', 'unknown_column');
  });

  it('leaves unqualified unknown names to DuckDB', async () => {
    await expect(an('SELECT nope FROM labels')).resolves.toBeDefined();
    await expect(an('SELECT x.y FROM labels')).resolves.toBeDefined();
  });
});
