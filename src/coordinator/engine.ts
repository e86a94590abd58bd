/**
 * The coordinator's own DuckDB: one in-memory instance, a connection per query (so TEMP
 * tables never leak between queries), external access off, a memory limit.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { FreshConnections } from '../duckdb/fresh-connections.js';
import { deserializedSql, serializedSql } from '../duckdb/parse-tree.js';
import { lockDown } from '../duckdb/sandbox.js';
import { quoteLiteral } from '../duckdb/sql.js';

export class CoordinatorEngine {
  private readonly connections: FreshConnections;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly parser: DuckDBConnection,
  ) {
    this.connections = new FreshConnections(instance);
  }

  static async create(memoryLimit?: string): Promise<CoordinatorEngine> {
    const instance = await DuckDBInstance.create(':memory:');
    const con = await instance.connect();
    if (memoryLimit) await con.run(`SET memory_limit = ${quoteLiteral(memoryLimit)}`);
    await lockDown(con);
    return new CoordinatorEngine(instance, con);
  }

  /** DuckDB's own parse tree of `sql` (json_serialize_sql), as the analyzer wants it. */
  parse = (sql: string): Promise<unknown> => serializedSql(this.parser, sql);

  /** SQL text of parse trees (json_deserialize_sql), as the analyzer prints pushed filters. */
  print = (trees: string[]): Promise<(string | undefined)[]> => deserializedSql(this.parser, trees);

  /** A fresh connection for one query (its TEMP tables are its own); the caller closes it. */
  connect(): Promise<DuckDBConnection> {
    return this.connections.take();
  }

  async close(): Promise<void> {
    await this.connections.close();
    this.parser.closeSync();
    this.instance.closeSync();
  }
}
