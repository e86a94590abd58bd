/**
 * Pushdown never changes a result: for each query, run it in DuckDB over the full tables, then
 * over copies that hold only what the analysis says to fetch (`SELECT <columns> FROM t WHERE
 * <where>`, tables not listed left out) under the same names, and compare as multisets. Then
 * again with the semi-join reductions applied in order to the copies, as IN over the source
 * copy's values, and as the weaker BETWEEN min AND max. A scan marked `distinct` holds each
 * distinct row once (the tables hold duplicate rows). And the exact-filter form: the copies
 * with only their `exact` columns, and the SQL without the conjuncts they apply (`exactSql`).
 * And once more planned with a scan per group of references (reference-scans.ts), a later
 * scan a TEMP table the SQL's renamed references read, with and without exact filters.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  analyzeQuery,
  type DuckDbSql,
  type QueryAnalysis,
} from '../../src/coordinator/plan/analyze/index.js';
import { branchCode } from '../../src/duckdb/sql.js';
import { seededRandom } from '../../src/seeded-random.js';
import { CATALOG, openParser } from './analyze-helpers.js';

interface Case {
  sql: string;
  /** tables that must get a predicate */
  push?: string[];
  /** tables that must not */
  noPush?: string[];
  /** reductions that must be listed, as 'source>table' */
  reduce?: string[];
  /** tables that must not be reduced */
  noReduce?: string[];
  /** tables whose scan must be distinct (existential.ts) */
  distinct?: string[];
  /** tables whose scan must compute an expression in the exact form (computed-columns.ts) */
  computed?: string[];
  /** tables whose scan must not */
  noComputed?: string[];
}

const DATA = `
CREATE TABLE labels (label_id BIGINT, name VARCHAR, category VARCHAR);
INSERT INTO labels VALUES
  (1, 'test label', 'music'), (2, 'Another Test', 'music'), (3, 'plain', 'film'), (4, NULL, 'film'),
  (5, 'ünïcødé ✓', 'art'), (6, 'It''s quoted', NULL), (7, 'test label', 'music'), (7, 'test label', 'music'),
  (NULL, 'orphan', 'art'), (8, '100% pure', 'film'), (9, '', ''), (10, 'x_y', 'art'), (11, 'big', 'film'),
  (9007199254740993, 'huge', 'art');
CREATE TABLE label_sublabels (label_id BIGINT, sublabel_id BIGINT, sublabel_name VARCHAR);
INSERT INTO label_sublabels VALUES
  (1, 101, 'alpha'), (1, 102, 'beta'), (2, 201, 'test sub'), (2, 201, 'test sub'), (3, 301, NULL),
  (NULL, 401, 'orphan sub'), (12, 1201, 'dangling'), (5, 501, 'ünï'), (7, 701, 'gamma'),
  (9007199254740993, 9, 'big'), (4, 402, 'delta'), (101, 1, 'loop'), (1, 2, 'cross');
CREATE TABLE label_urls (label_id BIGINT, url VARCHAR);
INSERT INTO label_urls VALUES
  (1, 'http://a.test'), (1, 'https://b.test'), (2, NULL), (3, 'http://c.org'), (3, 'http://c.org'),
  (NULL, 'http://null.test'), (13, 'http://dangling.org'), (5, 'https://ü.test'), (8, 'ftp://x'),
  (11, 'http://big.org');
`;

const FIXED: Case[] = [
  // single table
  { sql: 'SELECT * FROM labels' },
  { sql: 'SELECT count(*) FROM labels' },
  { sql: "SELECT count(*) FROM labels WHERE name LIKE '%test%'", push: ['labels'] },
  { sql: "SELECT name FROM labels WHERE name ILIKE '%TEST%'", push: ['labels'] },
  {
    sql: "SELECT * FROM labels WHERE category IN ('music', 'art') AND label_id BETWEEN 2 AND 9",
    push: ['labels'],
  },
  { sql: 'SELECT * FROM labels WHERE name IS NULL OR category IS NULL', push: ['labels'] },
  { sql: "SELECT * FROM labels WHERE NOT (name = 'plain')", push: ['labels'] },
  { sql: 'SELECT DISTINCT category FROM labels WHERE label_id > 1', push: ['labels'] },
  {
    sql: 'SELECT category, count(*), count(name), min(label_id) FROM labels GROUP BY category HAVING count(*) > 1',
  },
  { sql: "SELECT * FROM labels WHERE name = 'It''s quoted'", push: ['labels'] },
  { sql: "SELECT * FROM labels WHERE name = 'ünïcødé ✓'", push: ['labels'] },
  { sql: "SELECT * FROM labels WHERE name LIKE '100\\%%' ESCAPE '\\'" },
  { sql: 'SELECT * FROM labels WHERE label_id = 9007199254740993', noPush: ['labels'] },
  { sql: 'SELECT * FROM labels WHERE label_id < 9007199254740993 AND label_id > 9007199254740990' },
  { sql: "SELECT * FROM labels WHERE label_id::VARCHAR = '9007199254740993'", push: ['labels'] },
  { sql: 'SELECT * FROM labels ORDER BY label_id NULLS FIRST, name LIMIT 3' },
  { sql: "SELECT * FROM labels WHERE label_id > -1 AND name <> ''", push: ['labels'] },
  {
    sql: 'SELECT name, row_number() OVER (PARTITION BY category ORDER BY label_id, name) FROM labels WHERE label_id IS NOT NULL',
    push: ['labels'],
  },
  { sql: "SELECT * FROM labels WHERE label_id::VARCHAR LIKE '1%'", push: ['labels'] },
  { sql: "SELECT upper(name) AS n FROM labels WHERE n LIKE 'TEST%'", noPush: ['labels'] },
  { sql: "SELECT label_id AS name FROM labels WHERE name = 'plain'", push: ['labels'] },
  { sql: "SELECT * FROM labels WHERE length(name) > 4 AND category = 'music'", push: ['labels'] },
  {
    sql: "SELECT * FROM labels WHERE CASE WHEN category = 'film' THEN label_id > 3 ELSE name IS NOT NULL END",
    push: ['labels'],
  },
  { sql: 'SELECT * FROM labels WHERE 1 = 0', push: ['labels'] },
  { sql: 'SELECT * FROM labels WHERE true', push: ['labels'] },
  { sql: 'SELECT * FROM labels WHERE label_id IS DISTINCT FROM 7' },
  {
    sql: "SELECT * FROM labels WHERE DATE '2020-01-01' < current_date AND name IS NOT NULL",
    push: ['labels'],
  },
  { sql: 'SELECT "NAME" FROM LABELS WHERE "Label_ID" > 2', push: ['labels'] },
  { sql: 'SELECT main.labels.name FROM main.labels WHERE main.labels.label_id < 3', push: ['labels'] },
  { sql: 'SELECT * FROM label_sublabels WHERE label_id = 9007199254740993' },
  { sql: 'SELECT * FROM labels WHERE random() < 2', noPush: ['labels'] },
  // joins
  {
    sql: `SELECT l.name, s.sublabel_name, u.url FROM labels l JOIN label_sublabels s ON l.label_id = s.label_id
          JOIN label_urls u ON l.label_id = u.label_id WHERE l.name LIKE '%test%'`,
    push: ['labels'],
    noPush: ['label_sublabels', 'label_urls'],
    reduce: ['labels>label_sublabels', 'labels>label_urls'],
    noReduce: ['labels'],
  },
  {
    sql: 'SELECT l.label_id, l.name FROM labels l LEFT JOIN label_urls u ON l.label_id = u.label_id WHERE u.url IS NULL',
    noPush: ['labels', 'label_urls'],
  },
  {
    sql: "SELECT l.name, u.url FROM labels l LEFT JOIN label_urls u ON l.label_id = u.label_id AND u.url LIKE 'https%'",
    push: ['label_urls'],
    noPush: ['labels'],
  },
  {
    sql: "SELECT l.name, u.url FROM labels l LEFT JOIN label_urls u ON l.label_id = u.label_id AND l.category = 'music'",
    noPush: ['labels', 'label_urls'],
  },
  {
    sql: "SELECT l.name, u.url FROM labels l RIGHT JOIN label_urls u ON l.label_id = u.label_id WHERE l.category = 'music'",
    noPush: ['labels'],
  },
  {
    sql: "SELECT l.name, u.url FROM labels l RIGHT JOIN label_urls u ON l.label_id = u.label_id WHERE u.url LIKE 'http:%'",
    push: ['label_urls'],
  },
  {
    sql: "SELECT * FROM labels l FULL JOIN label_urls u ON l.label_id = u.label_id WHERE coalesce(l.category, 'x') = 'x'",
    noPush: ['labels', 'label_urls'],
  },
  {
    sql: "SELECT * FROM labels l FULL JOIN label_urls u ON l.label_id = u.label_id AND u.url LIKE 'http:%'",
    noPush: ['labels', 'label_urls'],
  },
  {
    sql: "SELECT count(*) FROM labels l CROSS JOIN label_urls u WHERE l.label_id < 3 AND u.url LIKE 'http:%'",
    push: ['labels', 'label_urls'],
  },
  {
    sql: 'SELECT l.name, u.url FROM labels l, label_urls u WHERE l.label_id = u.label_id AND u.url IS NOT NULL',
    push: ['label_urls'],
  },
  { sql: 'SELECT label_id, name, url FROM labels JOIN label_urls USING (label_id) WHERE label_id > 1' },
  { sql: 'SELECT * FROM labels NATURAL JOIN label_urls' },
  {
    sql: 'SELECT * FROM labels LEFT JOIN label_urls USING (label_id) WHERE url IS NULL',
    noPush: ['label_urls'],
  },
  { sql: 'SELECT * FROM labels FULL JOIN label_urls USING (label_id) WHERE label_id IS NOT NULL' },
  {
    sql: `SELECT a.name, b.name FROM labels a JOIN labels b ON a.category = b.category AND a.label_id < b.label_id
          WHERE a.name LIKE '%test%' AND b.label_id > 1`,
    push: ['labels'],
  },
  {
    sql: `SELECT a.label_id, b.label_id FROM labels a LEFT JOIN labels b ON a.label_id = b.label_id + 1
          AND b.category = 'music' WHERE a.category <> 'art'`,
    push: ['labels'],
  },
  {
    sql: "SELECT * FROM labels a JOIN labels b ON a.label_id = b.label_id WHERE a.category = 'film'",
    noPush: ['labels'],
  },
  { sql: 'SELECT l.name, u.url FROM labels l JOIN label_urls u ON l.label_id = u.label_id OR u.url IS NULL' },
  {
    sql: `SELECT l.name, s.sublabel_name, u.url FROM labels l LEFT JOIN label_sublabels s ON s.label_id = l.label_id
          LEFT JOIN label_urls u ON u.label_id = l.label_id WHERE s.sublabel_name IS NULL AND u.url LIKE 'http%'`,
    noPush: ['label_sublabels', 'label_urls'],
  },
  {
    sql: `SELECT l.name, u.url, s.sublabel_id FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id
          JOIN label_sublabels s ON s.label_id = l.label_id AND u.url IS NULL AND s.sublabel_id > 100`,
    push: ['label_sublabels'],
    noPush: ['label_urls'],
  },
  {
    sql: `SELECT * FROM labels l RIGHT JOIN label_sublabels s ON s.label_id = l.label_id
          LEFT JOIN label_urls u ON u.label_id = s.label_id WHERE s.sublabel_id > 200`,
    push: ['label_sublabels'],
  },
  {
    sql: 'SELECT l.name, u.url FROM labels l JOIN label_urls u ON l.label_id::VARCHAR = u.label_id::VARCHAR WHERE l.name IS NOT NULL',
    push: ['labels'],
  },
  // subqueries
  {
    sql: "SELECT * FROM labels WHERE label_id IN (SELECT label_id FROM label_urls WHERE url LIKE 'http:%')",
    push: ['label_urls'],
  },
  {
    sql: 'SELECT * FROM labels WHERE label_id NOT IN (SELECT label_id FROM label_sublabels WHERE sublabel_id > 300)',
    push: ['label_sublabels'],
  },
  {
    sql: 'SELECT * FROM labels WHERE label_id NOT IN (SELECT label_id FROM label_sublabels WHERE label_id IS NOT NULL)',
    push: ['label_sublabels'],
  },
  {
    sql: "SELECT name FROM labels l WHERE EXISTS (SELECT * FROM label_urls u WHERE u.label_id = l.label_id AND u.url LIKE 'https%')",
    push: ['label_urls'],
  },
  {
    sql: "SELECT name FROM labels l WHERE NOT EXISTS (SELECT 1 FROM label_urls u WHERE u.label_id = l.label_id AND u.url LIKE 'http:%')",
    push: ['label_urls'],
  },
  {
    sql: 'SELECT name, (SELECT count(*) FROM label_urls u WHERE u.label_id = l.label_id AND u.url IS NOT NULL) FROM labels l',
    push: ['label_urls'],
  },
  {
    sql: "SELECT * FROM labels WHERE label_id = (SELECT max(label_id) FROM label_urls WHERE url LIKE '%.org')",
    push: ['label_urls'],
  },
  {
    sql: "SELECT * FROM (SELECT label_id, name FROM labels WHERE category = 'music') t WHERE t.name LIKE '%test%'",
    push: ['labels'],
  },
  {
    sql: "SELECT * FROM (SELECT * FROM labels ORDER BY label_id NULLS LAST, name LIMIT 4) t WHERE t.category = 'film'",
    noPush: ['labels'],
  },
  {
    sql: `SELECT * FROM (SELECT label_id, category, row_number() OVER (PARTITION BY category ORDER BY label_id) rn
          FROM labels WHERE label_id IS NOT NULL) t WHERE rn = 1`,
    push: ['labels'],
  },
  {
    sql: `SELECT * FROM (SELECT DISTINCT ON (category) category, label_id FROM labels ORDER BY category, label_id) t
          WHERE label_id > 2`,
    noPush: ['labels'],
  },
  {
    sql: 'SELECT * FROM labels WHERE label_id = ANY(SELECT label_id FROM label_urls WHERE url IS NULL)',
  },
  {
    sql: `SELECT l.name, x.url FROM labels l, LATERAL (SELECT url FROM label_urls u WHERE u.label_id = l.label_id
          AND u.url LIKE 'http%' ORDER BY url LIMIT 1) x`,
    push: ['label_urls'],
  },
  {
    sql: "SELECT * FROM labels l WHERE EXISTS (SELECT 1 FROM label_urls u WHERE u.label_id = l.label_id AND name LIKE '%test%')",
    noPush: ['label_urls'],
  },
  {
    sql: `SELECT l.name, u.url FROM labels l JOIN label_urls u ON u.label_id = l.label_id
          AND u.url IN (SELECT url FROM label_urls WHERE url LIKE '%.test')`,
    noPush: ['label_urls'],
  },
  {
    sql: `SELECT l.name, c.n FROM labels l JOIN (SELECT label_id, count(*) AS n FROM label_sublabels GROUP BY label_id) c
          ON c.label_id = l.label_id WHERE c.n > 1 AND l.category = 'music'`,
    push: ['labels'],
  },
  {
    sql: `SELECT * FROM labels l WHERE l.label_id IN (SELECT s.label_id FROM label_sublabels s
          WHERE s.sublabel_id IN (SELECT u.label_id * 100 + 1 FROM label_urls u WHERE u.url LIKE 'http%'))`,
    push: ['label_urls'],
  },
  {
    sql: `SELECT l.name, (SELECT count(*) FROM label_urls u WHERE l.category = 'music' AND u.label_id = l.label_id)
          FROM labels l`,
    noPush: ['labels', 'label_urls'],
  },
  {
    sql: `SELECT l.name, x.url FROM labels l LEFT JOIN LATERAL (SELECT url FROM label_urls u
          WHERE u.label_id = l.label_id AND u.url LIKE 'http%') x ON true WHERE l.category IS NOT NULL`,
    push: ['labels', 'label_urls'],
  },
  {
    sql: "SELECT * FROM labels WHERE name LIKE '%test%' AND label_id IN (SELECT label_id FROM labels WHERE category = 'music')",
    push: ['labels'],
  },
  {
    sql: `SELECT * FROM labels l WHERE l.label_id IN (SELECT label_id FROM label_urls WHERE url IS NOT NULL)
          OR l.name IS NULL`,
    push: ['label_urls'],
    noPush: ['labels'],
  },
  // CTEs
  {
    sql: "WITH t AS (SELECT * FROM labels WHERE category = 'music') SELECT * FROM t JOIN label_urls u ON t.label_id = u.label_id",
    push: ['labels'],
  },
  {
    sql: 'WITH labels AS (SELECT * FROM labels WHERE label_id < 5) SELECT * FROM labels WHERE name IS NOT NULL',
    push: ['labels'],
  },
  {
    sql: `WITH a AS (SELECT label_id FROM labels WHERE category = 'film'),
          b AS (SELECT * FROM label_urls WHERE label_id IN (SELECT label_id FROM a)) SELECT * FROM b`,
    push: ['labels'],
  },
  {
    sql: "WITH m AS (SELECT * FROM labels WHERE category = 'music') SELECT * FROM m m1 JOIN m m2 ON m1.label_id = m2.label_id",
    push: ['labels'],
  },
  {
    sql: "WITH m AS (SELECT * FROM labels WHERE category = 'music') SELECT count(*) FROM m, labels WHERE labels.label_id = m.label_id",
    noPush: ['labels'],
  },
  {
    sql: `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5)
          SELECT r.n, l.name FROM r LEFT JOIN labels l ON l.label_id = r.n`,
  },
  {
    sql: `WITH RECURSIVE chain AS (SELECT label_id, sublabel_id, 1 AS depth FROM label_sublabels WHERE label_id = 1
          UNION ALL SELECT s.label_id, s.sublabel_id, c.depth + 1 FROM chain c JOIN label_sublabels s ON s.label_id = c.sublabel_id
          WHERE c.depth < 3) SELECT * FROM chain`,
    noPush: ['label_sublabels'],
  },
  {
    sql: `WITH RECURSIVE labels(label_id) AS (SELECT label_id FROM labels WHERE label_id < 3
          UNION ALL SELECT label_id + 1 FROM labels WHERE label_id < 3) SELECT count(*) FROM labels`,
    push: ['labels'],
  },
  {
    sql: 'SELECT (WITH labels AS (SELECT 42 AS label_id) SELECT max(label_id) FROM labels) AS x, count(*) FROM labels',
  },
  { sql: 'WITH unused AS (SELECT * FROM label_urls) SELECT count(*) FROM labels' },
  // set operations
  {
    sql: "SELECT name FROM labels WHERE category = 'music' UNION SELECT sublabel_name FROM label_sublabels WHERE sublabel_id > 200",
    push: ['labels', 'label_sublabels'],
  },
  {
    sql: "SELECT name FROM labels WHERE category = 'music' UNION ALL SELECT name FROM labels WHERE label_id > 8",
    push: ['labels'],
  },
  {
    sql: "SELECT name FROM labels WHERE category = 'music' UNION ALL SELECT name FROM labels",
    noPush: ['labels'],
  },
  { sql: 'SELECT label_id FROM labels INTERSECT SELECT label_id FROM label_urls' },
  { sql: "SELECT label_id FROM labels EXCEPT SELECT label_id FROM label_urls WHERE url LIKE 'http%'" },
  {
    sql: 'SELECT * FROM (SELECT label_id FROM labels UNION ALL SELECT label_id FROM label_urls) t WHERE label_id = 1',
    push: ['labels', 'label_urls'],
  },
  { sql: 'SELECT name FROM labels UNION ALL BY NAME SELECT url AS name, label_id FROM label_urls' },
  // windows and aggregates
  {
    sql: 'SELECT category, sum(label_id) OVER (PARTITION BY category) FROM labels WHERE name IS NOT NULL AND label_id < 100',
    push: ['labels'],
  },
  {
    sql: `SELECT l.category, count(DISTINCT u.url) FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id
          GROUP BY l.category`,
  },
  { sql: "SELECT count(*) FILTER (WHERE name LIKE '%test%'), count(*) FROM labels", noPush: ['labels'] },
  {
    sql: "SELECT category, string_agg(name, ',' ORDER BY name) FROM labels WHERE label_id < 10 GROUP BY category",
    push: ['labels'],
  },
  {
    sql: `SELECT l.name, count(*) AS c FROM labels l JOIN label_urls u ON l.label_id = u.label_id
          GROUP BY l.name ORDER BY c DESC, l.name LIMIT 2`,
  },
  { sql: "SELECT category FROM labels GROUP BY category HAVING category LIKE 'm%'", noPush: ['labels'] },
  // DuckDB-only syntax: projections only
  { sql: "SELECT * EXCLUDE (category) FROM labels WHERE name LIKE '%test%'" },
  { sql: 'SELECT * REPLACE (upper(name) AS name) FROM labels' },
  { sql: 'SELECT category, count(*) FROM labels GROUP BY ALL ORDER BY ALL' },
  {
    sql: 'SELECT name, category FROM labels QUALIFY row_number() OVER (PARTITION BY category ORDER BY label_id, name) = 1',
  },
  { sql: 'FROM labels SELECT name WHERE label_id > 3' },
  {
    sql: 'SELECT list_transform([label_id, 1], x -> x + 1) FROM labels WHERE name IS NOT NULL',
  },
  {
    sql: 'SELECT [l.label_id, u.label_id] FROM labels l JOIN label_urls u USING (label_id)',
  },
  { sql: "SELECT COLUMNS('.*id') FROM label_sublabels" },
  {
    sql: "SELECT * FROM (SELECT category, label_id FROM labels) PIVOT (count(label_id) FOR category IN ('music', 'film'))",
  },
  {
    sql: 'SELECT l.label_id, u.url FROM labels l ASOF JOIN label_urls u ON l.label_id >= u.label_id WHERE l.name IS NOT NULL',
  },
  { sql: 'SELECT count(*) FROM labels POSITIONAL JOIN label_urls' },
  { sql: 'SELECT * FROM labels l SEMI JOIN label_urls u ON l.label_id = u.label_id' },
  { sql: 'SELECT * FROM labels l ANTI JOIN label_urls u ON l.label_id = u.label_id' },
  { sql: "SELECT {'id': label_id, 'n': name} AS s FROM labels" },
  { sql: "SELECT * FROM labels WHERE name ^@ 'test'" },
  {
    sql: "SELECT * FROM labels WHERE TRY_CAST(name AS INTEGER) IS NULL AND category = 'film'",
  },
  { sql: 'SELECT #2 FROM labels' },
  { sql: 'SELECT l FROM labels l WHERE l.label_id = 1' },
  { sql: 'SELECT count(*) FROM labels l WHERE EXISTS (SELECT * FROM label_urls)' },
  { sql: 'SELECT count(*) FROM labels, label_urls' },
  {
    sql: "SELECT v.x, l.name FROM (VALUES (1), (2)) v(x) JOIN labels l ON l.label_id = v.x WHERE l.category = 'music'",
    push: ['labels'],
  },
  { sql: 'SELECT r.range, l.name FROM range(1, 4) r JOIN labels l ON l.label_id = r.range' },
  { sql: 'SELECT t.a, t.b FROM labels AS t(a, b) WHERE t.b IS NOT NULL' },
  // expressions a scan computes (computed-columns.ts), and where it must not
  {
    sql: 'SELECT l.category, sum(length(l.name) * 2) AS s FROM labels l JOIN label_urls u ON u.label_id = l.label_id GROUP BY l.category',
    computed: ['labels'],
  },
  {
    sql: 'SELECT upper(l.name) AS n, u.url FROM labels l JOIN label_urls u ON u.label_id = l.label_id',
    computed: ['labels'],
  },
  {
    sql: "SELECT sum(CASE WHEN l.category = 'music' THEN u.label_id ELSE 0 END) AS s FROM labels l JOIN label_urls u ON u.label_id = l.label_id",
    computed: ['labels'],
  },
  {
    sql: "SELECT count(*) FILTER (WHERE l.name LIKE '%t%') AS c, max(u.url) AS m FROM labels l JOIN label_urls u ON u.label_id = l.label_id",
    computed: ['labels'],
  },
  {
    sql: 'SELECT l.category, sum(length(l.name)) AS s FROM labels l JOIN label_urls u ON u.label_id = l.label_id GROUP BY l.category HAVING sum(length(l.name)) > 3 ORDER BY sum(length(l.name))',
    computed: ['labels'],
  },
  {
    sql: 'WITH x AS (SELECT label_id, upper(name) AS n FROM labels) SELECT x.n, u.url FROM x JOIN label_urls u ON u.label_id = x.label_id',
    computed: ['labels'],
  },
  {
    sql: "SELECT {'id': l.label_id, 'n': l.name} AS s, u.url FROM labels l JOIN label_urls u USING (label_id)",
    computed: ['labels'],
  },
  {
    sql: 'SELECT upper(l.name), u.url FROM labels l JOIN label_urls u ON u.label_id = l.label_id',
    noComputed: ['labels'],
  },
  {
    sql: 'SELECT upper(l.name) AS n, count(*) AS c FROM labels l JOIN label_urls u ON u.label_id = l.label_id GROUP BY upper(l.name)',
    computed: ['labels'],
  },
  {
    sql: 'SELECT upper(l.name) AS n, count(*) AS c FROM labels l JOIN label_urls u ON u.label_id = l.label_id GROUP BY 1 ORDER BY upper(l.name)',
    computed: ['labels'],
  },
  {
    sql: "SELECT upper(l.name) AS n, count(*) AS c FROM labels l JOIN label_urls u ON u.label_id = l.label_id GROUP BY ALL HAVING upper(l.name) <> 'PLAIN'",
    computed: ['labels'],
  },
  {
    sql: "SELECT upper(l.name) || '!' AS n, count(*) AS c FROM labels l JOIN label_urls u ON u.label_id = l.label_id GROUP BY upper(l.name)",
    computed: ['labels'],
  },
  {
    sql: 'SELECT lower(l.category) AS k, max(u.url) AS m FROM labels l JOIN label_urls u ON u.label_id = l.label_id GROUP BY ROLLUP (lower(l.category))',
    computed: ['labels'],
  },
  {
    sql: 'SELECT l.label_id, u.url FROM labels l JOIN label_urls u ON u.label_id = l.label_id AND upper(l.name) <> upper(u.url)',
    computed: ['labels'],
  },
  {
    sql: 'SELECT l.label_id FROM labels l, label_urls u WHERE l.label_id = u.label_id AND length(l.name) + length(u.url) > 30',
    computed: ['labels', 'label_urls'],
  },
  {
    sql: 'SELECT l.label_id, u.url FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id AND length(l.name) > 8',
    computed: ['labels'],
  },
  {
    sql: "SELECT l.label_id, u.url FROM labels l JOIN label_urls u ON u.label_id = l.label_id WHERE upper(l.name) LIKE 'TEST%'",
    noComputed: ['labels'],
  },
  {
    sql: "SELECT l.label_id, u.url FROM labels l, label_urls u WHERE l.label_id = u.label_id AND (upper(l.name) LIKE 'T%' OR u.url IS NULL)",
    noComputed: ['labels'],
  },
  {
    sql: 'SELECT l.label_id, u.label_id FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id AND length(u.url) > 12',
    noComputed: ['label_urls'],
  },
  {
    sql: 'SELECT upper(l.name), count(*) AS c FROM labels l JOIN label_urls u ON u.label_id = l.label_id GROUP BY upper(l.name)',
    noComputed: ['labels'],
  },
  {
    sql: 'SELECT upper(l.name) AS n, count(*) AS c FROM labels l JOIN label_urls u ON u.label_id = l.label_id GROUP BY n',
    noComputed: ['labels'],
  },
  {
    sql: 'SELECT upper(l.name) AS n, rank() OVER (ORDER BY count(*)) AS r FROM labels l JOIN label_urls u ON u.label_id = l.label_id GROUP BY 1',
    noComputed: ['labels'],
  },
  {
    sql: 'SELECT DISTINCT upper(l.name) AS n, count(*) AS c FROM labels l JOIN label_urls u ON u.label_id = l.label_id GROUP BY 1',
    noComputed: ['labels'],
  },
  {
    sql: 'SELECT DISTINCT upper(l.name) AS n, u.label_id FROM labels l JOIN label_urls u ON u.label_id = l.label_id',
    computed: ['labels'],
  },
  {
    sql: 'SELECT DISTINCT upper(l.name) AS n FROM labels l JOIN label_urls u ON u.label_id = l.label_id ORDER BY n',
    noComputed: ['labels'],
  },
  {
    sql: 'SELECT DISTINCT ON (l.category) l.category, upper(l.name) AS n FROM labels l JOIN label_urls u ON u.label_id = l.label_id ORDER BY l.category, n',
    noComputed: ['labels'],
  },
  {
    sql: 'SELECT DISTINCT upper(l.name) AS n FROM labels l JOIN label_urls u ON u.label_id = l.label_id ORDER BY upper(l.name)',
    noComputed: ['labels'],
  },
  {
    sql: "SELECT coalesce(u.url, 'none') AS x, l.name FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id",
    noComputed: ['label_urls'],
  },
  {
    sql: 'SELECT *, upper(l.name) AS n FROM labels l JOIN label_urls u ON u.label_id = l.label_id',
    noComputed: ['labels'],
  },
  {
    sql: 'SELECT upper(l.name) AS n, l.name FROM labels l JOIN label_urls u ON u.label_id = l.label_id',
    noComputed: ['labels'],
  },
  {
    sql: 'SELECT l.label_id, sum(length(l.name)) OVER (PARTITION BY l.category) AS w FROM labels l JOIN label_urls u ON u.label_id = l.label_id',
    noComputed: ['labels'],
  },
  {
    sql: 'SELECT l.label_id, (SELECT max(length(u.url) + l.label_id) FROM label_urls u WHERE u.label_id = l.label_id) AS m FROM labels l',
  },
  {
    sql: 'SELECT CASE WHEN random() < length(l.name) + 2 THEN l.name END AS r, u.url FROM labels l JOIN label_urls u ON u.label_id = l.label_id',
    noComputed: ['labels'],
  },
];

/** Join-heavy queries for semi-join reductions: chains, outer joins, NULL and duplicate keys. */
/** The shapes people write (issue 15): each pushes, and never changes a result. */
const SHAPES: Case[] = [
  {
    sql: `SELECT l.name, u.url FROM labels l JOIN label_urls u USING (label_id) WHERE label_id > 2`,
    push: ['labels', 'label_urls'],
  },
  {
    sql: `SELECT label_id, l.name, u.url FROM labels l LEFT JOIN label_urls u USING (label_id) WHERE label_id < 5`,
    push: ['labels'],
    noPush: ['label_urls'],
  },
  {
    sql: `SELECT label_id, l.name FROM labels l RIGHT JOIN label_urls u USING (label_id) WHERE label_id < 5`,
    noPush: ['labels'],
  },
  {
    sql: `SELECT label_id, u.url FROM labels l FULL JOIN label_urls u USING (label_id) WHERE label_id IS NULL`,
    noPush: ['labels', 'label_urls'],
  },
  { sql: `SELECT * FROM labels NATURAL JOIN label_urls WHERE label_id = 3`, push: ['labels', 'label_urls'] },
  {
    sql: `WITH l AS (SELECT * FROM labels) SELECT l.name, u.url FROM l JOIN label_urls u ON l.label_id = u.label_id
          WHERE l.name LIKE '%test%'`,
    push: ['labels'],
    reduce: ['labels>label_urls'],
  },
  {
    sql: `WITH l AS (SELECT label_id AS id, upper(name) AS n FROM labels)
          SELECT a.id, b.id FROM l a JOIN l b ON a.id = b.id WHERE a.id > 5 AND b.n = 'PLAIN'`,
    push: ['labels'],
  },
  {
    sql: `WITH l AS (SELECT * FROM labels) SELECT name FROM l WHERE category = 'film'
          UNION ALL SELECT name FROM l WHERE label_id = 1`,
    push: ['labels'],
  },
  {
    sql: `WITH l AS (SELECT * FROM labels) SELECT name FROM l WHERE category = 'film' UNION ALL SELECT name FROM l`,
    noPush: ['labels'],
  },
  {
    sql: `WITH a AS (SELECT * FROM labels WHERE category <> 'art'), b AS (SELECT label_id, name FROM a)
          SELECT * FROM b JOIN label_urls u ON b.label_id = u.label_id WHERE b.label_id < 4`,
    push: ['labels', 'label_urls'],
  },
  {
    sql: `WITH u AS (SELECT label_id, name FROM labels WHERE category = 'music' UNION ALL SELECT label_id, sublabel_name FROM label_sublabels)
          SELECT * FROM u WHERE u.label_id < 5`,
    push: ['labels', 'label_sublabels'],
  },
  {
    sql: `WITH u AS (SELECT label_id::VARCHAR AS k FROM labels UNION ALL SELECT url FROM label_urls)
          SELECT * FROM u WHERE k < '5'`,
    noPush: ['label_urls'],
  },
  {
    sql: `SELECT * FROM (SELECT label_id FROM labels UNION ALL SELECT label_id FROM label_urls LIMIT 5) t
          WHERE t.label_id > 1`,
    noPush: ['labels', 'label_urls'],
  },
  {
    sql: `SELECT * FROM (SELECT name FROM labels UNION SELECT url FROM label_urls) t WHERE t.name LIKE 'http%'`,
    noPush: ['labels', 'label_urls'],
  },
  {
    sql: `SELECT * FROM (SELECT label_id, name FROM labels ORDER BY label_id LIMIT 3) t WHERE t.label_id > 1`,
    noPush: ['labels'],
  },
  {
    sql: `SELECT * FROM (SELECT category, count(*) AS n FROM labels GROUP BY category) t WHERE category = 'film'`,
    noPush: ['labels'],
  },
  {
    sql: `SELECT * FROM (SELECT label_id, row_number() OVER (ORDER BY label_id) AS rn FROM labels) t WHERE label_id > 3`,
    noPush: ['labels'],
  },
  {
    sql: `SELECT * FROM (SELECT DISTINCT category FROM labels) t WHERE category = 'film'`,
    push: ['labels'],
  },
  {
    sql: `SELECT * FROM (SELECT l.label_id, u.url FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id) t
          WHERE t.url LIKE 'http%' AND t.label_id > 0`,
    push: ['labels'],
    noPush: ['label_urls'],
  },
  {
    sql: `SELECT l.category, count(*) FROM labels l JOIN label_urls u ON l.label_id = u.label_id
          WHERE l.category = 'film' GROUP BY ALL`,
    push: ['labels'],
    reduce: ['labels>label_urls'],
  },
  {
    sql: `SELECT l.name, u.url FROM labels l JOIN label_urls u ON l.label_id = u.label_id WHERE l.category = 'film'
          QUALIFY row_number() OVER (PARTITION BY l.label_id ORDER BY u.url) = 1`,
    push: ['labels'],
    reduce: ['labels>label_urls'],
  },
  {
    sql: `SELECT u.url FROM label_urls u WHERE u.label_id IN (SELECT label_id FROM labels WHERE category = 'film')`,
    reduce: ['labels>label_urls'],
  },
  {
    sql: `SELECT u.url FROM label_urls u WHERE u.label_id NOT IN (SELECT label_id FROM labels WHERE category = 'film')`,
    noReduce: ['label_urls'],
  },
  {
    sql: `SELECT l.name FROM labels l WHERE l.category = 'music'
          AND EXISTS (SELECT 1 FROM label_urls u WHERE u.label_id = l.label_id AND u.url LIKE 'http%')`,
    push: ['labels', 'label_urls'],
  },
  {
    sql: `SELECT l.name FROM labels l WHERE l.category = 'music'
          AND NOT EXISTS (SELECT 1 FROM label_urls u WHERE u.label_id = l.label_id)`,
    reduce: ['labels>label_urls'],
    noReduce: ['labels'],
  },
  {
    sql: `SELECT l.name, (SELECT count(*) FROM label_sublabels s WHERE s.label_id = l.label_id) AS n
          FROM labels l WHERE l.category = 'music'`,
    reduce: ['labels>label_sublabels'],
  },
  {
    sql: `SELECT u.url FROM label_urls u WHERE EXISTS (SELECT count(*) FROM labels l WHERE l.label_id = u.label_id)`,
    noReduce: ['label_urls'],
  },
  {
    sql: `SELECT l.name, u.url FROM labels l, label_urls u WHERE l.label_id = u.label_id AND l.label_id = 3`,
    push: ['labels', 'label_urls'],
  },
  {
    sql: `SELECT l.name, u.url FROM labels l LEFT JOIN label_urls u ON l.label_id = u.label_id WHERE l.label_id = 3`,
    push: ['labels'],
    noPush: ['label_urls'],
  },
  {
    sql: `SELECT l.name, u.url FROM labels l, label_urls u
          WHERE (l.label_id = u.label_id AND l.category = 'music' AND u.url LIKE 'http:%')
             OR (l.label_id = u.label_id AND l.category = 'film' AND u.url LIKE '%.org')`,
    push: ['labels', 'label_urls'],
    reduce: ['labels>label_urls'],
  },
  {
    sql: `SELECT l.name, u.url FROM labels l, label_urls u
          WHERE (l.category = 'music' AND u.url LIKE 'http:%') OR l.label_id = u.label_id`,
    noPush: ['labels', 'label_urls'],
  },
  {
    sql: `SELECT * FROM labels WHERE label_id::VARCHAR::DATE IS NULL OR DATE '2024-01-31' + INTERVAL 1 MONTH > DATE '2024-02-01'`,
  },
  {
    sql: `SELECT s.sublabel_name FROM label_sublabels s JOIN labels l ON s.label_id = l.label_id
          WHERE DATE '1995-01-01' + INTERVAL 3 MONTH > DATE '1995-03-01' + (l.label_id % 40)::INTEGER AND l.category = 'music'`,
    push: ['labels'],
  },
];

/** Existential references: distinct scans where copies cannot matter, full ones where they can. */
const EXISTENTIAL: Case[] = [
  {
    sql: 'SELECT l.* FROM labels l WHERE EXISTS (SELECT * FROM label_urls u WHERE u.label_id = l.label_id)',
    distinct: ['label_urls'],
  },
  {
    sql: "SELECT l.* FROM labels l WHERE NOT EXISTS (SELECT 1 FROM label_urls u WHERE u.label_id = l.label_id AND u.url LIKE 'http%')",
    distinct: ['label_urls'],
  },
  {
    sql: 'SELECT count(*), count(DISTINCT l.label_id) FROM labels l WHERE l.label_id IN (SELECT label_id FROM label_sublabels)',
    distinct: ['label_sublabels'],
  },
  {
    sql: 'SELECT * FROM labels l WHERE l.label_id NOT IN (SELECT label_id FROM label_urls)',
    distinct: ['label_urls'],
  },
  {
    sql: 'SELECT * FROM labels l WHERE l.label_id NOT IN (SELECT label_id FROM label_urls WHERE label_id IS NOT NULL)',
    distinct: ['label_urls'],
  },
  {
    sql: 'SELECT * FROM labels l WHERE l.label_id <> ALL (SELECT sublabel_id FROM label_sublabels) AND l.label_id > ANY (SELECT label_id FROM label_urls)',
    distinct: ['label_sublabels', 'label_urls'],
  },
  {
    sql: 'SELECT l.name, count(*) FROM labels l WHERE EXISTS (SELECT * FROM label_urls u JOIN label_sublabels s ON s.label_id = u.label_id WHERE u.label_id = l.label_id) GROUP BY l.name',
    distinct: ['label_sublabels', 'label_urls'],
  },
  {
    sql: 'SELECT * FROM labels l WHERE EXISTS (SELECT label_id FROM label_urls u WHERE u.label_id = l.label_id UNION ALL SELECT label_id FROM label_sublabels s WHERE s.sublabel_id = l.label_id)',
    distinct: ['label_sublabels', 'label_urls'],
  },
  {
    sql: 'SELECT * FROM labels l WHERE l.label_id IN (SELECT label_id FROM label_urls INTERSECT ALL SELECT label_id FROM label_sublabels)',
    distinct: ['label_sublabels', 'label_urls'],
  },
  {
    sql: 'SELECT * FROM labels l WHERE l.label_id IN (SELECT label_id FROM label_urls EXCEPT ALL SELECT label_id FROM label_sublabels)',
  },
  {
    sql: 'SELECT * FROM labels l WHERE l.label_id IN (SELECT label_id FROM label_urls ORDER BY label_id NULLS FIRST LIMIT 3)',
  },
  {
    sql: 'SELECT * FROM labels l WHERE EXISTS (SELECT * FROM label_urls u WHERE u.label_id = l.label_id LIMIT 1)',
    distinct: ['label_urls'],
  },
  {
    sql: 'SELECT * FROM labels l WHERE EXISTS (SELECT * FROM label_urls u WHERE u.label_id = l.label_id OFFSET 1)',
  },
  {
    sql: 'SELECT * FROM labels l WHERE l.label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 1)',
  },
  {
    sql: 'SELECT * FROM labels l WHERE EXISTS (SELECT * FROM label_urls u WHERE u.label_id = l.label_id AND (SELECT count(*) FROM label_sublabels s WHERE s.label_id = u.label_id) > 1)',
  },
  {
    sql: 'SELECT * FROM labels l WHERE l.label_id IN (SELECT label_id FROM (SELECT label_id, row_number() OVER (PARTITION BY label_id ORDER BY url) AS n FROM label_urls) WHERE n = 2)',
  },
  {
    sql: 'SELECT u.url, (SELECT count(*) FROM label_urls v WHERE v.label_id = u.label_id) FROM label_urls u WHERE EXISTS (SELECT * FROM labels l WHERE l.label_id = u.label_id)',
    distinct: ['labels'],
  },
  {
    sql: 'SELECT count(*) FROM label_urls u WHERE EXISTS (SELECT * FROM label_urls v WHERE v.label_id = u.label_id AND v.url <> u.url)',
  },
];

const REDUCTIONS: Case[] = [
  // A cycle: label_urls' label must be the label of the sublabel its label's row points to.
  {
    sql: `SELECT u.url, s.sublabel_name FROM label_urls u, labels l, label_sublabels s
          WHERE u.label_id = l.label_id AND l.label_id = s.sublabel_id AND s.label_id = u.label_id AND l.category = 'music'`,
    reduce: ['labels>label_urls'],
  },
  {
    sql: `SELECT count(*) FROM label_urls u JOIN labels l ON u.label_id = l.label_id
          JOIN label_sublabels s ON s.sublabel_id = l.label_id JOIN labels l2 ON l2.label_id = s.label_id
          WHERE l2.label_id = u.label_id AND l.name IS NOT NULL`,
  },
  {
    sql: `SELECT l.label_id, l.name, s.sublabel_name, u.url FROM labels l JOIN label_sublabels s ON l.label_id = s.label_id
          JOIN label_urls u ON l.label_id = u.label_id WHERE l.name LIKE '%test%'`,
    reduce: ['labels>label_sublabels', 'labels>label_urls'],
  },
  {
    sql: `SELECT l.label_id, s.sublabel_id, u.url FROM labels l JOIN label_sublabels s ON l.label_id = s.label_id
          JOIN label_urls u ON u.label_id = s.label_id WHERE l.category = 'music'`,
    reduce: ['labels>label_sublabels'],
  },
  {
    sql: `SELECT l.label_id, s.sublabel_id, u.url FROM label_urls u JOIN label_sublabels s ON u.label_id = s.label_id
          JOIN labels l ON l.label_id = s.label_id WHERE u.url LIKE 'http%'`,
    reduce: ['label_urls>label_sublabels'],
  },
  {
    sql: `SELECT l.name, s.sublabel_name FROM labels l LEFT JOIN label_sublabels s ON s.label_id = l.label_id
          WHERE l.category = 'music'`,
    reduce: ['labels>label_sublabels'],
    noReduce: ['labels'],
  },
  {
    sql: `SELECT l.name, s.sublabel_name FROM labels l LEFT JOIN label_sublabels s ON s.label_id = l.label_id
          AND s.sublabel_id > 100 WHERE l.category = 'music'`,
    reduce: ['labels>label_sublabels'],
    noReduce: ['labels'],
  },
  {
    sql: "SELECT l.name, u.url FROM labels l RIGHT JOIN label_urls u ON l.label_id = u.label_id WHERE u.url LIKE 'http:%'",
    reduce: ['label_urls>labels'],
    noReduce: ['label_urls'],
  },
  {
    sql: `SELECT l.name, s.sublabel_name, u.url FROM labels l LEFT JOIN label_sublabels s ON s.label_id = l.label_id
          LEFT JOIN label_urls u ON u.label_id = s.label_id WHERE l.name LIKE '%test%'`,
    reduce: ['labels>label_sublabels'],
    noReduce: ['labels', 'label_urls'],
  },
  {
    sql: `SELECT l.name, s.sublabel_name, u.url FROM labels l LEFT JOIN label_sublabels s ON s.label_id = l.label_id
          LEFT JOIN label_urls u ON u.label_id = l.label_id WHERE l.name IS NOT NULL`,
    reduce: ['labels>label_sublabels', 'labels>label_urls'],
  },
  {
    sql: `SELECT l.name, s.sublabel_name FROM labels l FULL JOIN label_sublabels s ON s.label_id = l.label_id
          WHERE l.category = 'music'`,
    noReduce: ['labels', 'label_sublabels'],
  },
  {
    sql: "SELECT a.name, b.name FROM labels a JOIN labels b ON a.label_id = b.label_id WHERE a.name LIKE '%test%'",
    noReduce: ['labels'],
  },
  {
    sql: `SELECT l.label_id, u.url FROM labels l JOIN label_urls u ON u.label_id = l.label_id WHERE l.name LIKE '%test%'
          UNION ALL SELECT label_id, url FROM label_urls`,
    noReduce: ['label_urls'],
  },
  {
    sql: `SELECT l.name FROM labels l JOIN label_urls u ON u.label_id = l.label_id WHERE l.category = 'music'
          UNION SELECT l.name FROM labels l JOIN label_urls u ON u.label_id = l.label_id WHERE u.url LIKE 'http%'`,
    reduce: ['labels>label_urls'],
  },
  {
    sql: `WITH x AS (SELECT u.label_id, u.url FROM label_urls u JOIN labels l ON l.label_id = u.label_id
          WHERE l.name LIKE '%test%') SELECT * FROM x`,
    reduce: ['labels>label_urls'],
  },
  {
    sql: `WITH m AS (SELECT * FROM labels WHERE category = 'music') SELECT * FROM m JOIN label_urls u
          ON m.label_id = u.label_id`,
    reduce: ['labels>label_urls'],
    noReduce: ['labels'],
  },
  {
    sql: 'SELECT * FROM labels l WHERE EXISTS (SELECT 1 FROM label_urls u WHERE u.label_id = l.label_id)',
    reduce: ['labels>label_urls'],
  },
  {
    sql: `SELECT * FROM labels l WHERE EXISTS (SELECT 1 FROM label_urls u JOIN label_sublabels s ON s.label_id = u.label_id
          WHERE u.label_id = l.label_id AND s.sublabel_id > 200)`,
    // EXISTS keeps only labels matching a label_urls row whose label_id is a filtered
    // label_sublabels row's: labels by label_sublabels' keys, chained through label_urls.
    reduce: ['label_sublabels>label_urls', 'label_sublabels>labels'],
  },
  {
    sql: `SELECT * FROM labels l WHERE NOT EXISTS (SELECT 1 FROM label_urls u JOIN label_sublabels s
          ON s.label_id = u.label_id WHERE u.label_id = l.label_id AND s.sublabel_name LIKE '%a%')`,
    reduce: ['label_sublabels>label_urls'],
    noReduce: ['labels'],
  },
  {
    sql: `SELECT l.name, s.sublabel_id FROM labels l JOIN label_sublabels s ON s.sublabel_id = l.label_id
          WHERE s.sublabel_name IS NOT NULL`,
    reduce: ['label_sublabels>labels'],
  },
  {
    // Chained: label_sublabels by labels' keys through the EXISTS correlation with u1.
    sql: `SELECT u1.url FROM label_urls u1 JOIN labels l ON l.label_id = u1.label_id WHERE l.category = 'a'
          AND EXISTS (SELECT 1 FROM label_sublabels s WHERE s.label_id = u1.label_id AND s.sublabel_id > 5)`,
    reduce: ['labels>label_urls', 'labels>label_sublabels'],
  },
  {
    // Chained into the right side of a LEFT join: its unmatched rows only ever NULL-extend.
    sql: `SELECT u.url, s.sublabel_name FROM label_urls u LEFT JOIN label_sublabels s ON s.label_id = u.label_id
          JOIN labels l ON l.label_id = u.label_id WHERE l.category = 'b'`,
    reduce: ['labels>label_urls', 'labels>label_sublabels'],
  },
  {
    // Under NOT EXISTS too: a subquery row whose key no outer row has never decides one.
    sql: `SELECT u1.url FROM label_urls u1 JOIN labels l ON l.label_id = u1.label_id WHERE l.category = 'a'
          AND NOT EXISTS (SELECT 1 FROM label_sublabels s WHERE s.label_id = u1.label_id AND s.sublabel_id > 5)`,
    reduce: ['labels>label_urls', 'labels>label_sublabels'],
  },
  {
    sql: `SELECT count(*), count(DISTINCT l.category) FROM labels l, label_urls u, label_sublabels s
          WHERE l.label_id = u.label_id AND s.label_id = u.label_id AND s.sublabel_id < 500`,
    reduce: ['label_sublabels>label_urls', 'label_sublabels>labels'],
  },
  {
    sql: `SELECT l.name, u.url, s.sublabel_id FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id,
          label_sublabels s WHERE s.label_id = l.label_id AND s.sublabel_id > 100`,
    reduce: ['label_sublabels>labels', 'labels>label_urls'],
  },
  {
    sql: `SELECT l.category, count(*) FROM labels l JOIN label_urls u ON u.label_id = l.label_id
          WHERE u.url LIKE 'http%' GROUP BY l.category`,
    reduce: ['label_urls>labels'],
  },
  {
    sql: `SELECT l.name, u.url FROM labels l LEFT JOIN label_urls u ON true WHERE u.label_id = l.label_id
          AND l.category = 'music'`,
    noReduce: ['label_urls'],
  },
  {
    sql: "SELECT l.name, u.url FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id AND u.url LIKE 'http%'",
    noReduce: ['labels'],
  },
  {
    sql: `SELECT l.name, s.sublabel_name FROM labels l JOIN label_sublabels s ON l.label_id = s.label_id
          AND l.label_id = s.sublabel_id WHERE l.category IS NOT NULL`,
    reduce: ['labels>label_sublabels'],
  },
  {
    sql: `SELECT l.name, s.sublabel_name FROM labels l JOIN label_sublabels s ON l.name = s.sublabel_name
          WHERE l.category = 'art'`,
    reduce: ['labels>label_sublabels'],
  },
  {
    sql: `SELECT l.name, x.url FROM labels l, LATERAL (SELECT url FROM label_urls u WHERE u.label_id = l.label_id) x
          WHERE l.name LIKE '%test%'`,
    noReduce: ['label_urls'],
  },
  {
    sql: `SELECT l.name, (SELECT count(*) FROM label_urls u JOIN label_sublabels s ON s.label_id = u.label_id
          WHERE u.label_id = l.label_id) FROM labels l WHERE l.category = 'music'`,
    noReduce: ['labels'],
  },
  {
    sql: `SELECT l.label_id, u.url FROM labels l JOIN label_urls u ON u.label_id = l.label_id
          WHERE l.label_id IN (SELECT label_id FROM label_sublabels) AND u.url IS NOT NULL`,
    reduce: ['label_urls>labels'],
    noReduce: ['label_sublabels'],
  },
  {
    sql: `SELECT * FROM (SELECT l.label_id, l.name FROM labels l JOIN label_urls u ON u.label_id = l.label_id
          WHERE u.url LIKE '%.test' ORDER BY l.label_id NULLS LAST, l.name LIMIT 2) t`,
    reduce: ['label_urls>labels'],
  },
  {
    sql: `SELECT l.label_id, u.url FROM labels l JOIN label_urls u ON u.label_id = l.label_id
          WHERE l.label_id > 100`,
    reduce: ['labels>label_urls'],
  },
  {
    sql: `SELECT l.label_id, u.url FROM labels l JOIN label_urls u USING (label_id) WHERE l.name LIKE '%test%'`,
    reduce: ['labels>label_urls'],
  },
  {
    sql: `SELECT l.label_id, l.name FROM labels l JOIN label_urls u ON u.label_id = l.label_id
          JOIN label_sublabels s ON s.label_id = u.label_id WHERE s.sublabel_id > 100 AND u.url LIKE 'http%'`,
  },
  {
    sql: `WITH RECURSIVE r(id, depth) AS (SELECT label_id, 0 FROM labels WHERE category = 'music'
          UNION ALL SELECT s.sublabel_id, r.depth + 1 FROM r JOIN label_sublabels s ON s.label_id = r.id
          JOIN labels l ON l.label_id = s.label_id WHERE r.depth < 3) SELECT * FROM r`,
    noReduce: ['labels'],
  },
];

/** Generated joins: every join type × predicate placements over two and three tables. */
function generated(): Case[] {
  const out: Case[] = [];
  const joins = ['JOIN', 'LEFT JOIN', 'RIGHT JOIN', 'FULL JOIN'];
  const two = [
    { on: '', where: "WHERE l.name LIKE '%test%'" },
    { on: '', where: "WHERE u.url LIKE 'http%'" },
    { on: '', where: 'WHERE u.url IS NULL' },
    { on: '', where: "WHERE l.name IS NULL OR l.category = 'film'" },
    { on: "AND u.url LIKE '%.test'", where: '' },
    { on: "AND l.category = 'music'", where: '' },
    { on: '', where: "WHERE coalesce(u.url, 'none') = 'none'" },
    { on: '', where: 'WHERE l.label_id > 2 AND u.label_id < 5' },
    { on: 'AND u.url IS NOT NULL', where: 'WHERE l.label_id IS NOT NULL' },
    { on: 'AND 1 = 0', where: '' },
  ];
  for (const j of joins) {
    for (const p of two) {
      out.push({
        sql: `SELECT l.label_id, l.name, u.url FROM labels l ${j} label_urls u ON l.label_id = u.label_id ${p.on} ${p.where}`,
      });
    }
  }
  const three = [
    "WHERE l.category = 'music' AND s.sublabel_id > 100 AND u.url LIKE 'http%'",
    'WHERE s.sublabel_name IS NULL',
    "WHERE u.url IS NULL OR l.name LIKE '%test%'",
  ];
  for (const j1 of joins) {
    for (const j2 of joins) {
      for (const w of three) {
        out.push({
          sql: `SELECT l.name, s.sublabel_name, u.url FROM labels l ${j1} label_sublabels s ON s.label_id = l.label_id
                ${j2} label_urls u ON u.label_id = s.label_id AND u.url <> 'ftp://x' ${w}`,
        });
      }
    }
  }
  return out;
}

const PREDICATES: Record<string, string[]> = {
  label_id: [
    '{t}.label_id > 2',
    '{t}.label_id IS NULL',
    '{t}.label_id IN (1, 3, 7)',
    '{t}.label_id BETWEEN 2 AND 8',
  ],
  name: ["{t}.name LIKE '%t%'", '{t}.name IS NOT NULL', "{t}.name ILIKE 'T%'", "{t}.name = ''"],
  category: ["{t}.category = 'music'", "{t}.category IN ('art', 'film')", '{t}.category IS NULL'],
  sublabel_id: ['{t}.sublabel_id > 200', '{t}.sublabel_id % 2 = 1'],
  sublabel_name: ["{t}.sublabel_name LIKE '%a%'", '{t}.sublabel_name IS NULL'],
  url: ["{t}.url LIKE 'http:%'", '{t}.url IS NULL', "{t}.url >= 'https'", "coalesce({t}.url, '') = ''"],
};

/** Random joins of one to three table uses with predicates in WHERE and ON, some with subqueries. */
function randomCases(count: number, seed: number): Case[] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const predicate = (alias: string, table: string): string => {
    const cols = CATALOG.find((t) => t.name === table)!.columns;
    return pick(PREDICATES[pick(cols)]).replaceAll('{t}', alias);
  };
  const out: Case[] = [];
  for (let n = 0; n < count; n++) {
    const uses = Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, i) => ({
      alias: `t${i}`,
      table: pick(CATALOG).name,
    }));
    let from = `${uses[0].table} ${uses[0].alias}`;
    // An ON may only name the tables of its own comma-separated item.
    let group = 0;
    for (let i = 1; i < uses.length; i++) {
      const u = uses[i];
      const join = pick(['JOIN', 'LEFT JOIN', 'RIGHT JOIN', 'FULL JOIN', ',']);
      if (join === ',') {
        from += `, ${u.table} ${u.alias}`;
        group = i;
        continue;
      }
      const left = () => uses[group + Math.floor(rnd() * (i - group))];
      const other = left();
      const on = [`${other.alias}.label_id = ${u.alias}.label_id`];
      for (let k = Math.floor(rnd() * 3); k > 0; k--) {
        const side = rnd() < 0.5 ? u : left();
        on.push(predicate(side.alias, side.table));
      }
      from += ` ${join} ${u.table} ${u.alias} ON ${on.join(' AND ')}`;
    }
    const where: string[] = [];
    for (let k = Math.floor(rnd() * 4); k > 0; k--) {
      const r = rnd();
      const u = pick(uses);
      if (r < 0.6) where.push(predicate(u.alias, u.table));
      else if (r < 0.75) {
        const v = pick(uses);
        where.push(`(${predicate(u.alias, u.table)} OR ${predicate(v.alias, v.table)})`);
      } else if (r < 0.9) {
        const sub = pick(CATALOG).name;
        const neg = rnd() < 0.3 ? 'NOT ' : '';
        where.push(
          `${neg}EXISTS (SELECT 1 FROM ${sub} s WHERE s.label_id = ${u.alias}.label_id AND ${predicate('s', sub)})`,
        );
      } else {
        const sub = pick(CATALOG).name;
        where.push(`${u.alias}.label_id IN (SELECT s.label_id FROM ${sub} s WHERE ${predicate('s', sub)})`);
      }
    }
    const select = pick(['count(*)', '*', uses.map((u) => `${u.alias}.label_id`).join(', ')]);
    let sql = `SELECT ${select} FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
    if (select !== '*' && select !== 'count(*)' && rnd() < 0.15) {
      const u = pick(CATALOG).name;
      const cols = uses.map(() => 's.label_id').join(', ');
      sql += ` UNION ALL SELECT ${cols} FROM ${u} s WHERE ${predicate('s', u)}`;
    }
    out.push({ sql });
  }
  return out;
}

const KEYS: Record<string, string[]> = {
  labels: ['label_id'],
  label_sublabels: ['label_id', 'label_id', 'sublabel_id'],
  label_urls: ['label_id'],
};

const JOINS = ['JOIN', 'JOIN', 'LEFT JOIN', 'LEFT JOIN', 'RIGHT JOIN', 'FULL JOIN', ',', 'ON true'];

/**
 * Random join chains for reductions: key equalities (label_id, sublabel_id) in ON or, for comma
 * joins and `ON true`, in WHERE, over every join type, with filters, EXISTS and UNION ALL.
 */
function randomJoinCases(count: number, seed: number): Case[] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const predicate = (alias: string, table: string): string => {
    const cols = CATALOG.find((t) => t.name === table)!.columns;
    return pick(PREDICATES[pick(cols)]).replaceAll('{t}', alias);
  };
  const key = (u: { alias: string; table: string }) => `${u.alias}.${pick(KEYS[u.table])}`;
  const chain = (prefix: string, n: number) => {
    const uses = Array.from({ length: n }, (_, i) => ({ alias: `${prefix}${i}`, table: pick(CATALOG).name }));
    let from = `${uses[0].table} ${uses[0].alias}`;
    const where: string[] = [];
    // An ON may only name the tables of its own comma-separated item.
    let group = 0;
    for (let i = 1; i < uses.length; i++) {
      const u = uses[i];
      const join = pick(JOINS);
      const inWhere = join === ',' || join === 'ON true';
      const other = uses[inWhere ? Math.floor(rnd() * i) : group + Math.floor(rnd() * (i - group))];
      const eq = `${key(u)} = ${key(other)}`;
      if (join === ',') {
        from += `, ${u.table} ${u.alias}`;
        group = i;
      } else if (join === 'ON true') {
        from += ` ${pick(['JOIN', 'LEFT JOIN'])} ${u.table} ${u.alias} ON true`;
      } else {
        const extra = rnd() < 0.3 ? ` AND ${predicate(u.alias, u.table)}` : '';
        from += ` ${join} ${u.table} ${u.alias} ON ${eq}${extra}`;
      }
      if (inWhere) where.push(eq);
    }
    for (let k = Math.floor(rnd() * 3); k > 0; k--) {
      const u = pick(uses);
      where.push(predicate(u.alias, u.table));
    }
    return { uses, from, where };
  };
  const out: Case[] = [];
  for (let n = 0; n < count; n++) {
    const { uses, from, where } = chain('t', 2 + Math.floor(rnd() * 3));
    const r = rnd();
    if (r < 0.2) {
      const sub = chain('e', 2);
      const outer = pick(uses);
      sub.where.push(`${key(sub.uses[0])} = ${key(outer)}`);
      where.push(
        `${rnd() < 0.3 ? 'NOT ' : ''}EXISTS (SELECT 1 FROM ${sub.from} WHERE ${sub.where.join(' AND ')})`,
      );
    }
    const select = pick(['count(*)', '*', uses.map((u) => key(u)).join(', ')]);
    let sql = `SELECT ${select} FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
    if (select !== '*' && select !== 'count(*)' && r > 0.8) {
      const b = chain('b', uses.length);
      const cols = b.uses.map((u) => key(u)).join(', ');
      sql += ` UNION ALL SELECT ${cols} FROM ${b.from}${b.where.length ? ` WHERE ${b.where.join(' AND ')}` : ''}`;
    }
    out.push({ sql });
  }
  return out;
}

/**
 * Random joins with an OR of ANDs over two or three uses (TPC-H Q19's shape): branch codes
 * (branch-codes.ts) from each branch's filters of two uses, the key equality written in every
 * branch or once, some joins outer.
 */
function randomBranchCases(count: number, seed: number): Case[] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const predicate = (u: { alias: string; table: string }): string => {
    const cols = CATALOG.find((t) => t.name === u.table)!.columns;
    return pick(PREDICATES[pick(cols)]).replaceAll('{t}', u.alias);
  };
  const key = (u: { alias: string; table: string }) => `${u.alias}.${pick(KEYS[u.table])}`;
  const out: Case[] = [];
  for (let n = 0; n < count; n++) {
    const uses = Array.from({ length: 2 + Math.floor(rnd() * 2) }, (_, i) => ({
      alias: `t${i}`,
      table: pick(CATALOG).name,
    }));
    const eqs = uses.slice(1).map((u, i) => `${key(u)} = ${key(uses[Math.floor(rnd() * (i + 1))])}`);
    const inBranches = rnd() < 0.5;
    const branches = Array.from({ length: 2 + Math.floor(rnd() * 2) }, () => {
      const terms = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => predicate(pick(uses)));
      return `(${[...(inBranches ? eqs : []), ...terms].join(' AND ')})`;
    });
    let from = `${uses[0].table} ${uses[0].alias}`;
    const or = `(${branches.join(' OR ')})`;
    // Two uses joined by JOIN or LEFT JOIN: the OR sometimes in the ON.
    const inOn = uses.length === 2 && rnd() < 0.4;
    const where = [...(inOn ? [] : [or]), ...(inBranches ? [] : eqs)];
    for (const u of uses.slice(1)) {
      const join = pick([',', ',', 'JOIN', 'LEFT JOIN']);
      const on = inOn ? or : 'true';
      from +=
        join === ',' && !inOn
          ? `, ${u.table} ${u.alias}`
          : ` ${join === ',' ? 'JOIN' : join} ${u.table} ${u.alias} ON ${on}`;
    }
    if (rnd() < 0.3) where.push(predicate(pick(uses)));
    const select = pick(['count(*)', '*', uses.map((u) => key(u)).join(', ')]);
    out.push({
      sql: `SELECT ${select} FROM ${from}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`,
    });
  }
  return out;
}

let oracle: DuckDBConnection;
let duck: DuckDbSql;
let closeParser: () => void;
let instance: DuckDBInstance;

beforeAll(async () => {
  ({ duck, close: closeParser } = await openParser());
  instance = await DuckDBInstance.create(':memory:');
  oracle = await instance.connect();
  await oracle.run(DATA);
  await oracle.run("ATTACH ':memory:' AS pushed");
});

afterAll(() => {
  closeParser();
  oracle.closeSync();
  instance.closeSync();
});

async function rows(sql: string): Promise<{ columns: string[]; rows: string[] }> {
  const reader = await oracle.runAndReadAll(sql);
  const rows = reader.getRowObjectsJson().map((r) => JSON.stringify(Object.values(r)));
  return { columns: reader.columnNames(), rows: rows.sort() };
}

async function count(relation: string): Promise<number> {
  const reader = await oracle.runAndReadAll(`SELECT count(*)::INTEGER FROM ${relation}`);
  return Number(reader.getRows()[0][0]);
}

/** What the coordinator may add to a reduced table's scan: the IN list, or just its range. */
type Reduce = 'none' | 'in' | 'between';

async function runPushed(
  sql: string,
  analysis: QueryAnalysis,
  reduce: Reduce = 'none',
  exact = false,
): Promise<{ columns: string[]; rows: string[] }> {
  for (const t of CATALOG) await oracle.run(`DROP TABLE IF EXISTS pushed.main.${t.name}`);
  // A later scan of a table (reference-scans.ts) is the TEMP table its references are renamed to.
  const tableOf = new Map(analysis.tables.map((t) => [t.scan ?? t.table, t.table]));
  const relation = (scan: string) =>
    tableOf.get(scan) === scan ? `pushed.main.${scan}` : `temp.main."${scan}"`;
  for (const t of analysis.tables) {
    const columns = exact && t.exact ? t.exact.columns : t.columns;
    // What the scan computes (computed-columns.ts), as a container computes it.
    const computed = exact ? (t.exact?.computed ?? []) : [];
    const items = [...columns.map((c) => `"${c}"`), ...computed.map((c) => `(${c.sql}) AS "${c.name}"`)];
    // No column needed: keep the row count with a dummy column, as the coordinator does.
    const cols = items.length > 0 ? items.join(', ') : '1 AS __rows';
    const where = t.where !== undefined ? ` WHERE ${t.where}` : '';
    const distinct = t.distinct ? 'DISTINCT ' : '';
    await oracle.run(
      `CREATE OR REPLACE ${t.scan ? `TEMP TABLE "${t.scan}"` : `TABLE pushed.main.${t.table}`} AS SELECT ${distinct}${cols} FROM memory.main.${t.table}${where}`,
    );
  }
  if (reduce !== 'none') {
    for (const r of analysis.reductions) {
      const col = `"${r.column}"`;
      const src = `SELECT "${r.sourceColumn}" FROM ${relation(r.source)}`;
      // Keep exactly the rows the added conjunct is TRUE for (NULL keys go).
      const keep =
        reduce === 'in'
          ? `${col} IN (${src})`
          : `${col} BETWEEN (SELECT min(x) FROM (${src}) s(x)) AND (SELECT max(x) FROM (${src}) s(x))`;
      const before = await count(relation(r.table));
      await oracle.run(`DELETE FROM ${relation(r.table)} WHERE (${keep}) IS NOT TRUE`);
      stats.reducedRows[reduce] += before - (await count(relation(r.table)));
    }
    // Value matches (value-matches.ts): a row stays only where its two keys lead to equal values.
    for (const m of reduce === 'in' ? (analysis.valueMatches ?? []) : []) {
      const [a, b] = m.sides.map((side, i) => {
        const via = side.via
          ? ` JOIN ${relation(side.via.scan)} v${i} ON s${i}."${side.via.column}" = v${i}."${side.via.key}"`
          : '';
        return {
          from: `${relation(side.source)} s${i}${via}`,
          on: `t."${side.column}" = s${i}."${side.sourceColumn}"`,
          value: `${side.via ? `v${i}` : `s${i}`}."${side.value}"`,
        };
      });
      const before = await count(relation(m.table));
      await oracle.run(
        `DELETE FROM ${relation(m.table)} WHERE rowid NOT IN (SELECT t.rowid FROM ${relation(m.table)} t, ${a.from}, ${b.from}
          WHERE ${a.on} AND ${b.on} AND ${a.value} = ${b.value})`,
      );
      stats.matchedRows += before - (await count(relation(m.table)));
      stats.valueMatches++;
    }
    // Branch codes (branch-codes.ts): a row stays only where its key's code names a branch it satisfies.
    for (const c of reduce === 'in' ? (analysis.branchCodes ?? []) : []) {
      const coded = `SELECT "${c.sourceColumn}" AS __k, bit_or(${branchCode(c.sourceBranches)}) AS __c
        FROM ${relation(c.source)} GROUP BY 1`;
      const satisfied = c.branches.map((b, i) => `((c.__c >> ${i}) & 1 = 1 AND (${b}))`).join(' OR ');
      const before = await count(relation(c.table));
      await oracle.run(
        `DELETE FROM ${relation(c.table)} WHERE rowid NOT IN (SELECT t.rowid FROM ${relation(c.table)} t
          JOIN (${coded}) c ON t."${c.column}" = c.__k WHERE ${satisfied})`,
      );
      stats.codedRows += before - (await count(relation(c.table)));
      stats.branchCodes++;
    }
  }
  await oracle.run('USE pushed');
  try {
    return await rows((exact && analysis.exactSql) || analysis.sql || sql);
  } finally {
    await oracle.run('USE memory');
  }
}

// ANALYZE_SEED=<n> ANALYZE_RANDOM=<count> explores other random cases (count of each kind).
const cases = [
  ...FIXED,
  ...SHAPES,
  ...EXISTENTIAL,
  ...REDUCTIONS,
  ...generated(),
  ...randomCases(Number(process.env.ANALYZE_RANDOM ?? 200), Number(process.env.ANALYZE_SEED ?? 20240314)),
  ...randomJoinCases(
    Number(process.env.ANALYZE_RANDOM ?? 200),
    Number(process.env.ANALYZE_SEED ?? 20240314) + 1,
  ),
  ...randomBranchCases(
    Number(process.env.ANALYZE_RANDOM ?? 200) / 2,
    Number(process.env.ANALYZE_SEED ?? 20240314) + 2,
  ),
];
const stats = {
  total: 0,
  pushedTables: 0,
  reductions: 0,
  reducedCases: 0,
  valueMatches: 0,
  matchedRows: 0,
  branchCodes: 0,
  codedRows: 0,
  reducedRows: { in: 0, between: 0 },
  distinctScans: 0,
  exactCases: 0,
  exactColumnsLeft: 0,
  computedColumns: 0,
  perReferenceCases: 0,
};

/**
 * The order contract: sources gathered before their targets, a table's reductions (several
 * are intersected) listed together.
 */
function checkReductionOrder(analysis: QueryAnalysis, info: string): void {
  const listed = new Set(analysis.tables.map((t) => t.table));
  const done = new Set<string>();
  analysis.reductions.forEach((r, i) => {
    expect(listed.has(r.table) && listed.has(r.source), info).toBe(true);
    expect(r.source, info).not.toBe(r.table);
    expect(done.has(r.table), `${r.table}'s reductions apart: ${info}`).toBe(false);
    if (analysis.reductions[i + 1]?.table !== r.table) done.add(r.table);
  });
  // A source is never reduced after it served.
  analysis.reductions.forEach((r, i) => {
    expect(
      analysis.reductions.slice(i + 1).some((later) => later.table === r.source),
      `${r.source} reduced after serving: ${info}`,
    ).toBe(false);
  });
}

describe('pushdown never changes a result', () => {
  for (const c of cases) {
    it(c.sql.replace(/\s+/g, ' ').slice(0, 160), async () => {
      const expected = await rows(c.sql);
      const analysis = await analyzeQuery(c.sql, CATALOG, duck);
      const actual = await runPushed(c.sql, analysis);
      const info = JSON.stringify(analysis);
      expect(actual.columns, info).toEqual(expected.columns);
      expect(actual.rows, info).toEqual(expected.rows);
      for (const t of c.push ?? []) {
        expect(
          analysis.tables.find((p) => p.table === t)?.where,
          `${t} should get a predicate: ${info}`,
        ).toBeDefined();
      }
      for (const t of c.noPush ?? []) {
        expect(
          analysis.tables.find((p) => p.table === t)?.where,
          `${t} must not get a predicate: ${info}`,
        ).toBeUndefined();
      }
      checkReductionOrder(analysis, info);
      const listed = analysis.reductions.map((r) => `${r.source}>${r.table}`);
      for (const r of c.reduce ?? []) expect(listed, `${r} expected: ${info}`).toContain(r);
      for (const t of c.distinct ?? [])
        expect(analysis.tables.find((p) => p.table === t)?.distinct, `${t} should be distinct: ${info}`).toBe(
          true,
        );
      stats.distinctScans += analysis.tables.filter((t) => t.distinct).length;
      for (const t of c.noReduce ?? []) {
        expect(
          analysis.reductions.map((r) => r.table),
          `${t} must not be reduced: ${info}`,
        ).not.toContain(t);
      }
      const computing = (t: string) =>
        analysis.tables.some((p) => p.table === t && (p.exact?.computed?.length ?? 0) > 0);
      for (const t of c.computed ?? []) expect(computing(t), `${t} should compute: ${info}`).toBe(true);
      for (const t of c.noComputed ?? []) expect(computing(t), `${t} must not compute: ${info}`).toBe(false);
      stats.computedColumns += analysis.tables.reduce((n, t) => n + (t.exact?.computed?.length ?? 0), 0);
      if (analysis.exactSql !== undefined) {
        const exact = await runPushed(c.sql, analysis, 'in', true);
        expect(exact.columns, `exact: ${info}`).toEqual(expected.columns);
        expect(exact.rows, `exact: ${info}`).toEqual(expected.rows);
        stats.exactCases++;
        for (const t of analysis.tables)
          stats.exactColumnsLeft += t.columns.length - (t.exact?.columns.length ?? t.columns.length);
      }
      // Again with a scan per group of references, as the coordinator plans (reference-scans.ts).
      const perReference = await analyzeQuery(c.sql, CATALOG, duck, { scanPerReference: true });
      if (perReference.tables.some((t) => t.scan !== undefined)) {
        const scansInfo = JSON.stringify(perReference);
        for (const exact of [false, true]) {
          const got = await runPushed(c.sql, perReference, 'in', exact);
          expect(got.columns, `per reference, exact ${exact}: ${scansInfo}`).toEqual(expected.columns);
          expect(got.rows, `per reference, exact ${exact}: ${scansInfo}`).toEqual(expected.rows);
        }
        stats.perReferenceCases++;
      }
      if (analysis.reductions.length > 0) {
        for (const mode of ['in', 'between'] as const) {
          const reduced = await runPushed(c.sql, analysis, mode);
          expect(reduced.columns, `${mode}: ${info}`).toEqual(expected.columns);
          expect(reduced.rows, `${mode}: ${info}`).toEqual(expected.rows);
        }
        stats.reducedCases++;
        stats.reductions += analysis.reductions.length;
      }
      stats.total++;
      stats.pushedTables += analysis.tables.filter((t) => t.where !== undefined).length;
    });
  }

  it('pushed predicates in a good share of the cases', () => {
    expect(stats.total).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(400);
    expect(stats.pushedTables).toBeGreaterThan(cases.length / 2);
    // Reductions are common in these join-heavy cases, and they do remove rows.
    expect(stats.reducedCases).toBeGreaterThan(cases.length / 6);
    expect(stats.reducedRows.in).toBeGreaterThan(stats.reducedCases);
    expect(stats.reducedRows.between).toBeGreaterThan(0);
    // Cycles of key equalities close at some scans, and matching their values removes rows.
    expect(stats.valueMatches).toBeGreaterThan(0);
    expect(stats.matchedRows).toBeGreaterThan(0);
    // ORs of ANDs over two joined uses code keys by their branches, and the codes remove rows.
    expect(stats.branchCodes).toBeGreaterThan(0);
    expect(stats.codedRows).toBeGreaterThan(0);
    // The random cases' EXISTS / NOT EXISTS / IN subqueries give distinct scans too.
    expect(stats.distinctScans).toBeGreaterThan(cases.length / 10);
    // Conjuncts the scans apply leave the SQL in many cases, and columns with them.
    expect(stats.exactCases).toBeGreaterThan(cases.length / 4);
    expect(stats.exactColumnsLeft).toBeGreaterThan(cases.length / 10);
    // Expressions of one use go to its scan in a share of them (the random cases' select lists).
    expect(stats.computedColumns).toBeGreaterThan(10);
    expect(stats.perReferenceCases).toBeGreaterThan(cases.length / 20);
  });

  it('would catch a conjunct left out where its scan does not apply it', async () => {
    // The WHERE conjunct on the NULL-extended side is not pushed; leaving it out keeps rows.
    const sql =
      'SELECT l.label_id, u.url FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id WHERE u.url IS NULL';
    const expected = await rows(sql);
    const analysis = await analyzeQuery(sql, CATALOG, duck);
    expect(analysis.exactSql).toBeUndefined();
    const forced: QueryAnalysis = {
      ...analysis,
      tables: analysis.tables.map((t) => (t.table === 'label_urls' ? { ...t, where: 'url IS NULL' } : t)),
      exactSql: 'SELECT l.label_id, u.url FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id',
    };
    expect((await runPushed(sql, forced, 'none', true)).rows).not.toEqual(expected.rows);
  });

  it('would catch a distinct scan where copies count', async () => {
    for (const [sql, table] of [
      ['SELECT count(*) FROM labels l JOIN label_urls u ON u.label_id = l.label_id', 'label_urls'],
      [
        'SELECT * FROM labels l WHERE l.label_id IN (SELECT label_id FROM label_sublabels GROUP BY label_id HAVING count(*) > 1)',
        'label_sublabels',
      ],
    ]) {
      const expected = await rows(sql);
      const analysis = await analyzeQuery(sql, CATALOG, duck);
      expect(analysis.tables.find((t) => t.table === table)?.distinct).toBeUndefined();
      const forced: QueryAnalysis = {
        ...analysis,
        tables: analysis.tables.map((t) => (t.table === table ? { ...t, distinct: true } : t)),
      };
      expect((await runPushed(sql, forced)).rows).not.toEqual(expected.rows);
    }
  });

  it('would catch an invalid reduction', async () => {
    // Reducing the preserved side of a LEFT JOIN (or a FULL JOIN side) changes the result.
    for (const [sql, table, source] of [
      [
        'SELECT l.label_id, u.url FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id',
        'labels',
        'label_urls',
      ],
      [
        'SELECT l.label_id, u.url FROM labels l FULL JOIN label_urls u ON u.label_id = l.label_id',
        'label_urls',
        'labels',
      ],
    ]) {
      const expected = await rows(sql);
      const analysis = await analyzeQuery(sql, CATALOG, duck);
      expect(analysis.reductions.map((r) => r.table)).not.toContain(table);
      const forced: QueryAnalysis = {
        ...analysis,
        reductions: [{ table, column: 'label_id', source, sourceColumn: 'label_id' }],
      };
      expect((await runPushed(sql, forced, 'in')).rows).not.toEqual(expected.rows);
    }
  });
});
