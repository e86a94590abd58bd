/**
 * Which scans the analyzer marks `distinct` (existential.ts): those whose every reference is
 * read only for which distinct rows it holds. Whether a marked scan keeps every answer right
 * is checked on data with duplicate rows by analyze-differential.test.ts and, through the
 * coordinator, by the differential corpus.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeQuery, type DuckDbSql } from '../../src/coordinator/plan/analyze/index.js';
import { CATALOG, openParser } from './analyze-helpers.js';

let duck: DuckDbSql;
let close: () => void;

beforeAll(async () => {
  ({ duck, close } = await openParser());
});
afterAll(() => close());

/** The distinct scans of `sql`, by TEMP table name (the table's, or `table#n`), sorted. */
async function distinctScans(sql: string): Promise<string[]> {
  const a = await analyzeQuery(sql, CATALOG, duck, { scanPerReference: true });
  return a.tables
    .filter((t) => t.distinct)
    .map((t) => t.scan ?? t.table)
    .sort();
}

const OUTER = 'SELECT l.label_id, l.name FROM labels l WHERE';
const CORRELATED = 'u.label_id = l.label_id';

describe('distinct: every reference of the scan only asks which rows exist', () => {
  const cases: [string, string, string[]][] = [
    ['EXISTS', `${OUTER} EXISTS (SELECT * FROM label_urls u WHERE ${CORRELATED})`, ['label_urls']],
    ['NOT EXISTS', `${OUTER} NOT EXISTS (SELECT 1 FROM label_urls u WHERE ${CORRELATED})`, ['label_urls']],
    [
      'correlated EXISTS with conditions of its own',
      `${OUTER} EXISTS (SELECT * FROM label_urls u WHERE ${CORRELATED} AND u.url LIKE 'http%' AND u.url <> l.name)`,
      ['label_urls'],
    ],
    ['IN', `${OUTER} l.label_id IN (SELECT label_id FROM label_urls)`, ['label_urls']],
    [
      'IN over a column with duplicates and NULLs',
      `${OUTER} l.name IN (SELECT url FROM label_urls)`,
      ['label_urls'],
    ],
    ['NOT IN', `${OUTER} l.label_id NOT IN (SELECT label_id FROM label_urls)`, ['label_urls']],
    ['= ANY', `${OUTER} l.label_id = ANY (SELECT label_id FROM label_urls)`, ['label_urls']],
    ['<> ALL', `${OUTER} l.label_id <> ALL (SELECT label_id FROM label_urls)`, ['label_urls']],
    ['> ANY', `${OUTER} l.label_id > ANY (SELECT label_id FROM label_urls)`, ['label_urls']],
    [
      'a join inside EXISTS',
      `${OUTER} EXISTS (SELECT * FROM label_urls u JOIN label_sublabels s ON s.label_id = u.label_id WHERE ${CORRELATED})`,
      ['label_sublabels', 'label_urls'],
    ],
    [
      'an outer join inside IN',
      `${OUTER} l.label_id IN (SELECT u.label_id FROM label_urls u LEFT JOIN label_sublabels s ON s.label_id = u.label_id WHERE s.sublabel_id IS NULL)`,
      ['label_sublabels', 'label_urls'],
    ],
    [
      'UNION ALL inside EXISTS',
      `${OUTER} EXISTS (SELECT label_id FROM label_urls u WHERE ${CORRELATED} UNION ALL SELECT label_id FROM label_sublabels s WHERE s.label_id = l.label_id)`,
      ['label_sublabels', 'label_urls'],
    ],
    [
      'INTERSECT and EXCEPT inside IN',
      `${OUTER} l.label_id IN (SELECT label_id FROM label_urls INTERSECT ALL SELECT label_id FROM label_sublabels) AND l.label_id IN (SELECT label_id FROM label_urls EXCEPT SELECT sublabel_id FROM label_sublabels)`,
      ['label_sublabels', 'label_urls'],
    ],
    [
      'SELECT DISTINCT inside IN',
      `${OUTER} l.label_id IN (SELECT DISTINCT label_id FROM label_urls)`,
      ['label_urls'],
    ],
    [
      'LIMIT 1 inside EXISTS',
      `${OUTER} EXISTS (SELECT * FROM label_urls u WHERE ${CORRELATED} LIMIT 1)`,
      ['label_urls'],
    ],
    [
      'a derived table inside EXISTS',
      `${OUTER} EXISTS (SELECT * FROM (SELECT label_id, url FROM label_urls) u WHERE ${CORRELATED})`,
      ['label_urls'],
    ],
    [
      'IN inside EXISTS',
      `${OUTER} EXISTS (SELECT * FROM label_urls u WHERE ${CORRELATED} AND u.label_id IN (SELECT label_id FROM label_sublabels))`,
      ['label_sublabels', 'label_urls'],
    ],
    [
      'count(*) over a semi-join: the rows counted are the outer ones',
      `SELECT count(*) FROM labels l WHERE EXISTS (SELECT * FROM label_urls u WHERE ${CORRELATED})`,
      ['label_urls'],
    ],
    [
      'EXISTS inside a scalar subquery: the EXISTS reads only existence again',
      `SELECT (SELECT count(*) FROM labels l WHERE EXISTS (SELECT 1 FROM label_urls u WHERE ${CORRELATED})) AS n`,
      ['label_urls'],
    ],
    [
      'the same table outside and inside EXISTS, in scans of their own',
      `SELECT a.url FROM label_urls a WHERE a.url LIKE 'http%' AND EXISTS (SELECT * FROM label_urls u WHERE u.label_id = a.label_id AND u.url LIKE '%.org')`,
      ['label_urls#2'],
    ],
  ];
  for (const [name, sql, expected] of cases)
    it(name, async () => expect(await distinctScans(sql)).toEqual(expected));
});

describe('not distinct: copies of a row can change the result', () => {
  const cases: [string, string][] = [
    ['read in the outer query', 'SELECT * FROM labels l JOIN label_urls u USING (label_id)'],
    ['count(*) over a join', 'SELECT count(*) FROM labels l JOIN label_urls u ON u.label_id = l.label_id'],
    ['a derived table of the outer query', 'SELECT * FROM (SELECT DISTINCT label_id FROM label_urls) u'],
    [
      'an aggregate inside EXISTS',
      `${OUTER} EXISTS (SELECT count(*) FROM label_urls u WHERE ${CORRELATED} HAVING count(*) > 1)`,
    ],
    [
      'GROUP BY … HAVING count(*) inside IN',
      `${OUTER} l.label_id IN (SELECT label_id FROM label_urls GROUP BY label_id HAVING count(*) > 1)`,
    ],
    [
      'a window function inside IN',
      `${OUTER} l.label_id IN (SELECT label_id FROM (SELECT label_id, row_number() OVER (PARTITION BY label_id) AS n FROM label_urls) WHERE n = 2)`,
    ],
    [
      'QUALIFY inside IN',
      `${OUTER} l.label_id IN (SELECT label_id FROM label_urls QUALIFY count(*) OVER (PARTITION BY label_id) > 1)`,
    ],
    ['LIMIT inside IN', `${OUTER} l.label_id IN (SELECT label_id FROM label_urls ORDER BY label_id LIMIT 2)`],
    ['OFFSET inside EXISTS', `${OUTER} EXISTS (SELECT * FROM label_urls u WHERE ${CORRELATED} OFFSET 1)`],
    [
      'LIMIT with OFFSET inside EXISTS',
      `${OUTER} EXISTS (SELECT * FROM label_urls u WHERE ${CORRELATED} LIMIT 1 OFFSET 1)`,
    ],
    ['LIMIT 0 inside EXISTS', `${OUTER} EXISTS (SELECT * FROM label_urls u WHERE ${CORRELATED} LIMIT 0)`],
    [
      'DISTINCT ON inside IN',
      `${OUTER} l.name IN (SELECT DISTINCT ON (label_id) url FROM label_urls ORDER BY label_id, url)`,
    ],
    [
      'EXCEPT ALL inside IN',
      `${OUTER} l.label_id IN (SELECT label_id FROM label_urls EXCEPT ALL SELECT label_id FROM label_sublabels)`,
    ],
    ['a scalar subquery', `${OUTER} l.label_id = (SELECT max(label_id) FROM label_urls)`],
    [
      'a scalar subquery without an aggregate',
      `${OUTER} l.name = (SELECT url FROM label_urls u WHERE ${CORRELATED} LIMIT 1)`,
    ],
    [
      'an aggregating scalar subquery inside EXISTS',
      `${OUTER} EXISTS (SELECT * FROM label_urls u WHERE ${CORRELATED} AND (SELECT count(*) FROM label_sublabels s WHERE s.label_id = u.label_id) > 1)`,
    ],
    [
      'a volatile function inside EXISTS',
      `${OUTER} EXISTS (SELECT * FROM label_urls u WHERE ${CORRELATED} AND random() < 0.5)`,
    ],
    [
      'a CTE read under EXISTS (its body is walked once, for every reference)',
      `WITH u AS (SELECT * FROM label_urls) ${OUTER} EXISTS (SELECT * FROM u WHERE ${CORRELATED})`,
    ],
    [
      'SAMPLE inside EXISTS',
      `${OUTER} EXISTS (SELECT * FROM label_urls u WHERE ${CORRELATED} USING SAMPLE 50%)`,
    ],
    [
      'the same table outside and inside EXISTS, in one scan',
      'SELECT a.url FROM label_urls a WHERE EXISTS (SELECT * FROM label_urls u WHERE u.label_id = a.label_id AND u.url <> a.url)',
    ],
  ];
  for (const [name, sql] of cases) it(name, async () => expect(await distinctScans(sql)).toEqual([]));
});
