/**
 * Answers of the oracle (one DuckDB holding every table: src/tools/single-node.ts), canonical
 * forms of answers so that two answers compare as multisets (or sequences), and the
 * differential suite that compares a coordinator's answers with the oracle's.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { resultToJson } from '../../src/duckdb/json-values.js';
import type { ManagedProcess } from '../../src/tools/local-cluster.js';
import { askCoordinator } from './coordinator.js';

/** A query of a differential suite; `ordered` where its rows must come in its order. */
export interface DiffQuery {
  sql: string;
  ordered?: boolean;
}

export async function oracleAnswer(
  con: DuckDBConnection,
  sql: string,
): Promise<{ columns: string[]; rows: unknown[] }> {
  const json = await resultToJson(await con.runAndReadAll(sql));
  return { columns: json.columns, rows: json.rows };
}

/** Doubles from differently ordered parallel sums differ in the last bits; compare 12 digits. */
function canonicalValue(value: unknown): string {
  if (value === null || value === undefined) return '∅';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(12);
  if (typeof value === 'object')
    return JSON.stringify(value, (_k, v) =>
      typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(12) : v,
    );
  return `${typeof value}:${String(value)}`;
}

export function canonicalRows(columns: string[], rows: unknown[], ordered: boolean): string[] {
  const out = rows.map((row) =>
    columns.map((c) => canonicalValue((row as Record<string, unknown>)[c])).join('\u0001'),
  );
  return ordered ? out : out.sort();
}

/**
 * For each coordinator, one test per query: its answer has the oracle's columns and rows.
 * Getters, since the coordinators and the oracle start in beforeAll.
 */
export function describeAgainstOracle(
  title: string,
  queries: DiffQuery[],
  coordinators: Record<string, () => ManagedProcess>,
  oracle: () => DuckDBConnection,
): void {
  for (const [mode, coordinator] of Object.entries(coordinators)) {
    describe(`${title}, ${mode}`, () => {
      it.each(queries.map((q, i) => [i, q.sql.replace(/\s+/g, ' ').slice(0, 90), q] as const))(
        '#%i %s',
        async (_i, _label, query) => {
          const expected = await oracleAnswer(oracle(), query.sql);
          const actual = await askCoordinator(coordinator(), query.sql);
          expect(actual.status, actual.message).toBe(200);
          expect(actual.columns).toEqual(expected.columns);
          expect(canonicalRows(actual.columns, actual.results, !!query.ordered)).toEqual(
            canonicalRows(expected.columns, expected.rows, !!query.ordered),
          );
        },
      );
    });
  }
}
