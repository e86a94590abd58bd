/**
 * The coordinator's own DuckDB: one in-memory instance, a connection per query (so TEMP
 * tables never leak between queries), external access off, a memory limit and a spill cap.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { FreshConnections } from '../../duckdb/fresh-connections.js';
import { disableLateMaterialization } from '../../duckdb/late-materialization.js';
import { deserializedSql, serializedSql } from '../../duckdb/parse-tree.js';
import { lockDown } from '../../duckdb/sandbox.js';
import { limitSpill, type SpillLimits } from '../../duckdb/spill.js';
import { assertNoServerFunctions } from '../../duckdb/sql-guard.js';
import { assertCleanSqlText } from '../../duckdb/sql-text.js';
import { limitMemoryAndThreads } from '../../duckdb/work-limits.js';
import { functionFacts } from './shards/function-facts.js';

export class CoordinatorEngine {
  private readonly connections: FreshConnections;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly parser: DuckDBConnection,
  ) {
    this.connections = new FreshConnections(instance);
  }

  static async create(opts: {
    memoryLimit?: string;
    threads?: number;
    spill: SpillLimits;
  }): Promise<CoordinatorEngine> {
    const instance = await DuckDBInstance.create(':memory:');
    const con = await instance.connect();
    await limitMemoryAndThreads(con, opts);
    await limitSpill(con, opts.spill);
    await disableLateMaterialization(con);
    await lockDown(con);
    // Read once per process, and slow (duckdb_functions()): read now, not in the first query.
    functionFacts(con).catch(() => undefined);
    return new CoordinatorEngine(instance, con);
  }

  /**
   * DuckDB's own parse tree of `sql` (json_serialize_sql), as the analyzer wants it. Every
   * query passes here first: text DuckDB would misread (a NUL) and functions that tell about
   * the server (its settings hold its directories) are refused before any analysis.
   */
  parse = async (sql: string): Promise<unknown> => {
    assertCleanSqlText(sql);
    const tree = await serializedSql(this.parser, sql);
    assertNoServerFunctions(tree);
    return tree;
  };

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
