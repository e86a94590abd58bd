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

/**
 * A query of a differential suite; `ordered` where its rows must come in its order;
 * `tolerance` (relative) for doubles summed in a different order, e.g. over millions of rows.
 */
export interface DiffQuery {
  sql: string;
  /** The test's label (default: the start of the SQL). */
  name?: string;
  ordered?: boolean;
  tolerance?: number;
}

export async function oracleAnswer(
  con: DuckDBConnection,
  sql: string,
): Promise<{ columns: string[]; rows: unknown[] }> {
  const json = await resultToJson(await con.runAndReadAll(sql));
  return { columns: json.columns, rows: json.rows };
}

/** Doubles from differently ordered parallel sums differ in the last bits; compare 12 digits. */
function canonicalValue(value: unknown, digits = 12): string {
  if (value === null || value === undefined) return '∅';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(digits);
  if (typeof value === 'object')
    return JSON.stringify(value, (_k, v) =>
      typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(digits) : v,
    );
  return `${typeof value}:${String(value)}`;
}

export function canonicalRows(columns: string[], rows: unknown[], ordered: boolean, digits = 12): string[] {
  const out = rows.map((row) =>
    columns.map((c) => canonicalValue((row as Record<string, unknown>)[c], digits)).join('\u0001'),
  );
  return ordered ? out : out.sort();
}

function valuesClose(a: unknown, b: unknown, tolerance: number): boolean {
  if (typeof a === 'number' && typeof b === 'number')
    return a === b || Math.abs(a - b) <= tolerance * Math.max(Math.abs(a), Math.abs(b));
  return canonicalValue(a) === canonicalValue(b);
}

/**
 * Rows paired up (in their order, or sorted on values rounded to 8 digits) and compared
 * value by value, numbers within `tolerance` (relative). Throws an expect failure naming
 * the first row that differs.
 */
export function expectRowsClose(
  columns: string[],
  actual: unknown[],
  expected: unknown[],
  opts: { ordered: boolean; tolerance: number },
): void {
  expect(actual.length).toBe(expected.length);
  const key = (row: unknown) => canonicalRows(columns, [row], true, 8)[0];
  const sorted = (rows: unknown[]) =>
    opts.ordered ? rows : [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const [left, right] = [sorted(actual), sorted(expected)] as Record<string, unknown>[][];
  for (const [i, row] of left.entries()) {
    const same = columns.every((c) => valuesClose(row[c], right[i][c], opts.tolerance));
    if (!same) expect({ row: i, ...row }).toEqual({ row: i, ...right[i] });
  }
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
      it.each(queries.map((q, i) => [i, q.name ?? q.sql.replace(/\s+/g, ' ').slice(0, 90), q] as const))(
        '#%i %s',
        async (_i, _label, query) => {
          const expected = await oracleAnswer(oracle(), query.sql);
          const actual = await askCoordinator(coordinator(), query.sql);
          expect(actual.status, actual.message).toBe(200);
          expect(actual.columns).toEqual(expected.columns);
          if (query.tolerance !== undefined) {
            const opts = { ordered: !!query.ordered, tolerance: query.tolerance };
            expectRowsClose(actual.columns, actual.results, expected.rows, opts);
            return;
          }
          expect(canonicalRows(actual.columns, actual.results, !!query.ordered)).toEqual(
            canonicalRows(expected.columns, expected.rows, !!query.ordered),
          );
        },
      );
    });
  }
}
