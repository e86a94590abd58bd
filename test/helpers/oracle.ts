/**
 * Answers of the oracle (one DuckDB holding every table: src/tools/single-node.ts), and
 * canonical forms of answers so that two answers compare as multisets (or sequences).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { resultToJson } from '../../src/duckdb/json-values.js';

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
