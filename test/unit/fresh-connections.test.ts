/** Connections opened ahead: each is new, whoever takes it, however many are taken at once. */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { expect, it } from 'vitest';
import { FreshConnections } from '../../src/duckdb/fresh-connections.js';

it('hands out connections no one has used, one ahead, also several in one turn', async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const connections = new FreshConnections(instance);
  const first = await connections.take();
  await first.run('CREATE TEMP TABLE mine AS SELECT 1 AS x');
  await nextTurn();
  const [second, third] = await Promise.all([connections.take(), connections.take()]);
  for (const con of [second, third]) {
    const seen = await con.runAndReadAll(
      "SELECT count(*)::INTEGER FROM duckdb_tables() WHERE table_name = 'mine'",
    );
    expect(seen.getRows()[0][0]).toBe(0);
  }
  expect(new Set([first, second, third]).size).toBe(3);
  for (const con of [first, second, third]) con.closeSync();
  await nextTurn();
  await connections.close();
  // Closed: no connection is opened ahead any more, but one can still be taken.
  const late = await connections.take();
  await nextTurn();
  expect((await late.runAndReadAll('SELECT 42')).getRows()[0][0]).toBe(42);
  late.closeSync();
  instance.closeSync();
});
