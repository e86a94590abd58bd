/**
 * Dynamic filters keep every row the join can match, whatever the two key columns' types:
 * keys as data (loaded by the container's own code), IN lists for types that travel as
 * text, and the range when the keys are too many for a request.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dynamicFilter } from '../../src/coordinator/execute/dynamic-filter.js';
import { Serial } from '../../src/coordinator/execute/serial.js';
import { KEY_COLUMN, ScanKeyTables } from '../../src/data-container/scan-keys.js';

let instance: DuckDBInstance;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
});

afterAll(() => instance.closeSync());

/** Rows of `target` the filter keeps, and rows of `target` that join `source` on equal keys. */
async function keptAndJoined(
  con: DuckDBConnection,
  sourceType: string,
  sourceValues: string,
  targetType: string,
  targetValues: string,
) {
  await con.run(`CREATE TEMP TABLE src AS SELECT v::${sourceType} AS k FROM (${sourceValues}) t(v)`);
  await con.run(
    `CREATE TABLE tgt AS SELECT v::${targetType} AS c, row_number() OVER () AS r FROM (${targetValues}) t(v)`,
  );
  const reduction = { table: 'tgt', column: 'c', source: 'src', sourceColumn: 'k' };
  const filter = await dynamicFilter(con, new Serial(), reduction, targetType);
  const conditions = filter.where ? [filter.where] : [];
  // The scan joins keys known distinct instead of testing their condition.
  const joins: string[] = [];
  const besideJoins = [...conditions];
  if (filter.keys) {
    const keyTables = new ScanKeyTables(con, 'tgt');
    for (const keys of Array.isArray(filter.keys) ? filter.keys : [filter.keys]) {
      const loaded = await keyTables.semiJoin('c', keys, false);
      conditions.push(loaded.condition);
      if (loaded.join) joins.push(` JOIN ${loaded.join.keys} ON tgt.c = ${loaded.join.keys}.${KEY_COLUMN}`);
      else besideJoins.push(loaded.condition);
    }
  }
  const where = conditions.join(' AND ') || 'true';
  const kept = await con.runAndReadAll(`SELECT r FROM tgt WHERE ${where}`);
  // Joined, the same rows, each once.
  const byJoin = await con.runAndReadAll(
    `SELECT r FROM tgt${joins.join('')} WHERE ${besideJoins.join(' AND ') || 'true'} ORDER BY r`,
  );
  expect(byJoin.getRows().map((row) => Number(row[0]))).toEqual(
    kept
      .getRows()
      .map((row) => Number(row[0]))
      .sort((a, b) => a - b),
  );
  const joined = await con.runAndReadAll('SELECT DISTINCT r FROM tgt JOIN src ON c = k');
  return {
    filter,
    kept: new Set(kept.getRows().map((row) => Number(row[0]))),
    joined: joined.getRows().map((row) => Number(row[0])),
    all: Number((await con.runAndReadAll('SELECT count(*) FROM tgt')).getRows()[0][0]),
  };
}

const CASES: [string, string, string, string, RegExp][] = [
  ['INTEGER', 'SELECT * FROM range(0, 3000, 7)', 'BIGINT', 'SELECT * FROM range(5000)', /keys/],
  ['BIGINT', 'SELECT * FROM range(0, 3000, 7)', 'INTEGER', 'SELECT * FROM range(5000)', /keys/],
  ['DOUBLE', 'SELECT i / 2 FROM range(0, 3000, 7) t(i)', 'BIGINT', 'SELECT * FROM range(5000)', /keys/],
  ['BIGINT', 'SELECT * FROM range(0, 3000, 7)', 'DOUBLE', 'SELECT i / 4 FROM range(20000) t(i)', /keys/],
  ['DECIMAL(10,2)', 'SELECT i / 4 FROM range(0, 900, 3) t(i)', 'INTEGER', 'SELECT * FROM range(500)', /keys/],
  [
    'VARCHAR',
    "SELECT repeat('é', (i % 20)::INTEGER) || i FROM range(0, 2000, 3) t(i)",
    'VARCHAR',
    "SELECT repeat('é', (i % 20)::INTEGER) || i FROM range(4000) t(i)",
    /keys/,
  ],
  [
    'TIMESTAMP',
    "SELECT TIMESTAMP '2020-01-01' + to_hours(i * 6) FROM range(200) t(i)",
    'DATE',
    "SELECT DATE '2020-01-01' + i::INTEGER FROM range(100) t(i)",
    /keys/,
  ],
  [
    'DATE',
    "SELECT DATE '2020-01-01' + i::INTEGER FROM range(0, 100, 3) t(i)",
    'TIMESTAMP',
    "SELECT TIMESTAMP '2020-01-01' + to_hours(i * 6) FROM range(400) t(i)",
    /keys/,
  ],
  [
    'INTEGER[]',
    'SELECT [i, i + 1] FROM range(0, 300, 7) t(i)',
    'INTEGER[]',
    'SELECT [i, i + 1] FROM range(500) t(i)',
    /IN/,
  ],
  // Dense integer keys travel delta-encoded: 80,000 BIGINTs (640 kB fixed) in ~80 kB.
  ['BIGINT', 'SELECT * FROM range(1000, 81000)', 'BIGINT', 'SELECT * FROM range(100000)', /keys/],
  ['UBIGINT', 'SELECT * FROM range(0, 300000, 3)', 'UBIGINT', 'SELECT * FROM range(310000)', /keys/],
  [
    'SMALLINT',
    'SELECT * FROM range(-30000, 30000, 7)',
    'SMALLINT',
    'SELECT * FROM range(-32000, 32000)',
    /keys/,
  ],
  // Over MAX_SCAN_KEY_BYTES of keys even delta-encoded (gaps of ~2^40): the range instead.
  [
    'BIGINT',
    'SELECT i * 1099511627776 + (i % 7) FROM range(-40000, 40000) t(i)',
    'BIGINT',
    'SELECT i * 1099511627776 + (i % 7) FROM range(-40000, 40000, 5) t(i)',
    /range/,
  ],
  [
    'DOUBLE',
    'SELECT i / 2 FROM range(0, 160000) t(i)',
    'DOUBLE',
    'SELECT i / 2 FROM range(0, 10000) t(i)',
    /range/,
  ],
  ['BIGINT', 'SELECT NULL FROM range(3)', 'BIGINT', 'SELECT * FROM range(100)', /no keys/],
];

it.each(CASES)(
  '%s keys (%s) reduce a %s column without losing a match',
  async (sourceType, sourceValues, targetType, targetValues, kind) => {
    const con = await instance.connect();
    try {
      const { filter, kept, joined, all } = await keptAndJoined(
        con,
        sourceType,
        sourceValues,
        targetType,
        targetValues,
      );
      expect(filter.description).toMatch(kind);
      expect(joined.filter((r) => !kept.has(r))).toEqual([]);
      if (joined.length < all / 2) expect(kept.size).toBeLessThan(all);
    } finally {
      await con.run('DROP TABLE IF EXISTS tgt');
      con.closeSync();
    }
  },
);

/**
 * A source read here whole (a copy, a side sent at once) has its integer keys made distinct
 * and ascending in JS instead of by DuckDB: the filter must be the SQL path's, byte for byte.
 */
it.each([
  ['BIGINT', 'SELECT (i * 7919) % 5000 FROM range(20000) t(i)', 'BIGINT', true],
  [
    'INTEGER',
    'SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE 3000 - i END FROM range(4000) t(i)',
    'INTEGER',
    true,
  ],
  ['BIGINT', 'SELECT i * 3 - 1000 FROM range(900) t(i)', 'SMALLINT', true],
  ['UBIGINT', 'SELECT i * 1000003 FROM range(700) t(i)', 'UBIGINT', true],
  ['BIGINT', 'SELECT NULL::BIGINT FROM range(3)', 'BIGINT', true],
  ['DOUBLE', 'SELECT i / 4 FROM range(300) t(i)', 'DOUBLE', false],
  ['VARCHAR', "SELECT 'k' || (i % 50) FROM range(300) t(i)", 'VARCHAR', false],
])(
  '%s keys read here whole (%s) make the SQL path filter on a %s column',
  async (type, values, target, inJs) => {
    const con = await instance.connect();
    const statements: string[] = [];
    const recording = new Proxy(con, {
      get(on, name) {
        if (name === 'run')
          return (sql: string) => {
            statements.push(sql);
            return on.run(sql);
          };
        const value = Reflect.get(on, name);
        return typeof value === 'function' ? value.bind(on) : value;
      },
    });
    try {
      await con.run(`CREATE TEMP TABLE src AS SELECT v::${type} AS k FROM (${values}) t(v)`);
      const reduction = { table: 'tgt', column: 'c', source: 'src', sourceColumn: 'k' };
      const whole = { sql: 'temp.main.src', applied: [] };
      const here = await dynamicFilter(recording, new Serial(), reduction, target, undefined, whole);
      expect(statements.some((sql) => sql.includes('DISTINCT'))).toBe(!inJs);
      const sqlPath = await dynamicFilter(con, new Serial(), reduction, target);
      expect(here.description).toBe(sqlPath.description);
      expect(here.where).toBe(sqlPath.where);
      expect(here.keys?.encoding).toBe(sqlPath.keys?.encoding);
      expect(here.keys?.rows).toBe(sqlPath.keys?.rows);
      expect(Buffer.from(here.keys?.values.data ?? [])).toEqual(Buffer.from(sqlPath.keys?.values.data ?? []));
    } finally {
      con.closeSync();
    }
  },
);
