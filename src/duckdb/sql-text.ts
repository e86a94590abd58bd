/**
 * The first check of any SQL text that comes in (a query, a scan's `where` or `query`, a
 * filter's `where`), before DuckDB sees it. DuckDB reads SQL as a C string: text after a NUL
 * is silently dropped (`SELECT count(*) FROM t\0 WHERE id = 1` counts the whole table), so a
 * NUL is refused anywhere. Other control characters are refused outside string literals,
 * where they can only hide what the text says; tab, line feed and carriage return are spacing.
 */
import { QueryError } from '../errors.js';

const SPACING = new Set([0x09, 0x0a, 0x0d]);

function isControl(code: number): boolean {
  return (code < 0x20 && !SPACING.has(code)) || (code >= 0x7f && code <= 0x9f);
}

function codePoint(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The end of the dollar-quote tag (`$tag$`) starting at `i`, if one starts there. */
function dollarTag(sql: string, i: number): string | undefined {
  const match = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 66));
  return match?.[0];
}

/**
 * Throws 400 `bad_request` naming the character and its position (1-based) when `sql`
 * holds a NUL anywhere, or another control character outside a string literal.
 */
export function assertCleanSqlText(sql: string, what = 'the query'): void {
  let i = 0;
  while (i < sql.length) {
    const code = sql.charCodeAt(i);
    if (code === 0) throw refused(what, code, i, 'anywhere');
    if (code === 0x27) {
      i = literalEnd(sql, i + 1, "'", what);
      continue;
    }
    const tag = code === 0x24 ? dollarTag(sql, i) : undefined;
    if (tag) {
      i = literalEnd(sql, i + tag.length, tag, what);
      continue;
    }
    if (isControl(code)) throw refused(what, code, i, 'outside a string literal');
    i++;
  }
}

/** Past the literal that closes with `close` (a quote doubled inside stays in it); NULs refused. */
function literalEnd(sql: string, from: number, close: string, what: string): number {
  for (let i = from; i < sql.length; i++) {
    if (sql.charCodeAt(i) === 0) throw refused(what, 0, i, 'anywhere');
    if (sql.startsWith(close, i)) {
      if (close === "'" && sql[i + 1] === "'") {
        i++;
        continue;
      }
      return i + close.length;
    }
  }
  return sql.length;
}

function refused(what: string, code: number, index: number, where: string): QueryError {
  const name =
    code === 0 ? `a NUL character (${codePoint(code)})` : `the control character ${codePoint(code)}`;
  return new QueryError(
    'bad_request',
    `${what} holds ${name} at character ${index + 1}; SQL text may not hold ${
      code === 0 ? 'NUL' : 'control characters'
    } ${where}: remove it`,
  );
}
