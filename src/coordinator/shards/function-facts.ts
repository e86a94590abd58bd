/**
 * What DuckDB's catalog says of the functions a query calls (`duckdb_functions()`): which are
 * aggregates, which are volatile or have side effects, which are macros (whose bodies could
 * hide aggregates or anything else).
 */
import { type DuckDBConnection, LIST, listValue, VARCHAR } from '@duckdb/node-api';

export interface FunctionFacts {
  aggregate: boolean;
  /** VOLATILE (random(), nextval()) or with side effects: the parts would see other values. */
  volatile: boolean;
  macro: boolean;
}

/** Facts by lower-case name; a name DuckDB does not list is absent. */
export async function functionFacts(
  con: DuckDBConnection,
  names: Iterable<string>,
): Promise<Map<string, FunctionFacts>> {
  const wanted = [...new Set([...names].map((n) => n.toLowerCase()))];
  const out = new Map<string, FunctionFacts>();
  if (wanted.length === 0) return out;
  const reader = await con.runAndReadAll(
    `SELECT lower(function_name), function_type, stability, has_side_effects
       FROM duckdb_functions() WHERE lower(function_name) IN (SELECT unnest($1))`,
    [listValue(wanted)],
    [LIST(VARCHAR)],
  );
  for (const [name, type, stability, sideEffects] of reader.getRows()) {
    const key = String(name);
    const seen = out.get(key) ?? { aggregate: false, volatile: false, macro: false };
    seen.aggregate ||= type === 'aggregate';
    seen.macro ||= type === 'macro' || type === 'table_macro';
    seen.volatile ||= stability === 'VOLATILE' || sideEffects === true;
    out.set(key, seen);
  }
  return out;
}
