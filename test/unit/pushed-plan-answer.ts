/**
 * A subquery-pushdown plan checked against the SQL it came from: its subqueries' results and
 * stand-ins for the tables it no longer reads become TEMP tables of `con`, then its SQL must
 * answer as the original does over the same data (`container`), types and rows alike.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { expect } from 'vitest';
import type { SubqueryPlan } from '../../src/coordinator/plan/subquery-pushdown.js';
import { resultToJson } from '../../src/duckdb/json-values.js';
import { quoteIdent } from '../../src/duckdb/sql.js';
import { canonicalRows } from '../helpers/oracle.js';

export async function answer(con: DuckDBConnection, sql: string) {
  const reader = await con.runAndReadAll(sql);
  const json = await resultToJson(reader);
  return { columns: json.columns, types: reader.columnTypes().map(String), rows: json.rows };
}

export async function expectPlanAnswersAsOriginal(
  container: DuckDBConnection,
  con: DuckDBConnection,
  plan: SubqueryPlan,
  sql: string,
  ordered: boolean,
): Promise<void> {
  for (const s of plan.subqueries) await con.run(`CREATE TEMP TABLE ${quoteIdent(s.temp)} AS ${s.query}`);
  for (const t of plan.unread) await con.run(`CREATE TEMP TABLE ${quoteIdent(t)} (unread INTEGER)`);
  const expected = await answer(container, sql);
  const actual = await answer(con, plan.sql);
  expect(actual.columns).toEqual(expected.columns);
  expect(actual.types).toEqual(expected.types);
  expect(expected.rows.length).toBeGreaterThan(0);
  expect(canonicalRows(actual.columns, actual.rows, ordered)).toEqual(
    canonicalRows(expected.columns, expected.rows, ordered),
  );
}

/** A table of `con` as the planners look tables up: its columns, their types, its rows. */
export async function tableSchema(con: DuckDBConnection, name: string) {
  const reader = await con.runAndReadAll(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${name}' ORDER BY ordinal_position`,
  );
  const columns = reader.getRows().map((r) => r.map(String));
  const count = await con.runAndReadAll(`SELECT count(*)::INTEGER FROM ${quoteIdent(name)}`);
  return {
    name,
    columns: columns.map((r) => r[0]),
    types: columns.map((r) => r[1]),
    rows: Number(count.getRows()[0][0]),
  };
}
