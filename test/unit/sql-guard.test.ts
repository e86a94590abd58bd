/** The SQL guard against DuckDB's own parser: what passes, what is refused, and how. */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertReadOnlySelect, checkedPredicate } from '../../src/duckdb/sql-guard.js';
import { assertCleanSqlText } from '../../src/duckdb/sql-text.js';
import type { QueryError } from '../../src/errors.js';

let con: DuckDBConnection;

beforeAll(async () => {
  con = await (await DuckDBInstance.create(':memory:')).connect();
});

afterAll(() => con.closeSync());

/** The kind the check throws, or 'ok'. */
async function kindOf(check: Promise<unknown>): Promise<string> {
  return check.then(
    () => 'ok',
    (err: QueryError) => err.kind,
  );
}

describe('assertReadOnlySelect', () => {
  const check = (sql: string) =>
    kindOf(assertReadOnlySelect(con, sql, ['labels'], { labels: ['label_id', 'name'] }));

  it.each([
    'SELECT * FROM labels',
    'FROM labels SELECT * EXCLUDE (name)',
    'SELECT * FROM main.labels JOIN memory.main.labels USING (label_id)',
    'WITH a AS (SELECT * FROM labels) SELECT * FROM a',
    'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT * FROM t',
    'SELECT * FROM labels WHERE label_id IN (SELECT label_id FROM labels)',
    'SELECT list_filter([1, 2], x -> x > 1)',
    'SELECT * FROM (VALUES (1)) v(a)',
    'SELECT 1',
  ])('passes %s', async (sql) => {
    expect(await check(sql)).toBe('ok');
  });

  it.each([
    ['SELECT * FROM labels ORDER BY label_id LIMIT 10', 10],
    ['SELECT * FROM labels LIMIT 5 OFFSET 100', 5],
    ['WITH a AS (SELECT * FROM labels LIMIT 3) SELECT * FROM a', undefined],
    ['SELECT * FROM labels UNION ALL SELECT * FROM labels LIMIT 7', 7],
    ['SELECT * FROM (SELECT * FROM labels LIMIT 2)', undefined],
    ['SELECT * FROM labels LIMIT 10%', undefined],
    ['SELECT * FROM labels LIMIT 5 + 5', undefined],
    ['SELECT * FROM labels', undefined],
  ])('knows the most rows of %s: %s', async (sql, rows) => {
    expect((await assertReadOnlySelect(con, sql, ['labels'])).maxRows).toBe(rows);
    // Again, from what the first check remembered.
    expect((await assertReadOnlySelect(con, sql, ['labels'])).maxRows).toBe(rows);
  });

  it.each([
    ['SELECT FROM WHERE', 'syntax_error'],
    ['SELECT * FROM other', 'unknown_table'],
    ['SELECT * FROM labels, information_schema.tables', 'unknown_table'],
    ['SELECT (SELECT count(*) FROM duckdb_tables)', 'unknown_table'],
    // A CTE only covers what follows it: here `b` would be a real table.
    ['WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a', 'unknown_table'],
    ['INSERT INTO labels VALUES (1)', 'forbidden'],
    ["COPY labels TO '/tmp/x'", 'forbidden'],
    ["ATTACH 'x.db'", 'forbidden'],
    ['SET threads = 1', 'forbidden'],
    ['PRAGMA version', 'forbidden'],
    ['SELECT 1; SELECT 2', 'forbidden'],
    ['SELECT 1; DROP TABLE labels', 'forbidden'],
    ["SELECT * FROM read_csv('/etc/passwd')", 'forbidden'],
    ["SELECT * FROM labels, (SELECT * FROM glob('/*'))", 'forbidden'],
    ["FROM '/etc/passwd'", 'forbidden'],
    ["SELECT * FROM 'data.parquet'", 'forbidden'],
    ['DESCRIBE labels', 'forbidden'],
    ['SHOW TABLES', 'forbidden'],
    ['  -- nothing', 'bad_request'],
    ["SELECT current_setting('temp_directory')", 'forbidden'],
    ['SELECT * FROM duckdb_settings()', 'forbidden'],
    ['SELECT (SELECT count(*) FROM duckdb_temporary_files())', 'forbidden'],
    ['SELECT count(*) FROM labels\u0000 WHERE label_id = 1', 'bad_request'],
  ])('refuses %s as %s', async (sql, kind) => {
    expect(await check(sql)).toBe(kind);
  });

  it('names the tables there are, with their columns', async () => {
    await expect(
      assertReadOnlySelect(con, 'SELECT * FROM x', ['labels'], { labels: ['a', 'b'] }),
    ).rejects.toThrow('table x does not exist here; the tables are: labels (a, b)');
  });

  it("reports DuckDB's syntax error with its position in the query", async () => {
    await expect(assertReadOnlySelect(con, 'SELECT FROM WHERE', ['labels'])).rejects.toThrow(
      'Parser Error: syntax error at or near "WHERE" (at character 13)',
    );
  });

  it('names the statement it refuses', async () => {
    await expect(assertReadOnlySelect(con, '/* c */ INSTALL httpfs', ['labels'])).rejects.toThrow(
      'INSTALL statements are refused',
    );
  });
});

describe('checkedPredicate', () => {
  const columns = ['label_id', 'name', 's', 'l'];
  const check = (where: string) => kindOf(checkedPredicate(con, where, 'labels', columns));

  it.each([
    'label_id = 1',
    "name LIKE '%a--b%'",
    'labels.label_id > 0 AND s.f = 1',
    'labels.s.f = 1',
    'LABEL_ID BETWEEN 1 AND 5',
    'list_any_value(list_filter(l, x -> x > 1)) = 2',
    "label_id = 1 -- a comment\n OR name = 'x'",
    'label_id = 1 /* a comment */',
    'label_id = 1 --',
  ])('passes %s', async (where) => {
    expect(await check(where)).toBe('ok');
  });

  it.each([
    ['nosuch = 1', 'unknown_column'],
    ['other.label_id = 1', 'unknown_column'],
    ['label_id IN (SELECT 1)', 'forbidden'],
    ['EXISTS (SELECT * FROM labels)', 'forbidden'],
    ["current_setting('temp_directory') = 'x'", 'forbidden'],
    ["len(getenv('HOME')) > 0", 'forbidden'],
    ['label_id < 0) OR (label_id > 0', 'syntax_error'],
    ['1 = 1) UNION SELECT 1 FROM labels WHERE (1 = 1', 'syntax_error'],
    ['1 = 1 UNION SELECT * FROM labels', 'forbidden'],
    ['1 = 1 LIMIT 5', 'forbidden'],
    ['1 = 1 ORDER BY label_id', 'forbidden'],
    ['1 = 1 GROUP BY label_id', 'forbidden'],
    ['1 = 1; DROP TABLE x', 'forbidden'],
    ['1 = 1; SELECT 2', 'forbidden'],
    ['1 = 1) --', 'syntax_error'],
    ["name = 'x' /*", 'syntax_error'],
    ['label_id = 1\u0000 OR true', 'bad_request'],
    ['label_id = 1 \u0001OR true', 'bad_request'],
    ['', 'syntax_error'],
  ])('refuses %j as %s', async (where, kind) => {
    expect(await check(where)).toBe(kind);
  });

  it.each([
    ["name LIKE '%x%' -- the rest", `("name" ~~ '%x%')`],
    ['label_id < 3 OR label_id > 5', '((label_id < 3) OR (label_id > 5))'],
    ["name = 'it''s'", `("name" = 'it''s')`],
  ])('splices %j only as DuckDB writes it: %s', async (where, text) => {
    expect(await checkedPredicate(con, where, 'labels', columns)).toBe(text);
  });

  it('lists the columns of the table for an unknown one', async () => {
    await expect(checkedPredicate(con, 'nope > 1', 'labels', ['a', 'b'])).rejects.toThrow(
      'column nope does not exist in table labels; its columns are: a, b',
    );
  });
});

describe('SQL text', () => {
  it.each([
    ['SELECT count(*) FROM labels\u0000 WHERE label_id = 1', /NUL character \(U\+0000\) at character 28/],
    ["SELECT 'a\u0000b'", /NUL/],
    ['SELECT 1\u001b', /control character U\+001B at character 9/],
    ['SELECT\u0085 1', /U\+0085/],
  ])('refuses %j', async (sql, message) => {
    await expect(assertReadOnlySelect(con, sql, ['labels'])).rejects.toThrow(message);
  });

  it('lets control characters, tabs and line breaks stand in string literals and as spacing', async () => {
    expect(assertCleanSqlText("SELECT\t'\u0001', $$\u0002$$,\r\n'it''s\u0003'")).toBeUndefined();
  });
});
