/**
 * Aggregates over split tables (issue 16): every aggregate that decomposes into per-part
 * partials and a merge, in every position (GROUP BY keys and expressions, HAVING, ORDER BY,
 * LIMIT/OFFSET, DISTINCT, FILTER, over no rows), and the ones that do not (median, quantiles,
 * ordered string_agg and list, mode, variances, window functions, grouping sets), which must
 * gather the rows instead. Each is compared with single-node DuckDB; sums and averages of
 * doubles are compared within a relative tolerance (their order of addition differs).
 */
import type { DiffQuery } from '../helpers/oracle.js';

const DOUBLES = 1e-9;

const decomposable: DiffQuery[] = [
  { sql: 'SELECT count(*) AS n FROM labels' },
  { sql: 'SELECT count(*) AS n FROM label_urls' },
  { sql: 'SELECT count(name) AS named, count(category) AS categorized, count(score) AS scored FROM labels' },
  { sql: 'SELECT sum(label_id) AS s, min(label_id) AS lo, max(label_id) AS hi FROM labels' },
  { sql: 'SELECT sum(score) AS s, avg(score) AS a FROM labels', tolerance: DOUBLES },
  {
    sql: 'SELECT min(name) AS lo, max(name) AS hi, min(created_at) AS first, max(created_at) AS last FROM labels',
  },
  { sql: 'SELECT bool_and(score > 1) AS all_over, bool_or(score > 99.9) AS any_over FROM labels' },
  { sql: 'SELECT count(DISTINCT category) AS c, count(DISTINCT label_id) AS l FROM labels' },
  { sql: 'SELECT count(DISTINCT label_id) AS l, sum(DISTINCT label_id) AS s FROM label_sublabels' },
  { sql: 'SELECT avg(DISTINCT label_id) AS a FROM label_urls', tolerance: DOUBLES },
  {
    sql: 'SELECT category, count(*) AS n, sum(score) AS s, avg(score) AS a, min(score) AS lo, max(score) AS hi FROM labels GROUP BY category',
    tolerance: DOUBLES,
  },
  { sql: 'SELECT category, count(DISTINCT name) AS names FROM labels GROUP BY category' },
  { sql: 'SELECT label_id, count(*) AS n FROM label_sublabels GROUP BY label_id' },
  {
    sql: 'SELECT label_id % 10 AS bucket, count(*) AS n, max(url_id) AS top FROM label_urls GROUP BY bucket',
  },
  { sql: "SELECT date_trunc('year', created_at) AS y, count(*) AS n FROM labels GROUP BY ALL" },
  { sql: 'SELECT category, name IS NULL AS unnamed, count(*) AS n FROM labels GROUP BY 1, 2' },
  { sql: 'SELECT category, count(*) AS n FROM labels GROUP BY category HAVING count(*) > 200' },
  {
    sql: 'SELECT category, avg(score) AS a FROM labels GROUP BY category HAVING avg(score) > 49 AND min(label_id) < 100',
    tolerance: DOUBLES,
  },
  {
    sql: 'SELECT category, count(*) AS n FROM labels GROUP BY category ORDER BY n DESC, category NULLS FIRST',
    ordered: true,
  },
  {
    sql: 'SELECT label_id, count(*) AS n FROM label_urls GROUP BY label_id ORDER BY n DESC, label_id LIMIT 5',
    ordered: true,
  },
  {
    sql: 'SELECT label_id, count(*) AS n FROM label_urls GROUP BY label_id ORDER BY label_id LIMIT 5 OFFSET 7',
    ordered: true,
  },
  {
    sql: 'SELECT sum(score) / count(score) AS mean, count(*) - count(name) AS unnamed FROM labels',
    tolerance: DOUBLES,
  },
  {
    sql: "SELECT count(*) FILTER (WHERE score > 50) AS high, sum(label_id) FILTER (WHERE category = 'books') AS s FROM labels",
  },
  {
    sql: 'SELECT count(*) AS n, sum(label_id) AS s, min(name) AS m, avg(score) AS a FROM labels WHERE label_id < 0',
  },
  { sql: 'SELECT category, count(*) AS n FROM labels WHERE label_id < 0 GROUP BY category' },
  { sql: 'SELECT count(*) AS n, max(url) AS m FROM label_urls WHERE label_id > 9007199254740992' },
  { sql: 'SELECT count(*) AS n FROM label_sublabels WHERE sublabel_id BETWEEN 1000 AND 1200' },
  { sql: 'SELECT DISTINCT category FROM labels' },
  { sql: 'SELECT DISTINCT label_id % 7 AS r, category FROM labels' },
  { sql: 'SELECT label_id, name FROM labels ORDER BY label_id DESC LIMIT 7', ordered: true },
  {
    sql: 'SELECT url_id, url FROM label_urls ORDER BY url NULLS LAST, url_id LIMIT 10 OFFSET 3',
    ordered: true,
  },
  { sql: 'SELECT * FROM (SELECT category, count(*) AS n FROM labels GROUP BY category) t WHERE n > 10' },
  { sql: 'SELECT arg_max(name, label_id) AS newest, arg_min(label_id, label_id) AS oldest FROM labels' },
  {
    sql: 'SELECT bit_or(label_id) AS o, bit_and(label_id) AS a, bit_xor(label_id) AS x FROM label_sublabels',
  },
];

/** Not decomposable exactly: the rows are gathered and aggregated at the coordinator. */
const fallbacks: DiffQuery[] = [
  { sql: 'SELECT median(score) AS m FROM labels' },
  { sql: 'SELECT category, median(label_id) AS m FROM labels GROUP BY category' },
  { sql: 'SELECT quantile_cont(score, 0.25) AS q1, quantile_disc(label_id, 0.9) AS q9 FROM labels' },
  {
    sql: "SELECT category, string_agg(name, '|' ORDER BY label_id) AS names FROM labels WHERE label_id < 200 GROUP BY category",
  },
  {
    sql: 'SELECT label_id, list(url_id ORDER BY url_id) AS urls FROM label_urls WHERE label_id < 50 GROUP BY label_id',
  },
  { sql: 'SELECT category, mode(label_id % 3) AS m FROM labels GROUP BY category HAVING count(*) > 0' },
  { sql: 'SELECT stddev_pop(score) AS sd, var_samp(score) AS v FROM labels', tolerance: 1e-7 },
  {
    sql: 'SELECT label_id, category, rank() OVER (PARTITION BY category ORDER BY score DESC NULLS LAST, label_id) AS r FROM labels',
  },
  {
    sql: 'SELECT label_id, count(*) OVER (PARTITION BY label_id) AS per_label FROM label_sublabels WHERE sublabel_id < 500',
  },
  {
    sql: 'SELECT category, count(*) AS n, sum(count(*)) OVER () AS total FROM labels GROUP BY category',
  },
  { sql: 'SELECT category, count(*) AS n FROM labels GROUP BY ROLLUP (category)' },
  {
    sql: 'SELECT category, label_id % 2 AS odd, count(*) AS n FROM labels GROUP BY GROUPING SETS ((category), (odd), ())',
  },
  { sql: 'SELECT count(*) AS n FROM (SELECT label_id FROM label_urls LIMIT 100) t' },
  { sql: "SELECT string_agg(DISTINCT category, ',' ORDER BY category) AS cs FROM labels" },
  { sql: 'SELECT histogram(label_id % 4) AS h FROM label_sublabels' },
];

/**
 * Aggregating subqueries of a split table inside a query of several tables: aggregated in the
 * parts and merged into a TEMP table where they decompose, gathered as rows where they do not.
 */
const subqueries: DiffQuery[] = [
  {
    sql: 'SELECT l.name, x.n FROM labels l JOIN (SELECT label_id, count(*) AS n FROM label_urls GROUP BY label_id) x USING (label_id) WHERE l.label_id < 300',
  },
  {
    sql: 'WITH per AS (SELECT label_id, count(*) AS subs, max(sublabel_id) AS top FROM label_sublabels GROUP BY ALL) SELECT l.category, sum(per.subs) AS subs, max(per.top) AS top FROM labels l JOIN per ON l.label_id = per.label_id GROUP BY l.category',
  },
  {
    sql: 'SELECT count(*) AS n FROM labels WHERE label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 5)',
  },
  {
    sql: 'SELECT a.label_id, a.n, b.n AS m FROM (SELECT label_id, count(*) AS n FROM label_urls GROUP BY label_id) a JOIN (SELECT label_id, count(*) AS n FROM label_sublabels GROUP BY label_id) b USING (label_id) WHERE a.label_id < 200',
  },
  {
    sql: 'SELECT l.label_id, x.m FROM labels l JOIN (SELECT label_id, median(url_id) AS m FROM label_urls GROUP BY label_id) x USING (label_id) WHERE l.label_id < 100',
  },
  {
    sql: 'SELECT l.category, x.d FROM labels l JOIN (SELECT DISTINCT label_id, label_id % 3 AS d FROM label_urls) x USING (label_id) WHERE l.label_id < 400',
  },
];

export const SHARD_AGGREGATES: DiffQuery[] = [...decomposable, ...fallbacks, ...subqueries];
