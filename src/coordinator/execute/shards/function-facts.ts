/**
 * What DuckDB's catalog says of the functions a query calls (`duckdb_functions()`): which are
 * aggregates, which are volatile or have side effects, which are macros (whose bodies could
 * hide aggregates or anything else).
 *
 * duckdb_functions() takes ~100 ms (it builds every function's description), so the catalog
 * is read once per process: the built-in functions of one DuckDB build do not change, and a
 * function created later is absent, which makes a query using it decline.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

export interface FunctionFacts {
  aggregate: boolean;
  /** VOLATILE (random(), nextval()) or with side effects: the parts would see other values. */
  volatile: boolean;
  macro: boolean;
}

let catalog: Promise<Map<string, FunctionFacts>> | undefined;

async function readCatalog(con: DuckDBConnection): Promise<Map<string, FunctionFacts>> {
  const reader = await con.runAndReadAll(
    `SELECT lower(function_name),
            bool_or(function_type = 'aggregate'),
            bool_or(stability = 'VOLATILE' OR has_side_effects),
            bool_or(function_type IN ('macro', 'table_macro'))
       FROM duckdb_functions() GROUP BY 1`,
  );
  return new Map(
    reader
      .getRows()
      .map(([name, aggregate, volatile, macro]) => [
        String(name),
        { aggregate: aggregate === true, volatile: volatile === true, macro: macro === true },
      ]),
  );
}

/** Facts by lower-case name; a name DuckDB does not list is absent. */
export async function functionFacts(con: DuckDBConnection): Promise<Map<string, FunctionFacts>> {
  catalog ??= readCatalog(con).catch((err) => {
    catalog = undefined;
    throw err;
  });
  return catalog;
}
