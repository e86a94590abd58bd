/**
 * What Postgres tools send as they connect and list a database, in their own spelling:
 * DBeaver and Metabase (through pgjdbc), Grafana's PostgreSQL data source, and pgjdbc's
 * metadata calls. `lists` names what the answer must hold: the sample tables, or the columns
 * of labels.
 */
export interface ClientQuery {
  client: string;
  sql: string;
  lists?: 'tables' | 'labels columns';
}

export const PG_CLIENT_QUERIES: ClientQuery[] = [
  { client: 'DBeaver', sql: 'SELECT current_schema(), session_user' },
  {
    client: 'DBeaver',
    sql: `SELECT n.oid, n.*, d.description FROM pg_catalog.pg_namespace n
      LEFT OUTER JOIN pg_catalog.pg_description d
        ON d.objoid = n.oid AND d.objsubid = 0 AND d.classoid = 'pg_namespace'::regclass
      ORDER BY nspname`,
  },
  {
    client: 'DBeaver',
    sql: `SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = 1034`,
  },
  {
    client: 'DBeaver',
    sql: `SELECT typinput = 'pg_catalog.array_in'::regproc AS is_array, typtype, typname, pg_type.oid
      FROM pg_catalog.pg_type WHERE pg_type.oid = 23`,
  },
  { client: 'DBeaver', sql: "SELECT db.oid, db.* FROM pg_catalog.pg_database db WHERE datname = 'db'" },
  {
    client: 'DBeaver',
    sql: `SELECT string_agg(word, ',') FROM pg_catalog.pg_get_keywords()
      WHERE word <> ALL ('{a,abs,absolute,action}'::text[])`,
  },
  { client: 'DBeaver', sql: 'SELECT * FROM pg_catalog.pg_enum WHERE 1<>1 LIMIT 1' },
  {
    client: 'DBeaver',
    sql: `SELECT c.oid, c.*, d.description FROM pg_catalog.pg_class c
      LEFT OUTER JOIN pg_catalog.pg_description d
        ON d.objoid = c.oid AND d.objsubid = 0 AND d.classoid = 'pg_class'::regclass
      WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'main')
        AND c.relkind NOT IN ('i', 'I', 'c')`,
    lists: 'tables',
  },
  {
    client: 'DBeaver',
    sql: `SELECT c.relname, a.*, pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) AS def_value, dsc.description
      FROM pg_catalog.pg_attribute a
      INNER JOIN pg_catalog.pg_class c ON (a.attrelid = c.oid)
      LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid = ad.adrelid AND a.attnum = ad.adnum)
      LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid = dsc.objoid AND a.attnum = dsc.objsubid)
      WHERE NOT a.attisdropped AND c.relkind NOT IN ('i', 'I', 'c') AND c.relname = 'labels'
      ORDER BY a.attnum`,
    lists: 'labels columns',
  },
  { client: 'Metabase', sql: 'SHOW TRANSACTION ISOLATION LEVEL' },
  {
    client: 'Metabase',
    sql: `SELECT nspname AS "TABLE_SCHEM", current_database() AS "TABLE_CATALOG" FROM pg_catalog.pg_namespace
      WHERE nspname <> 'pg_toast' AND (nspname !~ '^pg_temp_' OR nspname = (pg_catalog.current_schemas(true))[1])
      ORDER BY "TABLE_SCHEM"`,
  },
  {
    client: 'Metabase',
    sql: `SELECT t.schemaname, t.objectname,
        pg_catalog.has_table_privilege(current_user, '"' || t.schemaname || '"."' || t.objectname || '"', 'select') AS can_select
      FROM (SELECT schemaname, tablename AS objectname FROM pg_catalog.pg_tables
            UNION SELECT schemaname, viewname AS objectname FROM pg_catalog.pg_views
            UNION SELECT schemaname, matviewname AS objectname FROM pg_catalog.pg_matviews) t
      WHERE t.schemaname !~ '^pg_' AND t.schemaname <> 'information_schema'
        AND pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')`,
    lists: 'tables',
  },
  {
    client: 'Metabase',
    sql: `SELECT "n"."nspname" AS "schema", "c"."relname" AS "name",
        CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'v' THEN 'VIEW' ELSE NULL END AS "type",
        "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count"
      FROM "pg_catalog"."pg_class" AS "c"
      INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid"
      LEFT JOIN "pg_catalog"."pg_description" AS "d"
        ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = 0) AND ("d"."classoid" = 'pg_class'::regclass)
      LEFT JOIN pg_stat_user_tables AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname")
      WHERE ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind IN ('r', 'p', 'v', 'f', 'm')
      ORDER BY "type" ASC, "schema" ASC, "name" ASC`,
    lists: 'tables',
  },
  { client: 'Grafana', sql: "SELECT current_setting('server_version_num')::int / 100 AS version" },
  { client: 'Grafana', sql: "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'" },
  {
    client: 'Grafana',
    sql: `SELECT quote_ident(table_name) AS "table" FROM information_schema.tables
      WHERE quote_ident(table_schema) NOT IN ('information_schema', 'pg_catalog', '_timescaledb_cache')
        AND table_type = 'BASE TABLE'
        AND quote_ident(table_schema) IN (
          SELECT CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM generate_series(
                 array_lower(string_to_array(current_setting('search_path'), ','), 1),
                 array_upper(string_to_array(current_setting('search_path'), ','), 1)) AS i,
               string_to_array(current_setting('search_path'), ',') s)`,
    lists: 'tables',
  },
  {
    client: 'Grafana',
    sql: `SELECT quote_ident(column_name) AS "column", data_type AS "type" FROM information_schema.columns
      WHERE quote_ident(table_name) = 'labels'`,
    lists: 'labels columns',
  },
  {
    client: 'pgjdbc getTables',
    sql: `SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, c.relname AS TABLE_NAME,
        CASE n.nspname ~ '^pg_' OR n.nspname = 'information_schema' WHEN true THEN 'SYSTEM TABLE'
          ELSE CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'v' THEN 'VIEW' ELSE NULL END END AS TABLE_TYPE,
        d.description AS REMARKS
      FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c
      LEFT JOIN pg_catalog.pg_description d
        ON (c.oid = d.objoid AND d.objsubid = 0 AND d.classoid = 'pg_class'::regclass)
      WHERE c.relnamespace = n.oid AND c.relname LIKE '%'
        AND (c.relkind IN ('r', 'p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema')
      ORDER BY TABLE_TYPE, TABLE_SCHEM, TABLE_NAME`,
    lists: 'tables',
  },
  {
    client: 'pgjdbc getColumns',
    sql: `SELECT * FROM (SELECT n.nspname, c.relname, a.attname, a.atttypid,
          a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) AS attnotnull, a.atttypmod, a.attlen,
          row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum,
          pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS adsrc, dsc.description, t.typbasetype, t.typtype
        FROM pg_catalog.pg_namespace n
        JOIN pg_catalog.pg_class c ON (c.relnamespace = n.oid)
        JOIN pg_catalog.pg_attribute a ON (a.attrelid = c.oid)
        JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid)
        LEFT JOIN pg_catalog.pg_attrdef def ON (a.attrelid = def.adrelid AND a.attnum = def.adnum)
        LEFT JOIN pg_catalog.pg_description dsc ON (c.oid = dsc.objoid AND a.attnum = dsc.objsubid)
        WHERE c.relkind IN ('r', 'p', 'v', 'f', 'm') AND a.attnum > 0 AND NOT a.attisdropped
          AND c.relname LIKE 'labels') c
      WHERE true ORDER BY nspname, c.relname, attnum`,
    lists: 'labels columns',
  },
];
