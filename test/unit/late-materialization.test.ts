/**
 * A plain LIMIT over a data container's table reads the table once: DuckDB 1.5.6 would plan
 * it as a semi join on rowid and a sort (late materialization), which the container turns off.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { disableLateMaterialization } from '../../src/duckdb/late-materialization.js';
import { lockDown } from '../../src/duckdb/sandbox.js';

const TABLE = `CREATE TABLE t AS SELECT i AS id, 'name ' || (i * 7 % 1000) AS name FROM range(20000) r(i)`;
const LIMITED = 'SELECT id, name FROM t LIMIT 1000';

let plain: DuckDBConnection;
let container: DuckDBConnection;

async function open(setUp: (con: DuckDBConnection) => Promise<void>): Promise<DuckDBConnection> {
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  await con.run(TABLE);
  await setUp(con);
  return con;
}

async function plan(con: DuckDBConnection, sql: string): Promise<string> {
  return (await con.runAndReadAll(`EXPLAIN ${sql}`))
    .getRows()
    .map((r) => String(r[1]))
    .join('\n');
}

beforeAll(async () => {
  plain = await open(async () => undefined);
  container = await open(async (con) => {
    await disableLateMaterialization(con);
    await lockDown(con);
  });
});

afterAll(() => {
  plain.closeSync();
  container.closeSync();
});

it('DuckDB joins a plain LIMIT of more than 50 rows back to its table by rowid', async () => {
  expect(await plan(plain, LIMITED)).toContain('HASH_JOIN');
});

it('a container instance scans a plain LIMIT once, and returns the same rows', async () => {
  expect(await plan(container, LIMITED)).not.toContain('HASH_JOIN');
  const rows = async (con: DuckDBConnection) => (await con.runAndReadAll(LIMITED)).getRows();
  expect(await rows(container)).toEqual(await rows(plain));
});

it('stays off once the configuration is locked', async () => {
  await expect(container.run("SET disabled_optimizers = ''")).rejects.toThrow(/lock/i);
});
