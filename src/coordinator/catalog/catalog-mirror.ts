/**
 * An empty copy of the catalog in a DuckDB of its own: one table per reachable table, with
 * its columns and types and no rows. DuckDB's own `information_schema`, `pg_catalog`,
 * `SHOW TABLES` and `DESCRIBE` then describe the tables users query, and preparing a query
 * there tells its result columns and parameter types without running it. The instance is
 * locked down as the coordinator's is; it holds nothing but the empty tables.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { lockDown } from '../../duckdb/sandbox.js';
import { quoteIdent, quoteLiteral } from '../../duckdb/sql.js';
import { pgTypeOf } from '../pg-wire/pg-types.js';
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
  'CREATE MACRO array_lower(list, dimension) AS CASE WHEN len(list) > 0 THEN 1 END',
  // Grafana quotes every name it lists; Postgres quotes what is not a plain lower-case name.
  `CREATE MACRO quote_ident(name) AS CASE WHEN regexp_full_match(name, '[a-z_][a-z0-9_$]*') THEN name ELSE '"' || replace(name, '"', '""') || '"' END`,
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
  // DuckDB's pg_type has no text (25), the OID the Postgres port gives VARCHAR columns.
  `CREATE MACRO compat_pg_type() AS TABLE SELECT * FROM pg_catalog.pg_type UNION ALL SELECT * REPLACE (25::BIGINT AS oid, 'text' AS typname) FROM pg_catalog.pg_type WHERE oid = 1043`,
  // Until the catalog's tables are in: DuckDB's own pg_attribute (see attributeMacro).
  'CREATE MACRO compat_pg_attribute() AS TABLE SELECT * FROM pg_catalog.pg_attribute',
  `CREATE MACRO compat_pg_partitioned_table() AS TABLE SELECT NULL::BIGINT AS partrelid WHERE false`,
  // What Metabase, DBeaver and Grafana read as they connect or sync (no views are materialized,
  // no extensions installed; row estimates unknown).
  `CREATE MACRO compat_pg_matviews() AS TABLE SELECT NULL::VARCHAR AS schemaname, NULL::VARCHAR AS matviewname, NULL::VARCHAR AS matviewowner, NULL::VARCHAR AS definition WHERE false`,
  `CREATE MACRO compat_pg_extension() AS TABLE SELECT NULL::BIGINT AS oid, NULL::VARCHAR AS extname, NULL::BIGINT AS extnamespace, NULL::VARCHAR AS extversion WHERE false`,
  `CREATE MACRO compat_pg_stat_user_tables() AS TABLE SELECT c.oid AS relid, n.nspname AS schemaname, c.relname, NULL::BIGINT AS n_live_tup FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid WHERE c.relkind = 'r'`,
  `CREATE MACRO compat_pg_get_keywords() AS TABLE SELECT keyword_name AS word, CASE keyword_category WHEN 'reserved' THEN 'R' WHEN 'unreserved' THEN 'U' WHEN 'type_function' THEN 'T' ELSE 'C' END AS catcode, keyword_category AS catdesc FROM duckdb_keywords()`,
];

export const COMPAT_RELATIONS = COMPAT_MACROS.map((m) => /MACRO compat_(\w+)/.exec(m)?.[1] as string);

/** Postgres' search_path as the catalog answers it (the tables are in schema `main`). */
const SEARCH_PATH = "SET search_path = 'main'";

/**
 * DuckDB's pg_attribute gives each column DuckDB's own type id as `atttypid`, which clients
 * read as a Postgres OID (a DOUBLE's 23 is int4 there): JDBC's getColumns, DBeaver and
 * Metabase would list wrong types, and drop columns whose id is no OID at all. The compat
 * relation gives every column of the catalog's tables the OID and modifier the Postgres port
 * sends its values with (pg-types.ts).
 */
async function attributeMacro(con: DuckDBConnection, tables: { name: string }[]): Promise<string> {
  const rows: string[] = [];
  for (const t of tables) {
    const prepared = await con.prepare(`SELECT * FROM ${quoteIdent(t.name)}`);
    try {
      for (let i = 0; i < prepared.columnCount; i++) {
        const { oid, modifier } = pgTypeOf(prepared.columnType(i));
        rows.push(`(${quoteLiteral(t.name)}, ${i + 1}, ${oid}, ${modifier})`);
      }
    } finally {
      prepared.destroySync();
    }
  }
  if (rows.length === 0)
    return 'CREATE OR REPLACE MACRO compat_pg_attribute() AS TABLE SELECT * FROM pg_catalog.pg_attribute';
  return `CREATE OR REPLACE MACRO compat_pg_attribute() AS TABLE
    SELECT a.* REPLACE (coalesce(pg.oid, a.atttypid) AS atttypid, coalesce(pg.typmod, a.atttypmod) AS atttypmod)
    FROM pg_catalog.pg_attribute a
    LEFT JOIN (SELECT c.oid AS relid, t.attnum, t.oid, t.typmod
               FROM (VALUES ${rows.join(', ')}) t(relname, attnum, oid, typmod)
               JOIN pg_catalog.pg_class c ON c.relname = t.relname
               JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid AND n.nspname = 'main') pg
      ON pg.relid = a.attrelid AND pg.attnum = a.attnum`;
}

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
      for (const statement of [...PG_MACROS, ...COMPAT_MACROS, SEARCH_PATH]) await con.run(statement);
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
      await con.run(await attributeMacro(con, tables));
    } finally {
      con.closeSync();
    }
  }
}
