/**
 * What a Postgres session says besides queries: a simple Query message's text split into its
 * statements, and the statements drivers send as they connect (`SET …`, `BEGIN`, `SHOW
 * <setting>`), answered here. Every session is read-only and autocommit: SET is accepted
 * and changes nothing but what SHOW answers; BEGIN/COMMIT only mark a transaction block.
 */

/** The statements of `sql`, split at `;` outside quotes, comments and dollar quotes. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === "'" || c === '"') {
      // A backslash escapes only in E'…' strings; a doubled quote in every kind.
      const escapes = c === "'" && /[eE]/.test(sql[i - 1] ?? '') && !/\w/.test(sql[i - 2] ?? '');
      for (i++; i < n; i++) {
        if (escapes && sql[i] === '\\') i++;
        else if (sql[i] === c) {
          if (sql[i + 1] === c) i++;
          else break;
        }
      }
      i++;
    } else if (c === '-' && next === '-') {
      while (i < n && sql[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      let depth = 0;
      do {
        const pair = sql.slice(i, i + 2);
        depth += pair === '/*' ? 1 : pair === '*/' ? -1 : 0;
        i += pair === '/*' || pair === '*/' ? 2 : 1;
      } while (i < n && depth > 0);
    } else if (c === '$' && !/\w/.test(sql[i - 1] ?? '')) {
      const tag = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(sql.slice(i))?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        i = end < 0 ? n : end + tag.length;
      } else i++;
    } else if (c === ';') {
      statements.push(sql.slice(start, i));
      start = ++i;
    } else i++;
  }
  statements.push(sql.slice(start));
  return statements.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Settings as a Postgres 15 server reports them; SHOW answers these, SET overrides them. */
export const SERVER_SETTINGS: Record<string, string> = {
  server_version: '15.0',
  server_version_num: '150000',
  server_encoding: 'UTF8',
  client_encoding: 'UTF8',
  DateStyle: 'ISO, MDY',
  IntervalStyle: 'postgres',
  TimeZone: 'UTC',
  integer_datetimes: 'on',
  standard_conforming_strings: 'on',
  is_superuser: 'off',
  search_path: 'main',
  transaction_isolation: 'read committed',
  default_transaction_isolation: 'read committed',
  transaction_read_only: 'on',
  default_transaction_read_only: 'on',
  max_identifier_length: '63',
  extra_float_digits: '1',
  statement_timeout: '0',
  lc_collate: 'C',
  lc_ctype: 'C',
};

/** The settings sent as ParameterStatus once a session starts. */
export const REPORTED_SETTINGS = [
  'server_version',
  'server_encoding',
  'client_encoding',
  'DateStyle',
  'IntervalStyle',
  'TimeZone',
  'integer_datetimes',
  'standard_conforming_strings',
  'is_superuser',
];

export type SessionStatement =
  | { kind: 'set'; tag: string; name?: string; value?: string }
  | { kind: 'transaction'; tag: 'BEGIN' | 'COMMIT' | 'ROLLBACK'; inBlock: boolean }
  | { kind: 'show'; name: string };

const SET = /^set\s+(?:session\s+|local\s+)?([\w.]+)\s*(?:=|\s+to\s+|\s+)(.*)$/is;
const OTHER_SET = /^(set|reset|discard|deallocate|listen|unlisten)\b/i;
const BEGIN = /^(begin|start\s+transaction)\b/i;
const COMMIT = /^(commit|end)\b/i;
const ROLLBACK = /^(rollback|abort)\b/i;
const SHOW = /^show\s+("?)([\w.]+)\1\s*$/i;
const SHOW_ISOLATION = /^show\s+transaction\s+isolation\s+level\s*$/i;
const CURRENT_SETTING =
  /\b(?:pg_catalog\s*\.\s*)?current_setting\s*\(\s*'([\w.]+)'\s*(?:,\s*(?:true|false)\s*)?\)/gi;

function unquote(value: string): string {
  const v = value.trim();
  return /^'.*'$/s.test(v) ? v.slice(1, -1).replaceAll("''", "'") : v;
}

/** The setting named `name` (case-insensitive), if known. */
export function settingName(name: string, settings: Record<string, string>): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(settings).find((k) => k.toLowerCase() === lower);
}

/**
 * The statement when the session answers it itself. `SHOW x` is a setting only when `x`
 * is one; `SHOW TABLES` and `SHOW <table>` go on to the catalog.
 */
export function sessionStatement(
  sql: string,
  settings: Record<string, string>,
): SessionStatement | undefined {
  const set = SET.exec(sql);
  if (set) return { kind: 'set', tag: 'SET', name: set[1], value: unquote(set[2]) };
  const other = OTHER_SET.exec(sql);
  if (other) {
    const word = other[1].toUpperCase();
    return { kind: 'set', tag: word === 'DISCARD' ? 'DISCARD ALL' : word };
  }
  if (BEGIN.test(sql)) return { kind: 'transaction', tag: 'BEGIN', inBlock: true };
  if (COMMIT.test(sql)) return { kind: 'transaction', tag: 'COMMIT', inBlock: false };
  if (ROLLBACK.test(sql)) return { kind: 'transaction', tag: 'ROLLBACK', inBlock: false };
  if (SHOW_ISOLATION.test(sql)) return { kind: 'show', name: 'transaction_isolation' };
  const show = SHOW.exec(sql);
  if (show && settingName(show[2], settings)) {
    return { kind: 'show', name: show[2] };
  }
  return undefined;
}

/**
 * `current_setting('x')` for a setting the session knows, as its value (Grafana asks for
 * `server_version_num` and `search_path`); the coordinator runs no `current_setting` itself.
 */
export function withSessionSettings(sql: string, settings: Record<string, string>): string {
  return sql.replace(CURRENT_SETTING, (call, name: string) => {
    const known = settingName(name, settings);
    return known === undefined ? call : `'${settings[known].replaceAll("'", "''")}'`;
  });
}
