/**
 * An empty copy of the catalog in a DuckDB of its own: one table per reachable table, with
 * its columns and types and no rows. DuckDB's own `information_schema`, `pg_catalog`,
 * `SHOW TABLES` and `DESCRIBE` then describe the tables users query, and preparing a query
 * there tells its result columns and parameter types without running it. The instance is
 * locked down as the coordinator's is; it holds nothing but the empty tables.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { lockDown } from '../duckdb/sandbox.js';
import { quoteIdent, quoteLiteral } from '../duckdb/sql.js';
import type { Catalog } from './catalog.js';

/**
 * Functions Postgres clients call in their catalog queries that DuckDB lacks (psql's `\dt`
 * asks for owners; drivers for their backend's pid). Same answer for everyone.
 */
const PG_MACROS = [
  `CREATE MACRO pg_get_userbyid(id) AS 'duckdb'`,
  'CREATE MACRO pg_backend_pid() AS 0',
  `CREATE MACRO pg_encoding_to_char(id) AS 'UTF8'`,
  'CREATE MACRO pg_relation_is_publishable(id) AS false',
  'CREATE MACRO pg_get_statisticsobjdef_columns(id) AS NULL',
  'CREATE MACRO array_upper(list, dimension) AS len(list)',
  'CREATE MACRO pg_get_expr(expr, relation) AS NULL, (expr, relation, pretty) AS NULL',
];

/** Names of the macros above: a query that calls one is answered here. */
export const PG_MACRO_NAMES = PG_MACROS.map((m) => /MACRO (\w+)/.exec(m)?.[1] as string);

/**
 * Relations psql's `\d` reads that DuckDB's pg_catalog lacks (empty here: no policies,
 * publications, inheritance or triggers) or lacks a column of, as table macros
 * `compat_<name>()`: catalog-sql.ts reads `FROM pg_catalog.pg_class` as `FROM
 * compat_pg_class()`. Macros, not views, so that information_schema does not list them.
 */
const COMPAT_MACROS = [
  `CREATE MACRO compat_pg_class() AS TABLE SELECT *, false AS relforcerowsecurity FROM pg_catalog.pg_class`,
  `CREATE MACRO compat_pg_policy() AS TABLE SELECT NULL::BIGINT AS oid, NULL::VARCHAR AS polname, NULL::BIGINT AS polrelid, NULL::VARCHAR AS polcmd, NULL::BOOLEAN AS polpermissive, NULL::BIGINT[] AS polroles, NULL::VARCHAR AS polqual, NULL::VARCHAR AS polwithcheck WHERE false`,
  `CREATE MACRO compat_pg_statistic_ext() AS TABLE SELECT NULL::BIGINT AS oid, NULL::BIGINT AS stxrelid, NULL::VARCHAR AS stxname, NULL::BIGINT AS stxnamespace, NULL::INTEGER AS stxstattarget, NULL::VARCHAR[] AS stxkind, NULL::INTEGER[] AS stxkeys WHERE false`,
  `CREATE MACRO compat_pg_publication() AS TABLE SELECT NULL::BIGINT AS oid, NULL::VARCHAR AS pubname, NULL::BOOLEAN AS puballtables WHERE false`,
  `CREATE MACRO compat_pg_publication_rel() AS TABLE SELECT NULL::BIGINT AS oid, NULL::BIGINT AS prpubid, NULL::BIGINT AS prrelid, NULL::VARCHAR AS prqual, NULL::INTEGER[] AS prattrs WHERE false`,
  `CREATE MACRO compat_pg_publication_namespace() AS TABLE SELECT NULL::BIGINT AS oid, NULL::BIGINT AS pnpubid, NULL::BIGINT AS pnnspid WHERE false`,
  `CREATE MACRO compat_pg_inherits() AS TABLE SELECT NULL::BIGINT AS inhrelid, NULL::BIGINT AS inhparent, NULL::INTEGER AS inhseqno, NULL::BOOLEAN AS inhdetachpending WHERE false`,
  `CREATE MACRO compat_pg_trigger() AS TABLE SELECT NULL::BIGINT AS oid, NULL::BIGINT AS tgrelid, NULL::VARCHAR AS tgname, NULL::BOOLEAN AS tgisinternal, NULL::VARCHAR AS tgenabled, NULL::BIGINT AS tgparentid WHERE false`,
  `CREATE MACRO compat_pg_roles() AS TABLE SELECT 0::BIGINT AS oid, 'duckdb' AS rolname`,
  `CREATE MACRO compat_pg_partitioned_table() AS TABLE SELECT NULL::BIGINT AS partrelid WHERE false`,
];

export const COMPAT_RELATIONS = COMPAT_MACROS.map((m) => /MACRO compat_(\w+)/.exec(m)?.[1] as string);

export class CatalogMirror {
  private signature = '';
  /** Syncs run one after another, so that two queries never rebuild at once. */
  private syncing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly catalog: Catalog,
  ) {}

  private static readonly mirrors = new WeakMap<Catalog, Promise<CatalogMirror>>();

  /** The mirror of `catalog`, made on first use. */
  static of(catalog: Catalog): Promise<CatalogMirror> {
    let mirror = CatalogMirror.mirrors.get(catalog);
    if (!mirror) {
      mirror = CatalogMirror.create(catalog);
      CatalogMirror.mirrors.set(catalog, mirror);
    }
    return mirror;
  }

  private static async create(catalog: Catalog): Promise<CatalogMirror> {
    const instance = await DuckDBInstance.create(':memory:');
    const con = await instance.connect();
    try {
      for (const macro of [...PG_MACROS, ...COMPAT_MACROS]) await con.run(macro);
      await lockDown(con);
    } finally {
      con.closeSync();
    }
    return new CatalogMirror(instance, catalog);
  }

  /** A connection over the catalog as it is now (tables that appeared or changed included). */
  async connect(): Promise<DuckDBConnection> {
    await this.sync();
    return this.instance.connect();
  }

  private sync(): Promise<void> {
    const next = this.syncing.then(async () => {
      const tables = this.catalog.list().filter((t) => t.columns.length > 0);
      const signature = JSON.stringify(tables.map((t) => [t.name, t.columns, t.location]));
      if (signature === this.signature) return;
      await this.rebuild(tables);
      this.signature = signature;
    });
    this.syncing = next.catch(() => undefined);
    return next;
  }

  private async rebuild(tables: ReturnType<Catalog['list']>): Promise<void> {
    const con = await this.instance.connect();
    try {
      const old = await con.runAndReadAll(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'memory' AND schema_name = 'main'",
      );
      for (const [name] of old.getRows()) await con.run(`DROP TABLE ${quoteIdent(String(name))}`);
      for (const t of tables) {
        const columns = t.columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ');
        await con.run(`CREATE TABLE ${quoteIdent(t.name)} (${columns})`);
        // information_schema.tables.TABLE_COMMENT and psql's \dt+ say how a split table is served.
        if (t.parts) {
          const comment = `split into parts, served at ${t.location}`;
          await con.run(`COMMENT ON TABLE ${quoteIdent(t.name)} IS ${quoteLiteral(comment)}`);
        }
      }
    } finally {
      con.closeSync();
    }
  }
}
