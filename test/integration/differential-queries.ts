/**
 * Queries for the differential suite: each runs through the coordinator and against one
 * DuckDB holding all three sample tables, and the answers must match. `ordered` marks queries
 * whose ORDER BY makes the order total, so that order is compared too.
 */
import type { DiffQuery } from '../helpers/oracle.js';

const handWritten: DiffQuery[] = [
  // The seed's 3-way join (verbatim: urls reached through sublabel_id) and its relatives.
  {
    sql: `SELECT l.label_id, l.name, ls.sublabel_id, lu.url FROM labels l JOIN label_sublabels ls ON l.label_id = ls.label_id JOIN label_urls lu ON ls.sublabel_id = lu.sublabel_id WHERE l.name LIKE '%test%'`,
  },
  {
    sql: `SELECT l.label_id, l.name, s.sublabel_name, u.url FROM labels l
          JOIN label_sublabels s ON l.label_id = s.label_id
          JOIN label_urls u ON l.label_id = u.label_id WHERE l.name LIKE '%test%'`,
  },
  {
    sql: `SELECT l.label_id, l.name, count(*) AS n FROM labels l
          JOIN label_sublabels s ON l.label_id = s.label_id
          JOIN label_urls u ON u.label_id = l.label_id
          WHERE l.name ILIKE '%test%' GROUP BY ALL ORDER BY l.label_id`,
    ordered: true,
  },
  { sql: `SELECT * FROM labels WHERE name LIKE 'test%' ORDER BY label_id`, ordered: true },
  { sql: `SELECT count(*) FROM labels` },
  { sql: `SELECT count(*), count(name), count(DISTINCT category) FROM labels` },
  {
    sql: `SELECT category, count(*) AS n, avg(score) AS s FROM labels GROUP BY category ORDER BY category NULLS FIRST`,
    ordered: true,
  },
  {
    sql: `SELECT label_id, score FROM labels ORDER BY score DESC NULLS LAST, label_id LIMIT 10`,
    ordered: true,
  },
  { sql: `SELECT max(created_at), min(created_at) FROM labels` },
  { sql: `SELECT * FROM labels WHERE score BETWEEN 10 AND 20 AND category IN ('books', 'toys')` },
  { sql: `SELECT * FROM labels WHERE name IS NULL` },
  { sql: `SELECT * FROM labels WHERE category IS NOT NULL AND score IS NULL` },
  { sql: `SELECT label_id, upper(name) AS n FROM labels WHERE name ILIKE 'TEST%'` },
  { sql: `SELECT * FROM labels WHERE name LIKE '%"quoted"%'` },
  { sql: `SELECT * FROM labels WHERE name LIKE '日本%' OR name LIKE 'é%'` },
  { sql: `SELECT * FROM labels WHERE name LIKE '🏷️%'` },
  { sql: `SELECT * FROM labels WHERE NOT (score > 50) ` },
  {
    sql: `SELECT * FROM labels WHERE created_at >= TIMESTAMP '2023-01-01' AND created_at < TIMESTAMP '2023-02-01'`,
  },
  { sql: `SELECT * FROM labels WHERE CAST(created_at AS DATE) = DATE '2021-06-15'` },
  { sql: `SELECT * FROM labels WHERE label_id % 97 = 3` },
  { sql: `SELECT * FROM labels WHERE label_id IN (1, 2, 3, 500, 1999)` },
  { sql: `SELECT * FROM labels WHERE label_id NOT IN (1, 2, 3)  AND label_id < 50` },
  { sql: `SELECT * FROM labels WHERE CASE WHEN score > 90 THEN true ELSE false END` },
  { sql: `SELECT * FROM labels WHERE coalesce(category, 'none') = 'none'` },
  { sql: `SELECT * FROM labels WHERE length(name) > 20` },
  { sql: `SELECT * FROM labels WHERE name <> 'label_5' AND label_id <= 10` },
  { sql: `SELECT DISTINCT category FROM labels` },
  {
    sql: `SELECT DISTINCT ON (category) category, label_id FROM labels ORDER BY category, label_id`,
    ordered: true,
  },
  // Joins of every kind.
  {
    sql: `SELECT l.label_id, s.sublabel_id FROM labels l JOIN label_sublabels s ON l.label_id = s.label_id WHERE s.sublabel_name LIKE 'test%'`,
  },
  {
    sql: `SELECT l.label_id, s.sublabel_id FROM labels l LEFT JOIN label_sublabels s ON l.label_id = s.label_id WHERE l.category = 'books'`,
  },
  {
    sql: `SELECT l.label_id, s.sublabel_id FROM labels l LEFT JOIN label_sublabels s ON l.label_id = s.label_id AND s.sublabel_name LIKE 'test%'`,
  },
  {
    sql: `SELECT l.label_id, s.sublabel_id FROM labels l LEFT JOIN label_sublabels s ON l.label_id = s.label_id AND l.category = 'books'`,
  },
  {
    sql: `SELECT l.label_id FROM labels l LEFT JOIN label_sublabels s ON l.label_id = s.label_id WHERE s.sublabel_id IS NULL`,
  },
  {
    sql: `SELECT l.label_id, s.sublabel_id FROM labels l LEFT JOIN label_sublabels s ON l.label_id = s.label_id WHERE s.sublabel_name LIKE 'test%'`,
  },
  {
    sql: `SELECT s.sublabel_id, l.name FROM label_sublabels s RIGHT JOIN labels l ON l.label_id = s.label_id WHERE l.name LIKE 'test%'`,
  },
  {
    sql: `SELECT s.sublabel_id, l.name FROM labels l RIGHT JOIN label_sublabels s ON l.label_id = s.label_id WHERE l.name IS NULL`,
  },
  {
    sql: `SELECT l.label_id, s.label_id AS sl FROM labels l FULL JOIN label_sublabels s ON l.label_id = s.label_id WHERE l.label_id IS NULL OR s.label_id IS NULL`,
  },
  {
    sql: `SELECT count(*) FROM labels l FULL OUTER JOIN label_urls u ON l.label_id = u.label_id AND u.url LIKE '%example%'`,
  },
  {
    sql: `SELECT count(*) FROM labels l FULL OUTER JOIN label_urls u ON l.label_id = u.label_id WHERE l.category = 'toys'`,
  },
  {
    sql: `SELECT l.label_id, u.url_id FROM labels l, label_urls u WHERE l.label_id = u.label_id AND l.score > 99`,
  },
  {
    sql: `SELECT l.label_id, u.url_id FROM labels l CROSS JOIN label_urls u WHERE l.label_id = 7 AND u.url_id < 5`,
  },
  { sql: `SELECT * FROM labels l JOIN label_urls u USING (label_id) WHERE l.label_id < 30` },
  { sql: `SELECT * FROM labels NATURAL JOIN label_sublabels WHERE label_id < 20` },
  {
    sql: `SELECT a.label_id, b.label_id FROM labels a JOIN labels b ON a.label_id = b.label_id + 1 WHERE a.category = 'books' AND b.category = 'toys'`,
  },
  {
    sql: `SELECT a.label_id, b.label_id FROM labels a JOIN labels b ON a.category = b.category WHERE a.label_id < 5 AND b.label_id < 40`,
  },
  {
    sql: `SELECT a.label_id FROM labels a LEFT JOIN labels b ON a.label_id = b.label_id * 2 WHERE b.label_id IS NULL AND a.label_id < 100`,
  },
  {
    sql: `SELECT s1.sublabel_id, s2.sublabel_id FROM label_sublabels s1 JOIN label_sublabels s2 ON s1.sublabel_name = s2.sublabel_name AND s1.sublabel_id < s2.sublabel_id WHERE s1.sublabel_name LIKE 'test%'`,
  },
  {
    sql: `SELECT l.label_id, s.sublabel_id, u.url_id FROM labels l LEFT JOIN label_sublabels s ON s.label_id = l.label_id LEFT JOIN label_urls u ON u.label_id = s.label_id WHERE l.label_id BETWEEN 100 AND 120`,
  },
  {
    sql: `SELECT * FROM label_sublabels s JOIN label_urls u ON s.label_id = u.label_id WHERE s.label_id > 9007199254740000`,
  },
  {
    sql: `SELECT s.label_id, count(*) FROM label_sublabels s WHERE s.label_id > 9007199254740992 GROUP BY 1`,
  },
  {
    sql: `SELECT l.category, count(DISTINCT s.sublabel_name) FROM labels l JOIN label_sublabels s ON l.label_id = s.label_id GROUP BY l.category`,
  },
  {
    sql: `SELECT l.category, count(*) AS n FROM labels l JOIN label_urls u ON l.label_id = u.label_id GROUP BY l.category HAVING count(*) > 10`,
  },
  // Subqueries, IN/EXISTS, CTEs.
  {
    sql: `SELECT * FROM labels WHERE label_id IN (SELECT label_id FROM label_sublabels WHERE sublabel_name LIKE 'test%')`,
  },
  {
    sql: `SELECT * FROM labels WHERE label_id NOT IN (SELECT label_id FROM label_sublabels WHERE label_id IS NOT NULL) `,
  },
  {
    sql: `SELECT * FROM labels l WHERE EXISTS (SELECT 1 FROM label_urls u WHERE u.label_id = l.label_id AND u.url LIKE '%例え%')`,
  },
  {
    sql: `SELECT * FROM labels l WHERE NOT EXISTS (SELECT 1 FROM label_urls u WHERE u.label_id = l.label_id) AND l.label_id < 500`,
  },
  {
    sql: `SELECT label_id, (SELECT count(*) FROM label_sublabels s WHERE s.label_id = l.label_id) AS n FROM labels l WHERE label_id < 50`,
  },
  { sql: `SELECT * FROM (SELECT label_id, name FROM labels WHERE score > 50) t WHERE t.name LIKE 'test%'` },
  { sql: `SELECT * FROM (SELECT * FROM labels ORDER BY label_id LIMIT 20) t WHERE t.category = 'books'` },
  { sql: `SELECT * FROM (SELECT * FROM labels LIMIT 0) t` },
  {
    sql: `WITH t AS (SELECT label_id, name FROM labels WHERE category = 'toys') SELECT t.name, s.sublabel_name FROM t JOIN label_sublabels s ON s.label_id = t.label_id`,
  },
  { sql: `WITH labels AS (SELECT * FROM label_urls WHERE url_id < 10) SELECT * FROM labels` },
  {
    sql: `WITH x AS (SELECT * FROM labels WHERE score > 80), y AS (SELECT * FROM labels WHERE score < 20) SELECT count(*) FROM x JOIN y ON x.category = y.category`,
  },
  {
    sql: `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT r.n, l.name FROM r JOIN labels l ON l.label_id = r.n`,
  },
  { sql: `SELECT * FROM labels WHERE score > (SELECT avg(score) FROM labels) AND label_id < 200` },
  {
    sql: `SELECT category FROM labels GROUP BY category HAVING max(score) > (SELECT avg(score) FROM labels)`,
  },
  // Set operations.
  {
    sql: `SELECT label_id FROM labels WHERE category = 'books' UNION SELECT label_id FROM label_sublabels WHERE sublabel_name LIKE 'test%'`,
  },
  {
    sql: `SELECT label_id FROM labels WHERE label_id < 100 UNION ALL SELECT label_id FROM label_urls WHERE url_id < 100`,
  },
  { sql: `SELECT label_id FROM labels EXCEPT SELECT label_id FROM label_sublabels` },
  { sql: `SELECT label_id FROM label_urls INTERSECT SELECT label_id FROM label_sublabels` },
  {
    sql: `SELECT name FROM labels WHERE label_id < 10 UNION BY NAME SELECT sublabel_name AS name FROM label_sublabels WHERE sublabel_id < 10`,
  },
  // Windows and aggregates.
  {
    sql: `SELECT label_id, category, row_number() OVER (PARTITION BY category ORDER BY label_id) AS rn FROM labels WHERE label_id < 300`,
  },
  {
    sql: `SELECT label_id, sum(score) OVER (ORDER BY label_id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s FROM labels WHERE label_id < 100`,
  },
  {
    sql: `SELECT category, label_id FROM labels QUALIFY row_number() OVER (PARTITION BY category ORDER BY score DESC, label_id) = 1`,
  },
  {
    sql: `SELECT l.label_id, rank() OVER (ORDER BY count(*) DESC, l.label_id) FROM labels l JOIN label_urls u ON l.label_id = u.label_id GROUP BY l.label_id ORDER BY 2 LIMIT 10`,
    ordered: true,
  },
  {
    sql: `SELECT category, string_agg(name, '|' ORDER BY label_id) FROM labels WHERE label_id < 40 GROUP BY category`,
  },
  {
    sql: `SELECT category, list(label_id ORDER BY label_id) FROM labels WHERE label_id < 60 GROUP BY category`,
  },
  { sql: `SELECT median(score), quantile_cont(score, 0.9), stddev_pop(score) FROM labels` },
  { sql: `SELECT count(*) FILTER (WHERE score > 50), count(*) FILTER (WHERE name LIKE 'test%') FROM labels` },
  { sql: `SELECT date_trunc('year', created_at) AS y, count(*) FROM labels GROUP BY y` },
  { sql: `SELECT sum(label_id) FROM label_sublabels` },
  { sql: `SELECT min(label_id), max(label_id) FROM label_urls` },
  // DuckDB-only syntax: projections still pushed from DuckDB's own parse tree.
  { sql: `SELECT * EXCLUDE (created_at) FROM labels WHERE label_id < 25` },
  { sql: `SELECT * REPLACE (upper(name) AS name) FROM labels WHERE label_id < 25` },
  { sql: `SELECT category, count(*) FROM labels GROUP BY ALL ORDER BY ALL`, ordered: true },
  { sql: `FROM labels SELECT label_id, name WHERE label_id < 10` },
  { sql: `FROM labels WHERE label_id < 5` },
  { sql: `SELECT list_transform([1, 2, 3], x -> x + label_id) AS l FROM labels WHERE label_id < 5` },
  { sql: `SELECT COLUMNS('label_.*') FROM label_sublabels WHERE sublabel_id < 10` },
  { sql: `SELECT TRY_CAST(name AS INTEGER) AS n, label_id FROM labels WHERE label_id < 20` },
  { sql: `SELECT * FROM labels WHERE name GLOB 'test_*'` },
  { sql: `SELECT {'id': label_id, 'n': name} AS s FROM labels WHERE label_id < 5` },
  { sql: `SELECT label_id, created_at + INTERVAL 1 DAY AS next FROM labels WHERE label_id < 10` },
  { sql: `SELECT * FROM labels WHERE label_id < 10 USING SAMPLE 100% (bernoulli)` },
  {
    sql: `SELECT s.sublabel_id, u.url_id FROM label_sublabels s POSITIONAL JOIN label_urls u WHERE s.sublabel_id < 10`,
  },
  { sql: `SELECT 42 AS answer, 'no table' AS t` },
  { sql: `SELECT label_id::VARCHAR || '-' || coalesce(name, '?') AS k FROM labels WHERE label_id < 10` },
  { sql: `SELECT "label_id", "NAME" FROM "labels" WHERE "Label_Id" < 10` },
  { sql: `SELECT labels.label_id FROM main.labels WHERE labels.label_id < 10` },
  {
    sql: `SELECT l.* FROM labels AS l WHERE l.label_id IN (SELECT s.label_id FROM label_sublabels AS s WHERE s.sublabel_id < 20)`,
  },
  {
    sql: `SELECT l.label_id FROM labels l WHERE l.label_id = ANY (SELECT label_id FROM label_urls WHERE url_id < 30)`,
  },
  {
    sql: `SELECT * FROM labels l, LATERAL (SELECT count(*) AS n FROM label_sublabels s WHERE s.label_id = l.label_id) x WHERE l.label_id < 30`,
  },
  { sql: `SELECT label_id FROM labels WHERE random() < 2` },
  { sql: `SELECT * FROM labels ORDER BY label_id LIMIT 5 OFFSET 10`, ordered: true },
  // A small pushed result whose columns travel as text and are cast back (materialized at the container).
  {
    sql: `SELECT label_id, [label_id, label_id * 2] AS pair, {'n': name} AS s FROM labels ORDER BY label_id DESC LIMIT 5`,
    ordered: true,
  },
  { sql: `SELECT name, count(*) FROM labels GROUP BY name HAVING count(*) > 1` },
  {
    sql: `SELECT * FROM label_sublabels WHERE sublabel_name IN (SELECT sublabel_name FROM label_sublabels GROUP BY 1 HAVING count(*) > 3) AND sublabel_id < 500`,
  },
  { sql: `SELECT u.url FROM label_urls u WHERE u.url LIKE '%a,b%'` },
  { sql: `SELECT * FROM labels WHERE name = 'label, "quoted" ' || label_id` },
  {
    sql: `SELECT count(*) FROM labels l JOIN label_sublabels s ON l.label_id = s.label_id JOIN label_urls u ON u.label_id = s.label_id`,
  },
  // Expressions of one table computed by its scan (computed-columns.ts), beside others that are not.
  {
    sql: `SELECT l.category, sum(CASE WHEN l.name ILIKE '%test%' THEN 1 ELSE 0 END) AS tests,
          sum(coalesce(l.score, 0) * 2 + length(u.url)) AS weight, count(*) AS n
          FROM labels l JOIN label_urls u ON u.label_id = l.label_id
          WHERE l.score > 50 GROUP BY l.category ORDER BY l.category NULLS FIRST`,
    ordered: true,
  },
  {
    sql: `SELECT year(l.created_at) AS y, substr(u.url, 1, 12) AS site, upper(s.sublabel_name) AS sub
          FROM labels l JOIN label_sublabels s ON s.label_id = l.label_id
          JOIN label_urls u ON u.sublabel_id = s.sublabel_id WHERE l.score < 5`,
  },
  {
    sql: `SELECT d.k, count(*) AS n FROM (SELECT l.label_id % 7 AS k, {'n': l.name, 's': l.score} AS v
          FROM labels l JOIN label_urls u ON u.label_id = l.label_id WHERE u.url LIKE '%/urls/1%') d
          GROUP BY d.k ORDER BY d.k`,
    ordered: true,
  },
  {
    sql: `SELECT date_trunc('month', l.created_at) AS month, count(*) AS n, sum(length(u.url)) AS chars
          FROM labels l JOIN label_urls u ON u.label_id = l.label_id WHERE l.score > 90
          GROUP BY 1 ORDER BY date_trunc('month', l.created_at) NULLS FIRST`,
    ordered: true,
  },
  {
    sql: `SELECT upper(s.sublabel_name) AS sub, year(l.created_at) AS y, count(*) AS n
          FROM labels l JOIN label_sublabels s ON s.label_id = l.label_id
          WHERE l.category = 'books' GROUP BY ALL HAVING count(*) > 0 ORDER BY ALL`,
    ordered: true,
  },
  {
    sql: `SELECT l.label_id, coalesce(u.url, 'none') AS url, l.created_at::DATE AS day
          FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id WHERE l.category = 'toys'`,
  },
];

/** The shapes people write (issue 15), each pushed through DuckDB's own tree. */
const plannerShapes: DiffQuery[] = [
  {
    sql: `SELECT l.label_id, l.name, u.url FROM labels l JOIN label_urls u USING (label_id) WHERE l.name LIKE '%test%'`,
  },
  { sql: `SELECT label_id, u.url FROM labels l LEFT JOIN label_urls u USING (label_id) WHERE label_id < 50` },
  {
    sql: `SELECT label_id, l.name FROM labels l RIGHT JOIN label_urls u USING (label_id) WHERE label_id < 50`,
  },
  { sql: `SELECT label_id, u.url FROM labels l FULL JOIN label_urls u USING (label_id) WHERE label_id < 50` },
  { sql: `SELECT count(*) FROM label_sublabels NATURAL JOIN label_urls WHERE label_id < 100` },
  {
    sql: `WITH l AS (SELECT * FROM labels) SELECT l.label_id, l.name, u.url FROM l
          JOIN label_urls u ON l.label_id = u.label_id WHERE l.name LIKE '%test%'`,
  },
  {
    sql: `WITH l AS (SELECT label_id AS id, name FROM labels WHERE category <> 'toys')
          SELECT a.id, b.name FROM l a JOIN l b ON a.id = b.id WHERE a.id < 40 AND b.name LIKE 'label%'`,
  },
  {
    sql: `SELECT * FROM (SELECT label_id, name FROM labels ORDER BY label_id LIMIT 20) t WHERE t.label_id > 10`,
  },
  {
    sql: `WITH u AS (SELECT label_id, name AS text FROM labels UNION ALL SELECT label_id, url FROM label_urls)
          SELECT * FROM u WHERE u.label_id < 30 AND u.text LIKE '%test%'`,
  },
  {
    sql: `SELECT * FROM (SELECT label_id::VARCHAR AS k FROM labels UNION ALL SELECT url FROM label_urls) t
          WHERE t.k < '5' AND t.k > '49'`,
  },
  {
    sql: `SELECT * FROM (SELECT category, count(*) AS n FROM labels GROUP BY category) t WHERE category = 'books'`,
  },
  {
    sql: `SELECT u.url_id, u.url FROM label_urls u
          WHERE u.label_id IN (SELECT label_id FROM labels WHERE name LIKE '%test%')`,
  },
  {
    sql: `SELECT u.url_id FROM label_urls u WHERE u.label_id NOT IN (SELECT label_id FROM labels WHERE label_id > 20)`,
  },
  // IN / ANY / EXISTS over aggregating subqueries run in their table's container, whose result
  // becomes keys for other scans (TPC-H Q18's shape): NULL keys in the result, an empty result,
  // NOT IN, ORs, a second use without the IN, an outer join's null-supplying side.
  {
    sql: `SELECT l.label_id, l.name, count(*) AS n, sum(u.url_id) AS s FROM labels l JOIN label_urls u USING (label_id)
          WHERE l.label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 3)
          GROUP BY l.label_id, l.name ORDER BY n DESC, l.label_id LIMIT 50`,
    ordered: true,
  },
  {
    sql: `SELECT u.label_id, count(*) AS n FROM label_urls u JOIN label_sublabels s USING (label_id)
          WHERE u.label_id IN (SELECT label_id FROM label_sublabels GROUP BY label_id HAVING count(*) >= 1)
          GROUP BY u.label_id`,
  },
  {
    sql: `SELECT count(*) AS n, count(u.label_id) AS k FROM label_urls u JOIN labels l USING (label_id)
          WHERE u.label_id NOT IN (SELECT label_id FROM label_sublabels GROUP BY label_id HAVING count(*) > 1)`,
  },
  {
    sql: `SELECT count(*) AS n FROM label_urls u JOIN labels l USING (label_id)
          WHERE u.label_id NOT IN (SELECT label_id FROM label_sublabels WHERE label_id IS NOT NULL GROUP BY label_id HAVING count(*) > 1)`,
  },
  {
    sql: `SELECT count(*) AS n FROM labels l JOIN label_urls u USING (label_id)
          WHERE l.label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 1000000)`,
  },
  {
    sql: `SELECT l.category, count(*) AS n FROM labels l JOIN label_sublabels s USING (label_id)
          WHERE l.label_id = ANY (SELECT label_id FROM label_urls GROUP BY label_id HAVING min(url_id) < 3000)
          GROUP BY l.category`,
  },
  {
    sql: `SELECT count(*) AS n FROM labels l JOIN label_urls u USING (label_id)
          WHERE EXISTS (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 3) AND l.label_id < 100`,
  },
  {
    sql: `SELECT count(*) AS n, count(u.url_id) AS m FROM labels l LEFT JOIN label_urls u ON u.label_id = l.label_id
          AND u.label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 3)`,
  },
  {
    sql: `SELECT count(*) AS n FROM labels l JOIN label_urls u USING (label_id)
          WHERE l.label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 3) OR l.category = 'books'`,
  },
  {
    sql: `SELECT count(*) AS n FROM labels a JOIN labels b ON a.label_id = b.label_id + 1 JOIN label_urls u ON u.label_id = b.label_id
          WHERE a.label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 2)`,
  },
  {
    sql: `SELECT d.category, count(*) AS n FROM (SELECT l.* FROM labels l
            WHERE l.label_id IN (SELECT label_id FROM label_sublabels GROUP BY label_id HAVING count(*) > 1)) d
          JOIN label_urls u USING (label_id) GROUP BY d.category`,
  },
  {
    sql: `SELECT count(*) AS n FROM labels l JOIN label_urls u USING (label_id)
          WHERE l.label_id IN (SELECT DISTINCT sublabel_id FROM label_urls)`,
  },
  {
    sql: `SELECT l.label_id FROM labels l WHERE l.category = 'books'
          AND EXISTS (SELECT 1 FROM label_urls u WHERE u.label_id = l.label_id AND u.url LIKE 'https%')`,
  },
  {
    sql: `SELECT l.label_id FROM labels l WHERE l.name LIKE '%test%'
          AND NOT EXISTS (SELECT 1 FROM label_sublabels s WHERE s.label_id = l.label_id)`,
  },
  {
    sql: `SELECT l.label_id, (SELECT count(*) FROM label_urls u WHERE u.label_id = l.label_id) AS n
          FROM labels l WHERE l.name LIKE '%test%'`,
  },
  {
    sql: `SELECT l.label_id, l.name, count(*) AS n FROM labels l JOIN label_urls u ON l.label_id = u.label_id
          WHERE l.name LIKE '%test%' GROUP BY ALL`,
  },
  {
    sql: `SELECT l.label_id, u.url FROM labels l JOIN label_urls u ON l.label_id = u.label_id WHERE l.name LIKE '%test%'
          QUALIFY row_number() OVER (PARTITION BY l.label_id ORDER BY u.url_id) = 1`,
  },
  {
    sql: `SELECT count(*) FROM labels l, label_urls u WHERE l.label_id = u.label_id AND l.label_id BETWEEN 5 AND 60`,
  },
  {
    sql: `SELECT count(*) FROM labels l, label_urls u
          WHERE (l.label_id = u.label_id AND l.category = 'books' AND u.url LIKE 'https%')
             OR (l.label_id = u.label_id AND l.category = 'toys' AND u.url_id % 2 = 0)`,
  },
  {
    sql: `SELECT count(*) FROM labels WHERE created_at >= TIMESTAMP '2021-01-01' + INTERVAL 3 MONTH
          AND created_at < DATE '2021-01-01' + INTERVAL '1' YEAR`,
  },
  {
    sql: `SELECT l.category, count(*) FROM labels l JOIN label_urls u ON l.label_id = u.label_id
          WHERE l.created_at < DATE '2020-06-01' - INTERVAL 10 DAY GROUP BY l.category`,
  },
];

/**
 * Several references of one table that want different rows: each group gets a scan of its own,
 * and a group may be reduced by another group's keys (analyze/reference-scans.ts).
 */
const selfReferences: DiffQuery[] = [
  {
    sql: `SELECT a.label_id, b.label_id AS other FROM labels a JOIN labels b ON a.category = b.category
          WHERE a.name LIKE '%test%' AND b.score > 90`,
  },
  {
    // Q21's shape: a filtered use, a correlated EXISTS and NOT EXISTS of the same table.
    sql: `SELECT u1.label_id, count(*) AS n FROM label_urls u1 JOIN labels l ON l.label_id = u1.label_id
          WHERE l.category = 'books' AND u1.url LIKE 'https%'
            AND EXISTS (SELECT * FROM label_urls u2 WHERE u2.label_id = u1.label_id AND u2.url_id <> u1.url_id)
            AND NOT EXISTS (SELECT * FROM label_urls u3 WHERE u3.label_id = u1.label_id
              AND u3.url_id <> u1.url_id AND u3.url LIKE 'http:%')
          GROUP BY u1.label_id`,
  },
  {
    sql: `SELECT l.label_id, (SELECT max(o.score) FROM labels o WHERE o.category = l.category AND o.label_id < 100) AS m
          FROM labels l WHERE l.name LIKE '%test%'`,
  },
  {
    sql: `SELECT * FROM labels WHERE name LIKE '%test%'
          AND label_id IN (SELECT label_id FROM labels WHERE category = 'books' AND score > 20)`,
  },
  {
    sql: `SELECT count(*) FROM label_urls u WHERE u.url LIKE 'https%'
          AND u.label_id IN (SELECT x.label_id FROM label_urls x WHERE x.url_id % 7 = 0)`,
  },
  {
    sql: `SELECT a.label_id, b.name FROM labels a LEFT JOIN labels b ON b.label_id = a.label_id + 1 AND b.category = 'toys'
          WHERE a.score < 10`,
  },
  {
    sql: `SELECT count(*) FROM labels l WHERE l.category = 'books'
          AND NOT EXISTS (SELECT 1 FROM labels m WHERE m.category = l.category AND m.label_id = l.label_id + 1 AND m.score > 50)`,
  },
  {
    sql: `SELECT label_id FROM labels WHERE score > 95 UNION ALL SELECT label_id FROM labels WHERE name LIKE '%test%'`,
  },
  {
    sql: `SELECT a.label_id, c.name FROM labels a JOIN labels b ON a.label_id = b.label_id
          JOIN labels c ON c.label_id = b.label_id + 1 WHERE a.name LIKE '%test%' AND c.category IS NOT NULL`,
  },
  {
    sql: `WITH t AS (SELECT label_id, name FROM labels WHERE category = 'toys')
          SELECT a.label_id, b.name FROM t a JOIN t b ON b.label_id = a.label_id + 2
          JOIN labels l ON l.label_id = a.label_id WHERE l.score > 30`,
  },
  {
    sql: `WITH t AS (SELECT label_id FROM label_urls WHERE url LIKE 'https%')
          SELECT count(*) FROM label_urls u JOIN t ON t.label_id = u.label_id WHERE u.url_id % 5 = 0`,
  },
  {
    sql: `SELECT s.sublabel_id, p.sublabel_name FROM label_sublabels s JOIN label_sublabels p ON p.sublabel_id = s.label_id
          WHERE s.sublabel_name LIKE '%a%'`,
  },
  {
    // Scans per reference with an IN subquery pushed as a source of keys: the SQL rewritten
    // over its result is analyzed again, and its references get scans anew.
    sql: `SELECT u1.label_id, count(*) AS n FROM label_urls u1 WHERE u1.url LIKE 'https%'
            AND EXISTS (SELECT * FROM label_urls u2 WHERE u2.label_id = u1.label_id AND u2.url_id <> u1.url_id)
            AND u1.label_id IN (SELECT label_id FROM labels GROUP BY label_id HAVING max(score) > 50)
          GROUP BY u1.label_id`,
  },
];

/** Single-table shapes over every table and column, to cover the pushdown of each type. */
function perTable(): DiffQuery[] {
  const tables: Record<string, { key: string; cols: string[]; text: string }> = {
    labels: { key: 'label_id', cols: ['label_id', 'name', 'category', 'score', 'created_at'], text: 'name' },
    label_sublabels: {
      key: 'sublabel_id',
      cols: ['sublabel_id', 'label_id', 'sublabel_name'],
      text: 'sublabel_name',
    },
    label_urls: { key: 'url_id', cols: ['url_id', 'label_id', 'url', 'sublabel_id'], text: 'url' },
  };
  const out: DiffQuery[] = [];
  for (const [t, { key, cols, text }] of Object.entries(tables)) {
    out.push(
      { sql: `SELECT * FROM ${t} WHERE ${key} < 100` },
      {
        sql: `SELECT ${cols.join(', ')} FROM ${t} WHERE ${key} % 10 = 0 ORDER BY ${key} LIMIT 50`,
        ordered: true,
      },
      { sql: `SELECT count(*), count(${text}), min(${text}), max(${text}) FROM ${t}` },
      { sql: `SELECT ${text}, count(*) FROM ${t} WHERE ${text} LIKE '%test%' GROUP BY 1` },
      { sql: `SELECT * FROM ${t} WHERE ${text} IS NULL` },
      {
        sql: `SELECT ${key} FROM ${t} WHERE ${text} ILIKE '%É%' OR ${text} LIKE '%日本%' OR ${text} LIKE '%例え%'`,
      },
      { sql: `SELECT approx_count_distinct(${key}) >= 0 AS ok, count(DISTINCT ${key}) FROM ${t}` },
      { sql: `SELECT ${key}, ${text} FROM ${t} ORDER BY ${key} DESC LIMIT 7`, ordered: true },
    );
    for (const c of cols) {
      out.push(
        { sql: `SELECT ${c} FROM ${t} WHERE ${key} BETWEEN 10 AND 40` },
        { sql: `SELECT count(${c}), count(DISTINCT ${c}) FROM ${t}` },
      );
    }
  }
  return out;
}

/** Joins over each pair of tables with a pushable filter on one side, in each join type. */
function joinMatrix(): DiffQuery[] {
  const out: DiffQuery[] = [];
  const pairs = [
    ['labels', 'label_sublabels'],
    ['labels', 'label_urls'],
    ['label_sublabels', 'label_urls'],
  ];
  for (const [a, b] of pairs) {
    for (const join of ['JOIN', 'LEFT JOIN', 'RIGHT JOIN', 'FULL JOIN']) {
      out.push({
        sql: `SELECT count(*), count(x.label_id), count(y.label_id) FROM ${a} x ${join} ${b} y ON x.label_id = y.label_id WHERE x.label_id < 300`,
      });
      out.push({
        sql: `SELECT count(*), count(x.label_id), count(y.label_id) FROM ${a} x ${join} ${b} y ON x.label_id = y.label_id AND y.label_id % 3 = 0`,
      });
    }
  }
  return out;
}

/**
 * Groupings over joins whose aggregates read one table, which eager aggregation pre-aggregates
 * below the join (eager-aggregation.ts): each join type, count(*) and count(col), sums, avg,
 * min/max, HAVING, no GROUP BY, a table filtered to no rows, TPC-H Q13's derived table; over
 * NULL and orphan keys on both sides.
 */
const eagerAggregation: DiffQuery[] = [
  {
    sql: `SELECT n, count(*) AS custdist FROM (SELECT l.label_id, count(u.url_id) FROM labels l
          LEFT OUTER JOIN label_urls u ON l.label_id = u.label_id AND u.url NOT LIKE '%7%'
          GROUP BY l.label_id) AS c (label_id, n) GROUP BY n ORDER BY custdist DESC, n DESC`,
    ordered: true,
  },
  {
    sql: `SELECT l.category, count(*) AS n, count(u.url) AS urls, min(u.url_id) AS lo, max(u.url) AS hi
          FROM labels l JOIN label_urls u ON u.label_id = l.label_id GROUP BY l.category`,
  },
  {
    sql: `SELECT l.category, avg(s.sublabel_id) AS a, sum(s.sublabel_id) AS s FROM labels l
          LEFT JOIN label_sublabels s ON s.label_id = l.label_id GROUP BY l.category HAVING count(*) > 10`,
    tolerance: 1e-9,
  },
  {
    sql: `SELECT l.category, count(*) AS n, count(u.url_id) AS ids FROM labels l
          RIGHT JOIN label_urls u ON u.label_id = l.label_id GROUP BY l.category`,
  },
  {
    sql: `SELECT l.category, count(*) AS n, count(u.url) AS urls, sum(u.sublabel_id) AS s FROM labels l
          FULL JOIN label_urls u ON l.label_id = u.label_id GROUP BY l.category`,
  },
  {
    sql: `SELECT count(u.url_id) AS n, max(u.sublabel_id) AS m, count(*) AS c FROM labels l
          LEFT JOIN label_urls u ON u.label_id = l.label_id`,
  },
  {
    sql: `SELECT l.category, count(u.url_id) AS n, sum(u.sublabel_id) AS s FROM labels l
          LEFT JOIN label_urls u ON u.label_id = l.label_id AND u.url_id < 0 GROUP BY l.category`,
  },
  {
    sql: `SELECT l.category, sum(u.sublabel_id) AS s, count(*) AS n FROM labels l, label_urls u
          WHERE l.label_id = u.label_id AND u.url LIKE '%example%' GROUP BY l.category
          ORDER BY l.category NULLS FIRST`,
    ordered: true,
  },
];

/**
 * References read only under EXISTS / IN / ANY, whose scans send distinct rows
 * (analyze/existential.ts), beside shapes where copies count and the scan stays whole.
 * label_urls.label_id and label_sublabels.label_id repeat, and hold NULLs.
 */
const existential: DiffQuery[] = [
  {
    sql: `SELECT count(*) FROM labels l WHERE NOT EXISTS (SELECT * FROM label_urls u WHERE u.label_id = l.label_id)`,
  },
  {
    sql: `SELECT l.category, count(*) AS n FROM labels l
          WHERE EXISTS (SELECT * FROM label_urls u WHERE u.label_id = l.label_id AND u.url LIKE 'https%')
          GROUP BY l.category`,
  },
  {
    sql: `SELECT count(*) FROM labels l WHERE l.label_id NOT IN (SELECT label_id FROM label_sublabels)`,
  },
  {
    sql: `SELECT count(*) FROM labels l WHERE l.label_id NOT IN (SELECT label_id FROM label_urls WHERE label_id IS NOT NULL)`,
  },
  {
    sql: `SELECT count(*), sum(l.score) AS s FROM labels l
          WHERE l.label_id IN (SELECT u.label_id FROM label_urls u JOIN label_sublabels s ON s.sublabel_id = u.sublabel_id)`,
    tolerance: 1e-9,
  },
  {
    sql: `SELECT count(*) FROM labels l WHERE l.label_id = ANY (SELECT label_id FROM label_urls WHERE url_id % 3 = 0)
          AND l.label_id <> ALL (SELECT label_id FROM label_sublabels WHERE sublabel_id % 5 = 0)`,
  },
  {
    sql: `SELECT count(*) FROM labels l WHERE EXISTS (SELECT label_id FROM label_urls u WHERE u.label_id = l.label_id
          UNION ALL SELECT label_id FROM label_sublabels s WHERE s.sublabel_id = l.label_id)`,
  },
  {
    sql: `SELECT count(*) FROM labels l WHERE EXISTS (SELECT * FROM label_urls u WHERE u.label_id = l.label_id LIMIT 1)`,
  },
  {
    sql: `SELECT count(*) FROM labels l WHERE l.label_id IN (SELECT label_id FROM label_urls
          EXCEPT ALL SELECT label_id FROM label_sublabels)`,
  },
  {
    sql: `SELECT count(*) FROM labels l WHERE l.label_id IN
          (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 6)`,
  },
  {
    sql: `SELECT u.url_id, (SELECT count(*) FROM label_urls v WHERE v.label_id = u.label_id) AS n FROM label_urls u
          WHERE u.url_id < 300 AND EXISTS (SELECT * FROM labels l WHERE l.label_id = u.label_id AND l.score > 50)`,
  },
  {
    sql: `SELECT count(*) FROM label_urls u WHERE u.url LIKE 'https%'
          AND NOT EXISTS (SELECT * FROM label_urls v WHERE v.label_id = u.label_id AND v.url LIKE 'http:%')`,
  },
];

/**
 * Whole queries that only pick columns, run whole in their container: aliases (swapped with
 * the columns' names), `*` beside a column, a FROM alias, LIMITs past the rows and of none, and
 * a WHERE that reads a select alias.
 */
const plainScans: DiffQuery[] = [
  { sql: `SELECT url_id AS label_id, label_id AS url_id FROM label_urls WHERE label_id < 20` },
  { sql: `SELECT u.url AS link, u.* FROM label_urls AS u WHERE u.url_id % 50 = 0 AND u.label_id < 500` },
  { sql: `SELECT * FROM labels WHERE label_id < 30 LIMIT 100000` },
  { sql: `SELECT * FROM label_sublabels LIMIT 0` },
  { sql: `SELECT name AS n, score, created_at FROM labels WHERE score > 90 LIMIT 1000000` },
  { sql: `FROM label_urls SELECT url, URL_ID WHERE url_id < 25 LIMIT 1000` },
  { sql: `SELECT label_id AS k FROM labels WHERE k < 10` },
];

/**
 * ORs of ANDs across two joined tables (TPC-H Q19's shape): keys coded by the branches their
 * rows satisfy (branch-codes.ts), the equality in every branch or once, a branch saying
 * nothing of one side, NULLs in the branches' columns, keys repeated on the coded side.
 */
export const OR_BRANCHES: DiffQuery[] = [
  {
    sql: `SELECT count(*) AS n, sum(u.url_id) AS s FROM labels l, label_urls u
          WHERE (l.label_id = u.label_id AND l.category = 'books' AND u.url_id % 3 = 0)
             OR (l.label_id = u.label_id AND l.category IN ('toys', 'food') AND u.url_id % 3 = 1)
             OR (l.label_id = u.label_id AND l.score < 20 AND u.url LIKE '%a%')`,
  },
  {
    sql: `SELECT l.label_id, u.url_id FROM labels l JOIN label_urls u ON u.label_id = l.label_id
          WHERE (l.name LIKE '%test%' AND u.url_id < 4000) OR (l.score IS NULL AND u.url IS NULL)
             OR (l.category = 'garden' AND u.url_id % 7 = 0)`,
  },
  {
    sql: `SELECT s.sublabel_id, l.category FROM label_sublabels s, labels l
          WHERE s.label_id = l.label_id AND ((l.category = 'home' AND s.sublabel_id % 2 = 0)
            OR (l.score > 90 AND s.sublabel_name IS NOT NULL) OR (s.sublabel_id < 50))`,
  },
  {
    sql: `SELECT l.category, count(*) AS n FROM label_urls u JOIN labels l USING (label_id)
          WHERE (u.url_id % 5 = 0 AND l.score BETWEEN 10 AND 40) OR (u.url_id % 5 = 1 AND l.score BETWEEN 30 AND 60)
          GROUP BY l.category`,
  },
  {
    sql: `SELECT l.label_id, s.sublabel_id FROM labels l JOIN label_sublabels s ON s.label_id = l.label_id
            AND ((l.category = 'toys' AND s.sublabel_id % 3 = 0) OR (l.score < 5 AND s.sublabel_name IS NULL))
          LEFT JOIN label_urls u ON u.label_id = l.label_id AND ((u.url_id % 2 = 0 AND l.score > 50) OR u.url IS NULL)`,
  },
];

export const DIFF_QUERIES: DiffQuery[] = [
  ...handWritten,
  ...plainScans,
  ...plannerShapes,
  ...selfReferences,
  ...existential,
  ...perTable(),
  ...joinMatrix(),
  ...eagerAggregation,
  ...OR_BRANCHES,
];
