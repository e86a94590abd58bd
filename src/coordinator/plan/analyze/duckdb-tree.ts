/**
 * DuckDB's own parse tree (`SELECT json_serialize_sql($1)`) lowered to the IR.
 *
 * DuckDB's tree is the authority on what the SQL means: it decides syntax errors, refuses
 * non-SELECT statements, names every table reference. Shapes not known here are lowered
 * generically (every nested expression and table reference is still found) and flagged as
 * exotic, which turns filter pushdown off for the query.
 */
import { QueryError } from '../../../errors.js';
import { isJsonObject, type JsonObject } from '../../../json-object.js';
import { AGGREGATES } from './functions.js';
import {
  type Cte,
  type Expr,
  type From,
  type JoinType,
  type Lowered,
  type Query,
  type SelectItem,
  selectStar,
} from './ir.js';

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function lower(v: unknown): string | undefined {
  const s = str(v);
  return s === undefined ? undefined : s.toLowerCase();
}

function strings(v: unknown): string[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  return v.filter((x): x is string => typeof x === 'string').map((x) => x.toLowerCase());
}

function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined || v === '' || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isJsonObject(v)) return Object.keys(v).length === 0;
  return false;
}

/** Line and column (1-based) of a 0-based character offset. */
function lineCol(sql: string, pos: number): { line: number; column: number } {
  const before = sql.slice(0, Math.max(0, Math.min(pos, sql.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

/**
 * The single SELECT statement of DuckDB's tree, or the QueryError the user gets:
 * 'syntax_error' with DuckDB's message and position, 'forbidden' for anything else than one
 * read-only query.
 */
export function duckDbStatement(tree: unknown, sql: string): JsonObject {
  if (!isJsonObject(tree)) throw new QueryError('internal', 'json_serialize_sql returned no tree');
  if (tree.error === true) {
    const message = str(tree.error_message) ?? 'DuckDB could not parse the query';
    if (/only select statements/i.test(message)) {
      throw new QueryError(
        'forbidden',
        'Only read-only queries (SELECT, WITH … SELECT, VALUES, FROM …) are allowed; ' +
          'INSERT, UPDATE, DELETE, CREATE, DROP, COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA, EXPORT, ' +
          'EXPLAIN, PIVOT statements and the like are refused.',
      );
    }
    const pos = Number(tree.position);
    if (Number.isFinite(pos) && tree.position !== undefined && tree.position !== '') {
      const { line, column } = lineCol(sql, pos);
      throw new QueryError('syntax_error', `${message} at position ${pos} (line ${line}, column ${column})`);
    }
    throw new QueryError('syntax_error', message);
  }
  const statements = Array.isArray(tree.statements) ? tree.statements : [];
  if (statements.length === 0) throw new QueryError('syntax_error', 'The query is empty: no SQL statement');
  if (statements.length > 1) {
    throw new QueryError('forbidden', `One statement per query, got ${statements.length}`);
  }
  const st = statements[0];
  if (!isJsonObject(st) || !isJsonObject(st.node))
    throw new QueryError('internal', 'json_serialize_sql: no statement node');
  return st.node;
}

const TABLE_REF_TYPES = new Set([
  'BASE_TABLE',
  'JOIN',
  'SUBQUERY',
  'TABLE_FUNCTION',
  'EXPRESSION_LIST',
  'EMPTY',
  'PIVOT',
  'SHOW_REF',
  'COLUMN_DATA',
  'DELIM_GET',
  'CTE',
]);

const META_KEYS = new Set(['class', 'type', 'alias', 'query_location']);

const SIMPLE_CLASSES = new Set(['BETWEEN', 'CASE', 'CAST', 'COLLATE', 'COMPARISON', 'OPERATOR']);

const SELECT_KEYS = new Set([
  'type',
  'modifiers',
  'cte_map',
  'select_list',
  'from_table',
  'where_clause',
  'group_expressions',
  'group_sets',
  'aggregate_handling',
  'having',
  'sample',
  'qualify',
]);

/** LIMIT / OFFSET and DISTINCT ON: a filter applied before them would change what they keep. */
function modifierBarriers(mods: unknown): string[] {
  const out: string[] = [];
  for (const m of Array.isArray(mods) ? mods : []) {
    if (!isJsonObject(m)) continue;
    if (m.type === 'LIMIT_MODIFIER' || m.type === 'LIMIT_PERCENT_MODIFIER') out.push('LIMIT');
    if (m.type === 'DISTINCT_MODIFIER' && !isEmpty(m.distinct_on_targets)) out.push('DISTINCT ON');
  }
  return out;
}

/** Whether the modifiers hold one of `type` (DISTINCT_MODIFIER, ORDER_MODIFIER…). */
function hasModifier(mods: unknown, type: string): boolean {
  return Array.isArray(mods) && mods.some((m) => isJsonObject(m) && m.type === type);
}

/** Whether the modifiers' only LIMIT / OFFSET is a LIMIT of a positive integer constant. */
function positiveLimit(mods: unknown): boolean {
  const limits = (Array.isArray(mods) ? mods : []).filter(
    (m): m is JsonObject =>
      isJsonObject(m) && (m.type === 'LIMIT_MODIFIER' || m.type === 'LIMIT_PERCENT_MODIFIER'),
  );
  if (limits.length !== 1 || limits[0].type !== 'LIMIT_MODIFIER' || !isEmpty(limits[0].offset)) return false;
  const limit = limits[0].limit;
  if (!isJsonObject(limit) || limit.class !== 'CONSTANT' || !isJsonObject(limit.value)) return false;
  const value = limit.value.value;
  return (
    limit.value.is_null === false &&
    (typeof value === 'number' || typeof value === 'string') &&
    Number(value) >= 1
  );
}

/** 'aggregate' / 'window function' for each such call in an expression, subqueries not entered. */
function aggregatesAndWindows(e: Expr): string[] {
  if (e.k === 'fn' && e.window) return ['window function'];
  if (e.k === 'fn' && e.agg) return ['aggregate'];
  if (e.k === 'sub' || !('args' in e)) return [];
  return e.args.flatMap(aggregatesAndWindows);
}

class DuckDbLowering {
  readonly exotic: string[] = [];

  flag(reason: string): void {
    if (!this.exotic.includes(reason)) this.exotic.push(reason);
  }

  query(node: JsonObject): Query {
    switch (node.type) {
      case 'SELECT_NODE':
        return this.select(node);
      case 'SET_OPERATION_NODE':
        return this.setop(node);
      case 'RECURSIVE_CTE_NODE':
        return this.recursive(node);
      case 'CTE_NODE': {
        const child = isJsonObject(node.child) ? this.query(node.child) : this.emptySelect();
        const cte: Cte = {
          name: lower(node.cte_name) ?? '',
          query: isJsonObject(node.query) ? this.query(node.query) : this.emptySelect(),
          columnAliases: strings(node.aliases),
        };
        child.ctes = [cte, ...child.ctes];
        return child;
      }
      default:
        this.flag(`query node ${String(node.type)}`);
        return this.opaqueSelect(this.generic(node));
    }
  }

  private emptySelect(): Query {
    return { k: 'select', ctes: [], from: { k: 'empty' }, select: [], other: [], grouped: false };
  }

  /** A query that reads whatever the generic walk found, every column of it. */
  private opaqueSelect(exprs: Expr[]): Query {
    return selectStar({ k: 'opaque', exprs });
  }

  private ctes(map: unknown): Cte[] {
    if (!isJsonObject(map) || !Array.isArray(map.map)) return [];
    const out: Cte[] = [];
    for (const entry of map.map) {
      if (!isJsonObject(entry) || !isJsonObject(entry.value)) continue;
      const value = entry.value;
      const q = isJsonObject(value.query) && isJsonObject(value.query.node) ? value.query.node : undefined;
      out.push({
        name: lower(entry.key) ?? '',
        query: q ? this.query(q) : this.emptySelect(),
        columnAliases: strings(value.aliases),
      });
    }
    return out;
  }

  private select(node: JsonObject): Query {
    const ctes = this.ctes(node.cte_map);
    const from = isJsonObject(node.from_table) ? this.from(node.from_table) : ({ k: 'empty' } as From);
    const where = isJsonObject(node.where_clause) ? this.expr(node.where_clause) : undefined;
    const select: SelectItem[] = [];
    for (const item of Array.isArray(node.select_list) ? node.select_list : []) {
      if (isJsonObject(item)) select.push({ expr: this.expr(item), alias: lower(item.alias) });
    }
    const barriers = modifierBarriers(node.modifiers);
    const other: Expr[] = [...this.modifiers(node.modifiers)];
    const groupKeys = this.generic(node.group_expressions);
    other.push(...groupKeys);
    if (isJsonObject(node.having)) other.push(this.expr(node.having));
    // QUALIFY and GROUP BY ALL only act after the WHERE: they change no filter of the FROM.
    if (isJsonObject(node.qualify)) {
      barriers.push('QUALIFY');
      other.push(this.expr(node.qualify));
    }
    if (!isEmpty(node.sample)) {
      this.flag('SAMPLE');
      barriers.push('SAMPLE');
    }
    const handling = str(node.aggregate_handling);
    for (const [key, value] of Object.entries(node)) {
      if (SELECT_KEYS.has(key) || key === 'query_location' || isEmpty(value)) continue;
      this.flag(`SELECT_NODE.${key}`);
      other.push(...this.generic(value));
    }
    const groupBy =
      (Array.isArray(node.group_expressions) && node.group_expressions.length > 0) ||
      (handling !== undefined && handling !== 'STANDARD_HANDLING');
    const grouped = groupBy || isJsonObject(node.having);
    if (grouped) barriers.push('GROUP BY');
    const computes = [...select.map((s) => s.expr), ...other].flatMap(aggregatesAndWindows);
    if (computes.length > 0) barriers.push(computes[0]);
    return {
      k: 'select',
      ctes,
      from,
      where,
      select,
      other,
      grouped,
      groupBy,
      barriers,
      ...(groupKeys.length > 0 && { groupKeys }),
      ...(handling === 'FORCE_AGGREGATES' && { groupAll: true }),
      ...(hasModifier(node.modifiers, 'DISTINCT_MODIFIER') && { distinct: true }),
      ...(hasModifier(node.modifiers, 'ORDER_MODIFIER') && { ordered: true }),
      ...(positiveLimit(node.modifiers) && { positiveLimit: true }),
    };
  }

  private modifiers(mods: unknown): Expr[] {
    const out: Expr[] = [];
    if (!Array.isArray(mods)) return out;
    for (const m of mods) {
      if (!isJsonObject(m)) continue;
      if (m.type === 'ORDER_MODIFIER' && Array.isArray(m.orders)) {
        for (const o of m.orders) {
          if (!isJsonObject(o) || !isJsonObject(o.expression)) continue;
          const e = o.expression;
          if (
            e.class === 'STAR' &&
            e.columns === true &&
            isEmpty(e.expr) &&
            isEmpty(e.relation_name) &&
            isEmpty(e.exclude_list) &&
            isEmpty(e.replace_list)
          ) {
            out.push({ k: 'star', orderAll: true, raw: e });
          } else {
            out.push(this.expr(e));
          }
        }
      } else {
        out.push(...this.generic(m));
      }
    }
    return out;
  }

  private setop(node: JsonObject): Query {
    const ctes = this.ctes(node.cte_map);
    const kind = str(node.setop_type) ?? '';
    const byName = kind.includes('BY_NAME');
    let branches: JsonObject[] = [];
    if (isJsonObject(node.left) && isJsonObject(node.right)) branches = [node.left, node.right];
    else if (Array.isArray(node.children)) branches = node.children.filter(isJsonObject);
    const other = this.modifiers(node.modifiers);
    if (branches.length < 2) {
      this.flag('set operation without two branches');
      const q = this.opaqueSelect(this.generic(node));
      return { ...q, ctes };
    }
    // A filter on the output of a UNION ALL is a filter on each branch; not so past a LIMIT, or
    // through the deduplication of UNION / INTERSECT / EXCEPT (rows equal there may differ in
    // ways a filter sees), or BY NAME (columns matched by name).
    const barriers = modifierBarriers(node.modifiers);
    if (kind !== 'UNION' || node.setop_all !== true || byName) barriers.push('set operation');
    const counts = { ...(kind === 'EXCEPT' && node.setop_all === true && { countsCopies: true }) };
    const limit = { ...(positiveLimit(node.modifiers) && { positiveLimit: true }) };
    let acc = this.query(branches[0]);
    for (let i = 1; i < branches.length; i++) {
      const right = this.query(branches[i]);
      acc = { k: 'setop', ctes: [], left: acc, right, byName, other: [], barriers, ...counts, ...limit };
    }
    if (acc.k === 'setop') {
      acc.ctes = ctes;
      acc.other = other;
      return acc;
    }
    return acc;
  }

  private recursive(node: JsonObject): Query {
    const name = lower(node.cte_name) ?? '';
    const left = isJsonObject(node.left) ? this.query(node.left) : this.emptySelect();
    const right = isJsonObject(node.right) ? this.query(node.right) : this.emptySelect();
    const other: Expr[] = [];
    if (!isEmpty(node.key_targets)) {
      this.flag('USING KEY');
      other.push(...this.generic(node.key_targets));
    }
    return {
      k: 'setop',
      ctes: this.ctes(node.cte_map),
      left,
      right,
      byName: false,
      other,
      recursiveName: name,
    };
  }

  from(ref: JsonObject): From {
    switch (ref.type) {
      case 'BASE_TABLE': {
        for (const key of ['sample', 'at_clause']) if (!isEmpty(ref[key])) this.flag(`table ${key}`);
        return {
          k: 'table',
          name: lower(ref.table_name) ?? '',
          schema: lower(ref.schema_name),
          catalog: lower(ref.catalog_name),
          alias: lower(ref.alias),
          columnAliases: strings(ref.column_name_alias),
          node: ref,
        };
      }
      case 'JOIN':
        return this.join(ref);
      case 'SUBQUERY': {
        const sub =
          isJsonObject(ref.subquery) && isJsonObject(ref.subquery.node) ? ref.subquery.node : undefined;
        return {
          k: 'subquery',
          query: sub ? this.query(sub) : this.emptySelect(),
          alias: lower(ref.alias),
          columnAliases: strings(ref.column_name_alias),
        };
      }
      case 'TABLE_FUNCTION': {
        const fn = isJsonObject(ref.function) ? ref.function : {};
        return {
          k: 'func',
          name: lower(fn.function_name) ?? lower(fn.type) ?? '?',
          args: this.generic(fn.children),
          alias: lower(ref.alias),
          columnAliases: strings(ref.column_name_alias),
        };
      }
      case 'EXPRESSION_LIST': {
        const rows: Expr[][] = [];
        for (const row of Array.isArray(ref.values) ? ref.values : []) rows.push(this.generic(row));
        return {
          k: 'values',
          rows,
          alias: lower(ref.alias),
          columnAliases: strings(ref.expected_names) ?? strings(ref.column_name_alias),
        };
      }
      case 'EMPTY':
        return { k: 'empty' };
      case 'SHOW_REF':
        throw new QueryError(
          'forbidden',
          'DESCRIBE, SHOW and SUMMARIZE are not supported here; GET / lists the tables and their columns',
        );
      default: {
        this.flag(`table reference ${String(ref.type)}`);
        return { k: 'opaque', exprs: this.genericFields(ref), alias: lower(ref.alias) };
      }
    }
  }

  private join(ref: JsonObject): From {
    const left = isJsonObject(ref.left) ? this.from(ref.left) : ({ k: 'empty' } as From);
    const right = isJsonObject(ref.right) ? this.from(ref.right) : ({ k: 'empty' } as From);
    const refType = str(ref.ref_type) ?? 'REGULAR';
    const joinType = str(ref.join_type) ?? 'INNER';
    let type: JoinType;
    if (refType !== 'REGULAR' && refType !== 'CROSS' && refType !== 'NATURAL') {
      this.flag(`${refType} JOIN`);
      type = 'other';
    } else if (refType === 'CROSS') {
      type = 'cross';
    } else {
      switch (joinType) {
        case 'INNER':
          type = 'inner';
          break;
        case 'LEFT':
          type = 'left';
          break;
        case 'RIGHT':
          type = 'right';
          break;
        case 'OUTER':
        case 'FULL':
          type = 'full';
          break;
        default:
          this.flag(`${joinType} JOIN`);
          type = 'other';
      }
    }
    const natural = refType === 'NATURAL';
    return {
      k: 'join',
      type,
      left,
      right,
      on: isJsonObject(ref.condition) ? this.expr(ref.condition) : undefined,
      using: strings(ref.using_columns),
      natural,
    };
  }

  expr(e: JsonObject): Expr {
    switch (e.class) {
      case 'COLUMN_REF':
        return { k: 'col', parts: strings(e.column_names) ?? [], raw: e };
      case 'STAR': {
        const relation = lower(e.relation_name);
        const extra = [...this.generic(e.expr), ...this.generic(e.replace_list)];
        if (e.columns === true || !isEmpty(e.expr)) this.flag('COLUMNS(...)');
        const star: Expr = { k: 'star', relation, raw: e };
        return extra.length > 0 ? { k: 'opaque', args: [star, ...extra], raw: e } : star;
      }
      case 'SUBQUERY': {
        const sub = isJsonObject(e.subquery) && isJsonObject(e.subquery.node) ? e.subquery.node : undefined;
        const kind = str(e.subquery_type) ?? '';
        return {
          k: 'sub',
          query: sub ? this.query(sub) : this.emptySelect(),
          exists: kind === 'EXISTS' || kind === 'NOT_EXISTS',
          args: isJsonObject(e.child) ? [this.expr(e.child)] : [],
          kind,
          compare: str(e.comparison_type),
          raw: e,
        };
      }
      case 'FUNCTION': {
        const name = lower(e.function_name) ?? '';
        const orderBys =
          isJsonObject(e.order_bys) && Array.isArray(e.order_bys.orders) ? e.order_bys.orders : [];
        const agg =
          e.distinct === true ||
          isJsonObject(e.filter) ||
          orderBys.length > 0 ||
          e.export_state === true ||
          AGGREGATES.has(name);
        const args = [...this.generic(e.children), ...this.generic(e.filter), ...this.generic(orderBys)];
        return { k: 'fn', name, args, agg, window: false, raw: e };
      }
      case 'WINDOW':
        return {
          k: 'fn',
          name: lower(e.function_name) ?? '',
          args: this.genericFields(e),
          agg: true,
          window: true,
          raw: e,
        };
      case 'LAMBDA':
        this.flag('lambda');
        return { k: 'lambda', args: this.generic(e.expr), raw: e };
      case 'PARAMETER':
        return { k: 'param', raw: e };
      case 'CONJUNCTION': {
        const args = this.generic(e.children);
        if (e.type === 'CONJUNCTION_AND') return { k: 'and', args, raw: e };
        return { k: 'op', args, or: e.type === 'CONJUNCTION_OR', raw: e };
      }
      case 'CONSTANT':
        return { k: 'op', args: [], raw: e };
      case 'POSITIONAL_REFERENCE':
        this.flag('positional reference');
        return { k: 'star', raw: e };
      default:
        if (
          e.class === 'COMPARISON' &&
          e.type === 'COMPARE_EQUAL' &&
          isJsonObject(e.left) &&
          isJsonObject(e.right) &&
          Object.keys(e).every((k) => META_KEYS.has(k) || k === 'left' || k === 'right' || isEmpty(e[k]))
        ) {
          return { k: 'op', args: [this.expr(e.left), this.expr(e.right)], eq: true, raw: e };
        }
        if (typeof e.class === 'string' && SIMPLE_CLASSES.has(e.class)) {
          return { k: 'op', args: this.genericFields(e), raw: e };
        }
        this.flag(`expression ${String(e.class)}`);
        return { k: 'opaque', args: this.genericFields(e), raw: e };
    }
  }

  /** The expressions, subqueries and table references among the fields of a node. */
  private genericFields(e: JsonObject): Expr[] {
    const out: Expr[] = [];
    for (const [key, value] of Object.entries(e)) {
      if (!META_KEYS.has(key)) out.push(...this.generic(value));
    }
    return out;
  }

  /** Every expression, subquery and table reference inside an arbitrary JSON value. */
  generic(v: unknown): Expr[] {
    const out: Expr[] = [];
    const walk = (x: unknown): void => {
      if (Array.isArray(x)) {
        for (const y of x) walk(y);
        return;
      }
      if (!isJsonObject(x)) return;
      if (typeof x.class === 'string') {
        out.push(this.expr(x));
        return;
      }
      if (isJsonObject(x.node) && typeof x.node.type === 'string' && x.node.type.endsWith('_NODE')) {
        out.push({ k: 'sub', query: this.query(x.node), exists: false, args: [] });
        return;
      }
      if (typeof x.type === 'string' && x.type.endsWith('_NODE')) {
        out.push({ k: 'sub', query: this.query(x), exists: false, args: [] });
        return;
      }
      if (typeof x.type === 'string' && TABLE_REF_TYPES.has(x.type)) {
        const from = this.from(x);
        out.push({
          k: 'sub',
          query: selectStar(from),
          exists: false,
          args: [],
        });
        return;
      }
      for (const [key, value] of Object.entries(x)) if (key !== 'query_location') walk(value);
    };
    walk(v);
    return out;
  }
}

/** Lower DuckDB's statement node (from `duckDbStatement`). Throws 'forbidden' for DESCRIBE/SHOW. */
export function lowerDuckDb(node: JsonObject): Lowered {
  const l = new DuckDbLowering();
  const query = l.query(node);
  return { query, exotic: l.exotic };
}

/** The select-list expressions of a parsed `SELECT e1, e2, …` (for checking printed filters). */
export function selectListOf(tree: unknown): unknown[] | undefined {
  if (!isJsonObject(tree) || tree.error === true || !Array.isArray(tree.statements)) return undefined;
  if (tree.statements.length !== 1) return undefined;
  const st = tree.statements[0];
  if (!isJsonObject(st) || !isJsonObject(st.node) || st.node.type !== 'SELECT_NODE') return undefined;
  const node = st.node;
  if (isJsonObject(node.from_table) && node.from_table.type !== 'EMPTY') return undefined;
  if (isJsonObject(node.where_clause) || !Array.isArray(node.select_list)) return undefined;
  return node.select_list;
}
