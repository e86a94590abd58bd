/**
 * A statement's shape before it runs (Describe of a prepared statement): its parameters'
 * types and its result columns, from preparing it on the catalog mirror, whose empty tables
 * have the types of the real ones.
 */
import type { DuckDBPreparedStatement, DuckDBType } from '@duckdb/node-api';
import { duckdbErrorToQueryError } from '../../duckdb/duckdb-errors.js';
import { CatalogMirror } from '../catalog/catalog-mirror.js';
import { pgCompatible } from '../catalog/pg-compatible.js';
import type { ExecutorContext } from '../execute/query.js';

export interface StatementShape {
  /** Each `$n`'s type, undefined where DuckDB cannot tell from the context. */
  params: (DuckDBType | undefined)[];
  columns: { name: string; type: DuckDBType | undefined }[];
}

/** DuckDB throws for a type it could not resolve (a bare `SELECT $1`). */
function known(read: () => DuckDBType): DuckDBType | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function shapeOfPrepared(prepared: DuckDBPreparedStatement): StatementShape {
  return {
    params: Array.from({ length: prepared.parameterCount }, (_, i) =>
      known(() => prepared.parameterType(i + 1)),
    ),
    columns: Array.from({ length: prepared.columnCount }, (_, i) => ({
      name: prepared.columnName(i),
      type: known(() => prepared.columnType(i)),
    })),
  };
}

export async function statementShape(sql: string, ctx: ExecutorContext): Promise<StatementShape> {
  const con = await (await CatalogMirror.of(ctx.catalog)).connect();
  try {
    const prepared = await con.prepare(pgCompatible(sql));
    try {
      return shapeOfPrepared(prepared);
    } finally {
      prepared.destroySync();
    }
  } catch (err) {
    throw duckdbErrorToQueryError(err);
  } finally {
    con.closeSync();
  }
}
