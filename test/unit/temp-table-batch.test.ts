/**
 * The TEMP tables of one query's scans: those asked while the connection is busy are made in
 * one call; one that fails fails alone, with its own error, and the others are made.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Serial } from '../../src/coordinator/execute/serial.js';
import { createTempTable } from '../../src/coordinator/execute/temp-table-batch.js';

let instance: DuckDBInstance;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
});

afterAll(() => instance.closeSync());

/** A connection whose `run` calls are counted. */
async function counted(): Promise<{ con: DuckDBConnection; runs: string[] }> {
  const con = await instance.connect();
  const runs: string[] = [];
  const run = con.run.bind(con);
  con.run = (sql: string, ...rest: []) => {
    runs.push(sql);
    return run(sql, ...rest);
  };
  return { con, runs };
}

async function tempTables(con: DuckDBConnection): Promise<string[]> {
  const reader = await con.runAndReadAll(
    'SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY table_name',
  );
  return reader.getRows().map((r) => String(r[0]));
}

it('makes the tables asked while the connection is busy in one call', async () => {
  const { con, runs } = await counted();
  const serial = new Serial();
  const appended: string[] = [];
  const make = (name: string) =>
    createTempTable(con, serial, `CREATE TEMP TABLE ${name} (x BIGINT)`, async () => {
      appended.push(name);
    });
  await Promise.all([make('a'), make('b')]);
  const busy = serial.run(() => new Promise((resolve) => setTimeout(resolve, 20)));
  await Promise.all([make('c'), make('d'), busy]);
  // Those asked in one turn go together, and so do those asked while the connection is busy.
  expect(runs).toHaveLength(2);
  expect(appended).toEqual(['a', 'b', 'c', 'd']);
  expect(await tempTables(con)).toEqual(['a', 'b', 'c', 'd']);
  con.closeSync();
});

it('gives a failing table its own error, and makes the others', async () => {
  const { con } = await counted();
  const serial = new Serial();
  const make = (name: string, type = 'BIGINT') =>
    createTempTable(con, serial, `CREATE TEMP TABLE ${name} (x ${type})`, async () => {});
  const busy = serial.run(() => new Promise((resolve) => setTimeout(resolve, 20)));
  const results = await Promise.allSettled([make('e'), make('f', 'NO_SUCH_TYPE'), make('g')]);
  await busy;
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/NO_SUCH_TYPE/);
  expect(await tempTables(con)).toEqual(['e', 'g']);
  con.closeSync();
});
