/**
 * Statements answered from the catalog, not from the data: `SHOW TABLES`, `DESCRIBE <table>`,
 * `SHOW COLUMNS FROM <table>`, and queries of `information_schema` / `pg_catalog` (what
 * psql, DBeaver, Grafana and Metabase send to list tables and columns). They run on the
 * catalog mirror (catalog-mirror.ts), over HTTP and the Postgres port alike.
 */
import { StatementType } from '@duckdb/node-api';
import { duckdbErrorToQueryError } from '../../duckdb/duckdb-errors.js';
import type { ChunkSource } from '../../duckdb/json-values.js';
import { QueryError } from '../../errors.js';
import { msSince } from '../../timing.js';
import {
  type ExecutorContext,
  type OpenOptions,
  type OpenQuery,
  type QueryStats,
  timeoutError,
} from '../execute/query.js';
import { CatalogMirror, COMPAT_RELATIONS, PG_MACRO_NAMES } from './catalog-mirror.js';
import { pgCompatible } from './pg-compatible.js';

/** Cheap first look: other SQL never reaches the parser here. */
const MAYBE_SYSTEM = /information_schema|pg_/i;
const CATALOG_STATEMENT = /^\s*(show|describe|desc)\s/i;
const SHOW_COLUMNS = /^\s*show\s+columns\s+(from|in)\s+/i;
const SYSTEM_SCHEMAS = new Set(['information_schema', 'pg_catalog']);

/** Functions only the mirror has: a query calling one is answered there. */
const MIRROR_ONLY = new Set([...PG_MACRO_NAMES, ...COMPAT_RELATIONS.map((r) => `compat_${r}`)]);

type Node = { [key: string]: unknown };

function* nodes(value: unknown): Generator<Node> {
  if (Array.isArray(value)) for (const v of value) yield* nodes(v);
  else if (value && typeof value === 'object') {
    yield value as Node;
    for (const v of Object.values(value)) yield* nodes(v);
  }
}

/**
 * True when the query reads the system catalog (a system schema, a `pg_*` relation, or a
 * function only the mirror has) and none of the catalog's tables.
 */
function readsSystemCatalog(tree: unknown, ctx: ExecutorContext): boolean {
  let system = false;
  for (const node of nodes(tree)) {
    if (node.type === 'BASE_TABLE') {
      const schema = String(node.schema_name ?? '').toLowerCase();
      const table = String(node.table_name ?? '').toLowerCase();
      if (SYSTEM_SCHEMAS.has(schema) || (!schema && table.startsWith('pg_'))) system = true;
      else if ((!schema || schema === 'main') && ctx.catalog.get(table)) return false;
    } else if (node.class === 'FUNCTION') {
      const name = String(node.function_name ?? '').toLowerCase();
      if (MIRROR_ONLY.has(name) || String(node.schema ?? '') === 'pg_catalog') system = true;
    }
  }
  return system;
}

/** The statement to run on the mirror when `sql` is one it answers, else undefined. */
async function catalogStatement(sql: string, ctx: ExecutorContext): Promise<string | undefined> {
  if (CATALOG_STATEMENT.test(sql)) return sql.replace(SHOW_COLUMNS, 'DESCRIBE ');
  if (!MAYBE_SYSTEM.test(sql)) return undefined;
  const compatible = pgCompatible(sql);
  const tree = (await ctx.engine.parse(compatible).catch(() => undefined)) as { error?: boolean } | undefined;
  if (!tree || tree.error) return undefined;
  return readsSystemCatalog(tree, ctx) ? compatible : undefined;
}

function withTableList(err: QueryError, ctx: ExecutorContext): QueryError {
  if (err.kind !== 'unknown_table') return err;
  const names = ctx.catalog.list().map((t) => t.name);
  return new QueryError(
    'unknown_table',
    `${err.message}; tables: ${names.join(', ') || '(none reachable yet)'}`,
  );
}

/** Runs one read-only statement on the mirror: more statements, or any other kind, are refused. */
async function runOnMirror(
  statement: string,
  ctx: ExecutorContext,
  signal: AbortSignal,
  options: OpenOptions,
): Promise<OpenQuery> {
  const started = performance.now();
  const con = await (await CatalogMirror.of(ctx.catalog)).connect();
  let timedOut = false;
  const interrupt = () => con.interrupt();
  const timer = setTimeout(() => {
    timedOut = true;
    interrupt();
  }, ctx.timeoutMs);
  signal.addEventListener('abort', interrupt, { once: true });
  const close = () => {
    clearTimeout(timer);
    signal.removeEventListener('abort', interrupt);
    con.closeSync();
  };
  try {
    const extracted = await con.extractStatements(statement);
    if (extracted.count !== 1) {
      throw new QueryError('bad_request', 'send one statement at a time (this text holds several)');
    }
    const prepared = await extracted.prepare(0);
    if (prepared.statementType !== StatementType.SELECT) {
      prepared.destroySync();
      throw new QueryError('forbidden', 'only read-only queries run here; this statement changes something');
    }
    const result: ChunkSource = options.materialize ? await prepared.run() : await prepared.stream();
    const stats: QueryStats = {
      pushdown: ctx.pushdown,
      pushed_whole: false,
      not_pushed: [],
      tables: [],
      analyze_ms: 0,
      gather_ms: 0,
      execute_ms: msSince(started),
    };
    return { result, sourceTables: [], stats, started, timedOut: () => timedOut, close };
  } catch (err) {
    close();
    if (timedOut) throw timeoutError(ctx.timeoutMs);
    if (signal.aborted) throw new QueryError('cancelled', 'the query was cancelled');
    throw withTableList(duckdbErrorToQueryError(err), ctx);
  }
}

/**
 * The answer of `sql` when the catalog answers it (opened for reading, as openQuery's), else
 * undefined. A table named that is not known yet gets one catalog refresh first.
 */
export async function catalogAnswer(
  sql: string,
  ctx: ExecutorContext,
  signal: AbortSignal,
  options: OpenOptions,
): Promise<OpenQuery | undefined> {
  const statement = await catalogStatement(sql, ctx);
  if (statement === undefined) return undefined;
  return runOnMirror(statement, ctx, signal, options).catch(async (err: unknown) => {
    if (!(err instanceof QueryError) || err.kind !== 'unknown_table') throw err;
    await ctx.catalog.refresh();
    return runOnMirror(statement, ctx, signal, options);
  });
}
