/**
 * Checks user SQL with DuckDB's own parser (`json_serialize_sql`) before anything runs:
 * a whole query must be one read-only SELECT over known tables, a scan's `where` one plain
 * boolean expression over one table's columns. The instance's lockdown (sandbox.ts) stays
 * the second wall; these checks give clear errors and refuse what the lockdown would allow.
 */

import type { DuckDBConnection } from '@duckdb/node-api';
import { QueryError } from '../errors.js';
import { isJsonObject, type JsonObject } from '../json-object.js';
import { Lru } from '../lru.js';
import { serializedSql } from './parse-tree.js';
import { quoteIdent } from './sql.js';
import { assertCleanSqlText } from './sql-text.js';

type Node = JsonObject;

interface SerializedSql {
  error: boolean;
  error_type?: string;
  error_message?: string;
  position?: string;
  statements?: { node: Node }[];
}

/** SELECT_NODE, SET_OPERATION_NODE, RECURSIVE_CTE_NODE...: whatever carries WITH clauses. */
function isQueryNode(node: Node): boolean {
  return typeof node.type === 'string' && node.type.endsWith('_NODE') && isJsonObject(node.cte_map);
}

/** FROM-clause items; expressions carry a `class`, table refs do not. */
function isTableRef(node: Node): boolean {
  return typeof node.type === 'string' && !('class' in node) && 'sample' in node && 'alias' in node;
}

const TABLE_REFS_ALLOWED = new Set(['SUBQUERY', 'JOIN', 'EXPRESSION_LIST', 'EMPTY', 'EMPTY_FROM', 'PIVOT']);
const QUALIFIERS_ALLOWED = new Set(['', 'main', 'memory', 'temp']);
const SELECT_LIKE = new Set(['SELECT', 'WITH', 'FROM', 'VALUES', 'TABLE', '(']);

/**
 * Functions that tell about the server rather than the data (settings, which hold its
 * directories; files; the catalog of the instance; SQL run from a string): refused in any
 * query, whatever the lockdown would let through.
 */
const SERVER_FUNCTIONS =
  /^(current_setting|getenv|current_query|glob|sniff_csv|query|query_table|which_secret|json_execute_serialized_sql|(duckdb|pragma|read|parquet|iceberg|delta)_\w+)$/i;

function refuseServerFunction(node: Node): void {
  if (node.class !== 'FUNCTION' || typeof node.function_name !== 'string') return;
  if (!SERVER_FUNCTIONS.test(node.function_name)) return;
  throw new QueryError(
    'forbidden',
    `${node.function_name}() is not allowed: it reads the server's settings, files or catalog, not the data`,
  );
}

/** Throws 403 `forbidden` where a parse tree (json_serialize_sql) calls a SERVER_FUNCTIONS function. */
export function assertNoServerFunctions(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) assertNoServerFunctions(item);
    return;
  }
  if (!isJsonObject(value)) return;
  refuseServerFunction(value);
  for (const child of Object.values(value)) assertNoServerFunctions(child);
}

/** The first keyword of `sql`, past comments, for a message. */
function leadingKeyword(sql: string): string {
  const match = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*([A-Za-z]+|\()/.exec(sql);
  return match ? match[1].toUpperCase() : '';
}

/**
 * The parse tree's statements. `offset` is where the user's text starts in `sql`, so that
 * syntax error positions point into what the user sent.
 */
async function parseStatements(con: DuckDBConnection, sql: string, offset = 0): Promise<Node[]> {
  const tree = (await serializedSql(con, sql)) as SerializedSql;
  if (!tree.error) return (tree.statements ?? []).map((s) => s.node);
  if (tree.error_type === 'parser') {
    const position =
      tree.position === undefined ? '' : ` (at character ${Number(tree.position) - offset + 1})`;
    throw new QueryError('syntax_error', `Parser Error: ${tree.error_message}${position}`);
  }
  // json_serialize_sql serializes SELECT statements only; everything else lands here.
  const keyword = leadingKeyword(sql.slice(offset));
  throw new QueryError(
    'forbidden',
    keyword && !SELECT_LIKE.has(keyword)
      ? `${keyword} statements are refused: only a read-only SELECT may run here`
      : 'only a read-only SELECT may run here, and this request holds another kind of statement (or a PIVOT, which cannot be checked)',
  );
}

/**
 * Checks that passed, by their inputs: a check depends on nothing else (DuckDB's parser is
 * deterministic), and repeated queries (dashboards, retries) then skip a parse of ~1 ms.
 * Long inputs are not kept: they seldom repeat and would hold memory.
 */
const accepted = new Lru<string, object>(1024);
const MAX_REMEMBERED_CHARS = 16 * 1024;

async function onceAccepted<T extends object>(inputs: unknown[], check: () => Promise<T>): Promise<T> {
  const key = JSON.stringify(inputs);
  const known = accepted.get(key);
  if (known) return known as T;
  const facts = await check();
  if (key.length <= MAX_REMEMBERED_CHARS) accepted.set(key, facts);
  return facts;
}

function tablesText(allowed: string[], tableColumns?: Record<string, string[]>): string {
  return allowed.map((t) => (tableColumns?.[t] ? `${t} (${tableColumns[t].join(', ')})` : t)).join(', ');
}

class QueryTreeChecker {
  private readonly allowed: Set<string>;

  constructor(
    private readonly allowedTables: string[],
    private readonly tableColumns?: Record<string, string[]>,
  ) {
    this.allowed = new Set(allowedTables.map((t) => t.toLowerCase()));
  }

  /** `scope`: CTE names visible here (lower case). */
  check(value: unknown, scope: ReadonlySet<string>): void {
    if (Array.isArray(value)) {
      for (const item of value) this.check(item, scope);
      return;
    }
    if (!isJsonObject(value)) return;
    refuseServerFunction(value);
    if (isQueryNode(value)) this.checkQueryNode(value, scope);
    else if (isTableRef(value) && value.type === 'BASE_TABLE') this.checkBaseTable(value, scope);
    else if (isTableRef(value) && !TABLE_REFS_ALLOWED.has(String(value.type))) throw this.refused(value);
    else for (const child of Object.values(value)) this.check(child, scope);
  }

  /** A CTE sees the ones defined before it and itself (WITH RECURSIVE); the body sees all. */
  private checkQueryNode(node: Node, scope: ReadonlySet<string>): void {
    const ctes = ((node.cte_map as Node).map ?? []) as { key: string; value: unknown }[];
    const inner = new Set(scope);
    for (const cte of ctes) {
      inner.add(cte.key.toLowerCase());
      this.check(cte.value, new Set(inner));
    }
    for (const [key, child] of Object.entries(node)) if (key !== 'cte_map') this.check(child, inner);
  }

  private checkBaseTable(ref: Node, scope: ReadonlySet<string>): void {
    const name = String(ref.table_name);
    const schema = String(ref.schema_name ?? '');
    const catalog = String(ref.catalog_name ?? '');
    if (!schema && !catalog && scope.has(name.toLowerCase())) return;
    if (/[/\\:.*?]/.test(name)) {
      throw new QueryError('forbidden', `reading files is not allowed: FROM '${name}'`);
    }
    if (
      QUALIFIERS_ALLOWED.has(schema) &&
      QUALIFIERS_ALLOWED.has(catalog) &&
      this.allowed.has(name.toLowerCase())
    ) {
      return;
    }
    const full = [catalog, schema, name].filter(Boolean).join('.');
    throw new QueryError(
      'unknown_table',
      `table ${full} does not exist here; the tables are: ${tablesText(this.allowedTables, this.tableColumns)}`,
    );
  }

  private refused(ref: Node): QueryError {
    if (ref.type === 'TABLE_FUNCTION') {
      if (isJsonObject(ref.function)) refuseServerFunction(ref.function);
      const fn = isJsonObject(ref.function) ? String(ref.function.function_name) : 'table function';
      return new QueryError(
        'forbidden',
        `table functions such as ${fn}() are not allowed; query the tables: ${this.allowedTables.join(', ')}`,
      );
    }
    if (ref.type === 'SHOW_REF')
      return new QueryError('forbidden', 'DESCRIBE, SHOW and SUMMARIZE are not allowed here');
    return new QueryError('forbidden', `${String(ref.type)} is not allowed in FROM`);
  }
}

/** What the check of a SELECT learned about it on the way. */
export interface CheckedSelect {
  /** The most rows its result can have, where its outermost LIMIT is a constant. */
  maxRows?: number;
}

/** The constant of a query node's own `LIMIT n` (not `LIMIT n%`, not an expression). */
function constantLimit(node: Node): number | undefined {
  const modifiers = Array.isArray(node.modifiers) ? (node.modifiers as Node[]) : [];
  const limit = modifiers.find((m) => m.type === 'LIMIT_MODIFIER')?.limit;
  if (!isJsonObject(limit) || limit.class !== 'CONSTANT' || !isJsonObject(limit.value)) return undefined;
  const value = Number(limit.value.value);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Throws a QueryError unless `sql` is exactly one SELECT that reads only `allowedTables`
 * (or CTEs it defines): 400 syntax_error with DuckDB's message and position, 403 forbidden
 * for other statements, several statements, table functions and file reads, 400
 * unknown_table naming the tables there are (with their columns when `tableColumns` has them).
 */
export async function assertReadOnlySelect(
  con: DuckDBConnection,
  sql: string,
  allowedTables: string[],
  tableColumns?: Record<string, string[]>,
): Promise<CheckedSelect> {
  assertCleanSqlText(sql);
  return onceAccepted(['select', sql, allowedTables, tableColumns], () =>
    checkReadOnlySelect(con, sql, allowedTables, tableColumns),
  );
}

async function checkReadOnlySelect(
  con: DuckDBConnection,
  sql: string,
  allowedTables: string[],
  tableColumns?: Record<string, string[]>,
): Promise<CheckedSelect> {
  const statements = await parseStatements(con, sql);
  if (statements.length === 0) throw new QueryError('bad_request', 'the query is empty');
  if (statements.length > 1) {
    throw new QueryError('forbidden', `send one SELECT at a time, not ${statements.length} statements`);
  }
  new QueryTreeChecker(allowedTables, tableColumns).check(statements[0], new Set());
  const maxRows = constantLimit(statements[0]);
  return maxRows === undefined ? {} : { maxRows };
}

/** The WHERE tree of `SELECT * FROM <table> WHERE <where>`, if the statement has exactly that shape. */
function predicateTree(statements: Node[], table: string): Node {
  const node = statements.length === 1 ? statements[0] : undefined;
  const from = node?.from_table as Node | undefined;
  const star = (node?.select_list as Node[] | undefined)?.[0];
  const empty = (v: unknown) =>
    v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
  const plain =
    node?.type === 'SELECT_NODE' &&
    empty(node.modifiers) &&
    empty((node.cte_map as Node).map) &&
    empty(node.group_expressions) &&
    empty(node.group_sets) &&
    empty(node.having) &&
    empty(node.qualify) &&
    empty(node.sample) &&
    from?.type === 'BASE_TABLE' &&
    from.table_name === table &&
    empty(from.schema_name) &&
    empty(from.catalog_name) &&
    empty(from.alias) &&
    empty(from.sample) &&
    (node.select_list as unknown[]).length === 1 &&
    star?.class === 'STAR' &&
    empty(star.relation_name) &&
    empty(star.exclude_list) &&
    empty(star.replace_list) &&
    empty(star.rename_list) &&
    empty(star.expr) &&
    star.columns === false &&
    isJsonObject(node.where_clause);
  if (!plain) {
    throw new QueryError(
      'forbidden',
      'a where predicate is one boolean expression over the table: nothing may follow it (no ;, LIMIT, GROUP BY, UNION...)',
    );
  }
  return node.where_clause as Node;
}

function columnRefNames(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(columnRefNames);
  if (!isJsonObject(value)) return [];
  if (value.class === 'COLUMN_REF') return (value.column_names as string[]).map((n) => n.toLowerCase());
  return Object.values(value).flatMap(columnRefNames);
}

function checkPredicateNode(
  value: unknown,
  table: string,
  columns: string[],
  lambdaParams: ReadonlySet<string>,
): void {
  if (Array.isArray(value)) {
    for (const item of value) checkPredicateNode(item, table, columns, lambdaParams);
    return;
  }
  if (!isJsonObject(value)) return;
  if (isQueryNode(value) || isTableRef(value) || value.class === 'SUBQUERY') {
    throw new QueryError('forbidden', 'a where predicate may not hold a subquery or read another table');
  }
  refuseServerFunction(value);
  if (value.class === 'LAMBDA') {
    const params = new Set([...lambdaParams, ...columnRefNames(value.lhs)]);
    checkPredicateNode(value.expr, table, columns, params);
    return;
  }
  if (value.class === 'COLUMN_REF') {
    const names = value.column_names as string[];
    const [first, second] = names.map((n) => n.toLowerCase());
    const known = new Set(columns.map((c) => c.toLowerCase()));
    // `col`, `col.field`, `table.col`, `table.col.field`, or a lambda parameter.
    const ok =
      lambdaParams.has(first) ||
      known.has(first) ||
      (names.length > 1 && first === table.toLowerCase() && known.has(second));
    if (!ok) {
      throw new QueryError(
        'unknown_column',
        `column ${names.join('.')} does not exist in table ${table}; its columns are: ${columns.join(', ')}`,
      );
    }
    return;
  }
  for (const child of Object.values(value)) checkPredicateNode(child, table, columns, lambdaParams);
}

/**
 * `where` checked as ONE boolean expression over `table`'s `columns`, and written anew from
 * its parse tree: the text to splice. It is parsed inside `SELECT * FROM <table> WHERE
 * <where>`, which must be exactly one statement of exactly that shape (so `id < 0) OR (id > 0`
 * or a trailing `LIMIT` cannot pass), with no subquery, other table, or function that reads
 * files or settings. What comes back is DuckDB's own rendering of the checked tree
 * (`json_deserialize_sql`), fully parenthesized, never the caller's text: a comment or an
 * unbalanced quote in the input cannot reach the statement it is spliced into.
 */
export async function checkedPredicate(
  con: DuckDBConnection,
  where: string,
  table: string,
  columns: string[],
): Promise<string> {
  return (await checkedExpression(con, where, table, columns, 'the where predicate')).text;
}

/**
 * An expression over `table`'s `columns` (a scan's computed column, a where predicate),
 * checked and written anew as checkedPredicate does; with the names its column references
 * start with (lower-case: a column, or the table's name where one is qualified).
 */
export async function checkedExpression(
  con: DuckDBConnection,
  sql: string,
  table: string,
  columns: string[],
  what: string,
): Promise<{ text: string; columns: string[] }> {
  assertCleanSqlText(sql, what);
  return onceAccepted(['where', sql, table, columns], () =>
    rewrittenPredicate(con, sql, table, columns, what),
  );
}

async function rewrittenPredicate(
  con: DuckDBConnection,
  where: string,
  table: string,
  columns: string[],
  what: string,
): Promise<{ text: string; columns: string[] }> {
  const prefix = `SELECT * FROM ${quoteIdent(table)} WHERE `;
  const statements = await parseStatements(con, `${prefix}${where}`, prefix.length);
  const tree = predicateTree(statements, table);
  checkPredicateNode(tree, table, columns, new Set());
  // DuckDB's own round trip of the same text: its tree, which was just checked, written out.
  const written = await deserializedSql(con, `${prefix}${where}`);
  const at = written.indexOf(' WHERE ');
  const text = at < 0 ? '' : written.slice(at + ' WHERE '.length);
  // Written anew, it must pass the same check again (one plain expression over the table's
  // columns), else it is not spliced. (Its tree may differ in constant types: 1e12 is
  // written 1000000000000.0.)
  const again = text ? await parseStatements(con, `${prefix}${text}`).catch(() => []) : [];
  try {
    checkPredicateNode(predicateTree(again, table), table, columns, new Set());
  } catch {
    throw new QueryError(
      'bad_request',
      `${what} does not read back as one expression once written out by DuckDB; write it more plainly`,
    );
  }
  return { text, columns: [...new Set(columnRefNames(tree))] };
}

async function deserializedSql(con: DuckDBConnection, sql: string): Promise<string> {
  const reader = await con.runAndReadAll(
    'SELECT json_deserialize_sql(json_serialize_sql($1::VARCHAR)::JSON)',
    [sql],
  );
  return String(reader.getRows()[0][0]);
}
