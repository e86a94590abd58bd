/**
 * Postgres-only spellings in clients' catalog queries (psql, DBeaver, Grafana, Metabase, JDBC
 * drivers), rewritten into the DuckDB form that means the same over the catalog mirror
 * (catalog-mirror.ts). Text rewrites: these are fixed queries the clients send.
 */
import { COMPAT_RELATIONS } from './catalog-mirror.js';

type Replacement = string | ((match: string, ...groups: string[]) => string);

/**
 * A relation the mirror completes where a FROM or JOIN names it (a table function with `()`;
 * not a column `pg_type.oid` after a comma).
 */
const COMPAT_RELATION = new RegExp(
  `(\\bfrom|\\bjoin|,)\\s+(?:pg_catalog\\s*\\.\\s*)?(${COMPAT_RELATIONS.join('|')})\\b(?:\\s*\\(\\s*\\)|(?!\\s*[(.]))`,
  'gi',
);

/** Words that may follow a relation in FROM but are no alias of it. */
const NOT_ALIAS =
  /^\s+(?:as\s+)?(?!(?:where|join|on|using|left|right|inner|full|cross|natural|order|group|having|limit|offset|union|except|intersect|window|qualify)\b)[a-z_"]/i;

/**
 * `FROM pg_catalog.pg_type` → `FROM compat_pg_type() AS pg_type`: the alias keeps
 * `pg_type.oid` working where the query names none of its own.
 */
function compatRelation(...args: string[]): string {
  const [match, keyword, name] = args;
  const whole = args[args.length - 1];
  const offset = Number(args[args.length - 2]);
  const aliased = NOT_ALIAS.test(whole.slice(offset + match.length));
  return `${keyword} compat_${name}()${aliased ? '' : ` AS ${name}`}`;
}

/** Where a `'name'::regX` literal's name is looked up. */
const OID_LOOKUP: Record<string, [relation: string, column: string]> = {
  regclass: ['pg_class', 'relname'],
  regtype: ['pg_type', 'typname'],
  regproc: ['pg_proc', 'proname'],
  regnamespace: ['pg_namespace', 'nspname'],
};

/** `'pg_catalog.pg_class'::regclass` → the mirror's oid of that name (NULL where it has none). */
function oidOf(_match: string, name: string, kind: string): string {
  const [relation, column] = OID_LOOKUP[kind.toLowerCase()];
  return `(SELECT min(oid) FROM pg_catalog.${relation} WHERE ${column} = '${name.replace(/^.*\./, '')}')`;
}

/** `'{a,b}'::text[]`, Postgres' array literal, as a DuckDB list of the same elements. */
function arrayLiteral(_match: string, items: string, type: string): string {
  const elements = items === '' ? [] : items.split(',').map((e) => `'${e.trim().replace(/^"(.*)"$/, '$1')}'`);
  return `[${elements.join(', ')}]::${type}[]`;
}

/** The end of the parenthesized text opening at `open`, past its `)`; quotes are skipped. */
function closingParen(sql: string, open: number): number {
  let depth = 0;
  for (let i = open; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      i = end < 0 ? sql.length : end;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return sql.length;
}

/**
 * In Postgres a function in FROM that returns a scalar makes a column named by its alias
 * (Grafana: `FROM generate_series(…) AS i, string_to_array(…) s` then `s[i]`). DuckDB names
 * generate_series' column `generate_series` and has no string_to_array table function: the
 * alias is given as the column's name, and a scalar function becomes a one-row subquery.
 */
function scalarFunctionsInFrom(sql: string): string {
  const start =
    /(\bfrom|,)\s+(?:pg_catalog\s*\.\s*)?(generate_series|string_to_array|current_schemas)\s*\(/gi;
  let out = '';
  let done = 0;
  for (let m = start.exec(sql); m; m = start.exec(sql)) {
    const callStart = m.index + m[1].length;
    const callEnd = closingParen(sql, m.index + m[0].length - 1);
    const alias = /^\s+(?:as\s+)?([a-z_]\w*)\b(?!\s*\()/i.exec(sql.slice(callEnd));
    if (!alias || /^(where|join|on|left|right|inner|cross|order|group|limit)$/i.test(alias[1])) continue;
    const call = sql.slice(callStart, callEnd).trim();
    const name = alias[1];
    const table =
      m[2].toLowerCase() === 'generate_series'
        ? `${call} AS ${name}(${name})`
        : `(SELECT ${call} AS ${name}) ${name}`;
    out += `${sql.slice(done, callStart)} ${table}`;
    done = callEnd + alias[0].length;
    start.lastIndex = done;
  }
  return out + sql.slice(done);
}

/** psql writes `relname OPERATOR(pg_catalog.~) '^(labels)$' COLLATE pg_catalog.default`, and so on. */
const PG_SPELLINGS: [RegExp, Replacement][] = [
  [/OPERATOR\s*\(\s*pg_catalog\s*\.\s*([~!<>=]+)\s*\)/gi, '$1'],
  [/\s+COLLATE\s+pg_catalog\s*\.\s*"?default"?/gi, ''],
  [/'([\w.]+)'\s*::\s*(?:pg_catalog\s*\.\s*)?(regclass|regtype|regproc|regnamespace)\b/gi, oidOf],
  [/'\{([^'{}"]*)\}'\s*::\s*(\w+)\s*\[\]/g, arrayLiteral],
  [/::\s*(pg_catalog\s*\.\s*)?(regclass|regtype|regproc|regnamespace)\b/gi, '::BIGINT'],
  [/::\s*pg_catalog\s*\.\s*/gi, '::'],
  [COMPAT_RELATION, compatRelation],
  [/\bpg_catalog\s*\.\s*(?=\w+\s*\()/gi, ''],
];

export function pgCompatible(sql: string): string {
  const spelled = PG_SPELLINGS.reduce(
    (text, [pattern, replacement]) =>
      typeof replacement === 'string'
        ? text.replace(pattern, replacement)
        : text.replace(pattern, replacement),
    sql,
  );
  return scalarFunctionsInFrom(spelled);
}
