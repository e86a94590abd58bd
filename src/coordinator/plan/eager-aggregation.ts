/**
 * Eager aggregation below a join (Yan & Larson's eager group-by): in a query block that
 * groups over a join of catalog tables and whose aggregates read the columns of one of them,
 * B, that table is aggregated before the join, by every column of B the block uses outside
 * its aggregates, into a derived table that takes B's place under B's name:
 *
 *   SELECT c_custkey, count(o_orderkey) FROM customer LEFT JOIN orders
 *     ON c_custkey = o_custkey AND o_comment NOT LIKE '%x%' GROUP BY c_custkey
 * becomes
 *   SELECT c_custkey, CAST(COALESCE(sum(orders.__eager_0), 0) AS BIGINT) AS "count(o_orderkey)"
 *     FROM customer LEFT JOIN (SELECT o_custkey, count(o_orderkey) AS __eager_0 FROM orders
 *       WHERE o_comment NOT LIKE '%x%' GROUP BY 1) AS orders ON c_custkey = o_custkey GROUP BY c_custkey
 *
 * and subquery-pushdown.ts then runs that derived table in B's container (or its parts), so B
 * sends its groups instead of its rows.
 *
 * Why it is exact. The pre-aggregation groups B's rows by every B column the block reads outside
 * aggregate arguments: rows of one group look the same to the joins, WHERE, GROUP BY, HAVING
 * and select list, so the join pairs each other row with all of a group or none of it, and
 * each output group of the block receives whole pre-aggregated groups. The aggregates then
 * merge as they do across a split table's parts (aggregate-merge.ts: counts sum, sums sum,
 * min of mins, avg as sum over count, DISTINCT arguments become group keys). Duplicates on the
 * other side are fine: each duplicate row joins the same pre-aggregated row and counts it again,
 * as it counted B's rows again. What is declined, and why:
 * - B joined where B's rows can be NULL-extended (the non-preserved side of an outer join): a
 *   NULL-extended row carries NULL partials, which every merge ignores, as the aggregate ignores
 *   the NULL arguments of such a row, provided each argument is NULL when B's columns are: only
 *   strict arguments (columns, constants, arithmetic, comparisons, casts) are taken; count(*)
 *   counts such a row once (coalesce(partial count, 1)), and count(*) FILTER declines there.
 * - B's own conjuncts move into the pre-aggregation only where they drop B's rows: an ON
 *   conjunct of a join where B is not preserved, a WHERE conjunct where no join NULL-extends B.
 *   The others stay, and their columns are group keys.
 * - No group key (B joined on none of its columns): a global aggregate has one row even over no
 *   rows. An aggregate reading two tables, or no column (count(*) only: which table?), a column
 *   whose table is unclear, nested aggregates, window functions, subqueries, `*`, USING/NATURAL/
 *   SEMI/ANTI/ASOF joins, derived tables or CTEs in the join, several grouping sets, QUALIFY,
 *   samples, volatile functions: declined.
 * - B's scan reduced by other tables' keys (reduction-schedule.ts): a pushed aggregate gets no
 *   keys, so it could send more than the reduced scan.
 * DuckDB's binder checks, over empty stand-ins of the tables, that the rewritten block has the
 * original's column names and types; the rewritten query must print back to its very tree.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { isJsonObject, type JsonObject } from '../../json-object.js';
import { type Decomposed, decompose, isDecomposableName } from '../execute/shards/aggregate-merge.js';
import { type FunctionFacts, functionFacts } from '../execute/shards/function-facts.js';
import { Decline } from '../execute/shards/single-table-query.js';
import {
  aliased,
  cast,
  coalesce,
  columnRef,
  expressionNodes,
  integer,
  mapExpressions,
  selectNode,
} from '../execute/shards/tree-nodes.js';
import { type Relation, TypedProbe } from '../execute/shards/typed-probe.js';
import { VOLATILE } from './analyze/functions.js';
import { and, andTerms, type Tree, treeKey } from './analyze/trees.js';
import { cteNames, objectsOf, printed, statementNode } from './query-tree.js';

/** A catalog table's columns, types and row count, by its name (undefined: not one). */
export type TableSchemas = (name: string) => (Relation & { rows?: number }) | undefined;

export interface EagerOptions {
  /** The tables whose keys reduce `table`'s scan (reduction-schedule.ts). */
  reducedBy: (table: string) => string[];
  /**
   * How many times fewer rows the pre-aggregation must promise: its groups are estimated as
   * the product, over its keys, of the rows of the smallest table whose column the key
   * equals (a key of a smaller table), else of the table's own rows. 1 takes every block.
   */
  minReduction: number;
}

/** Pre-aggregating to no fewer than half the rows costs the container more than it saves. */
export const MIN_REDUCTION = 2;

export interface EagerAggregation {
  /** The query with each pre-aggregated table replaced by its derived table; undefined: none. */
  sql?: string;
  /** The tables aggregated below their joins (catalog names), one per rewritten block. */
  tables: string[];
  /** Why a block that groups over a join was left as it is. */
  notes: string[];
}

const PARTIAL_PREFIX = '__eager_';

interface Leaf {
  ref: JsonObject;
  /** The name the block knows it by (alias, else table name), lower-case. */
  name: string;
  schema: Relation & { rows?: number };
  /** The joins above it, root first, and its side in each. */
  path: { join: JsonObject; side: 'left' | 'right' }[];
}

const JOIN_TYPES = new Set(['INNER', 'LEFT', 'RIGHT', 'FULL']);
const STRICT_OPERATORS = new Set(['+', '-', '*', '/', '//', '%']);
const STRICT_COMPARISONS = new Set([
  'COMPARE_EQUAL',
  'COMPARE_NOTEQUAL',
  'COMPARE_LESSTHAN',
  'COMPARE_GREATERTHAN',
  'COMPARE_LESSTHANOREQUALTO',
  'COMPARE_GREATERTHANOREQUALTO',
]);

/** Rewrites every block of `sql` that eager aggregation applies to, where it is worth it. */
export async function eagerAggregation(
  con: DuckDBConnection,
  sql: string,
  schemas: TableSchemas,
  options: EagerOptions,
): Promise<EagerAggregation> {
  const root = await statementNode(con, sql);
  if (!root) return { tables: [], notes: [] };
  const facts = await functionFacts(con);
  const ctes = cteNames(root);
  const probe = new TypedProbe(con);
  const tables: string[] = [];
  const notes: string[] = [];
  for (const node of objectsOf(root, (o) => o.type === 'SELECT_NODE')) {
    const block = new Block(node, facts, ctes, schemas);
    if (!block.groupsOverJoin()) continue;
    try {
      tables.push(await block.rewrite(probe, options, root));
    } catch (err) {
      if (!(err instanceof Decline)) throw err;
      notes.push(`not aggregated below the join of ${block.describe()}: ${err.message}`);
    }
  }
  if (tables.length === 0) return { tables, notes };
  const rewritten = await printed(con, root);
  if (rewritten === undefined)
    return {
      tables: [],
      notes: [...notes, 'eager aggregation: the rewritten query does not print back to itself'],
    };
  return { sql: rewritten, tables, notes };
}

/** One SELECT block over a join, and its rewrite (in place, once every check passed). */
class Block {
  private leaves: Leaf[] = [];

  constructor(
    private readonly node: JsonObject,
    private readonly facts: Map<string, FunctionFacts>,
    private readonly ctes: Set<string>,
    private readonly schemas: TableSchemas,
  ) {}

  groupsOverJoin(): boolean {
    const from = this.node.from_table;
    if (!isJsonObject(from) || from.type !== 'JOIN') return false;
    const groups = Array.isArray(this.node.group_expressions) ? this.node.group_expressions : [];
    const own = [this.node.select_list, this.node.having, this.node.modifiers] as unknown as Tree;
    // Its own aggregates, not those of its subqueries.
    const aggregates = expressionNodes(
      mapExpressions(own, (n) => (n.class === 'SUBQUERY' ? TRUE : undefined)),
    );
    return groups.length > 0 || aggregates.some((n) => this.isAggregate(n));
  }

  describe(): string {
    const names = objectsOf(this.node.from_table, (o) => o.type === 'BASE_TABLE').map((o) =>
      String(o.table_name),
    );
    return names.length > 0 ? names.join(', ') : 'derived tables';
  }

  private isAggregate(n: Tree): boolean {
    if (n.class !== 'FUNCTION') return false;
    const name = String(n.function_name).toLowerCase();
    return this.facts.get(name)?.aggregate === true || isDecomposableName(name);
  }

  /** The aggregate calls of `tree`, outermost only. */
  private aggregates(tree: unknown): Tree[] {
    const out: Tree[] = [];
    mapExpressions(tree as Tree, (n) => {
      if (!this.isAggregate(n)) return undefined;
      out.push(n);
      return n;
    });
    return out;
  }

  /** Rewrites the block; returns the table aggregated below its join, or throws Decline. */
  async rewrite(probe: TypedProbe, options: EagerOptions, root: JsonObject): Promise<string> {
    const node = structuredClone(this.node);
    this.checkShape(node);
    this.leaves = this.leavesOf(node.from_table as JsonObject, []);
    const expressions = [
      node.select_list,
      node.where_clause,
      node.group_expressions,
      node.having,
      node.modifiers,
    ];
    const calls = this.aggregates(expressions);
    for (const c of calls)
      if (this.aggregates(c.children).length > 0 || this.aggregates(c.filter).length > 0)
        throw new Decline('an aggregate inside an aggregate');
    const b = this.aggregatedTable(calls);
    const reducers = options.reducedBy(b.schema.name);
    if (reducers.length > 0)
      throw new Decline(`${b.schema.name}'s scan is reduced by the keys of ${reducers.join(', ')}`);
    const named = (o: JsonObject) =>
      o.type === 'BASE_TABLE' && String(o.table_name).toLowerCase() === b.schema.name.toLowerCase();
    if (objectsOf(root, named).length > 1)
      throw new Decline(`${b.schema.name} is read elsewhere in the query too`);
    const nullable = b.path.some(({ join, side }) => nullExtends(String(join.join_type), side));
    if (nullable) this.checkStrict(calls, b);

    const relations = [...new Map(this.leaves.map((l) => [l.schema.name, l.schema])).values()];
    const original = await probe.describe(node, relations);
    const moved = this.moveConjuncts(node, b, nullable);
    const keys = this.keysOf(node, b);
    if (keys.length === 0) throw new Decline(`${b.schema.name} is joined on none of its columns`);
    const groupArgs = calls.some((c) => c.distinct === true) ? 1 : 0;
    const groups = this.estimatedGroups(node, b, keys, groupArgs);
    if (b.schema.rows === undefined || groups * options.minReduction > b.schema.rows)
      throw new Decline(
        `grouped by ${keys.join(', ')}, ${b.schema.name} would keep about ${groups} of its ${b.schema.rows ?? 'unknown number of'} rows`,
      );

    const aggregateOnly = {
      ...node,
      select_list: calls,
      group_expressions: [],
      group_sets: [],
      having: null,
      modifiers: [],
    };
    const typed = await probe.describe({ ...aggregateOnly, where_clause: null }, relations);
    const castTypes = await probe.castTypes(typed.types);
    const decomposed = calls.map((c, i) => decompose(c, castTypes[i]));
    const names = this.partialNames(decomposed);
    const alias = String(b.ref.alias || b.ref.table_name);
    this.replaceLeaf(b, derivedTable(b, alias, keys, decomposed, names, moved));
    const merges = new Map(
      calls.map((c, i) => [treeKey(c), this.merge(c, decomposed[i], names[i], alias)] as const),
    );
    const replace = (t: unknown) =>
      mapExpressions(t as Tree, (n) => (this.isAggregate(n) ? merges.get(treeKey(n)) : undefined));
    node.select_list = (node.select_list as Tree[]).map((item, i) =>
      this.aggregates(item).length > 0
        ? aliased(replace(item), String(item.alias || original.names[i]))
        : item,
    );
    node.having = node.having === null ? null : replace(node.having);
    node.modifiers = replace(node.modifiers);

    const after = await probe.describe(node, relations);
    const same = after.names.every((n, i) => n === original.names[i] && after.types[i] === original.types[i]);
    if (!same || after.names.length !== original.names.length)
      throw new Decline(
        `the rewritten block would give ${after.types.join(', ')} where it gives ${original.types.join(', ')}`,
      );
    for (const k of Object.keys(this.node)) delete this.node[k];
    Object.assign(this.node, node);
    return b.schema.name;
  }

  private checkShape(node: JsonObject): void {
    if (node.sample !== null || node.qualify !== null) throw new Decline('a sample or QUALIFY');
    if (((node.cte_map as JsonObject).map as unknown[]).length > 0) throw new Decline('a CTE of its own');
    if (Array.isArray(node.group_sets) && node.group_sets.length > 1)
      throw new Decline('several grouping sets');
    for (const n of objectsOf(node, (o) => typeof o.class === 'string')) {
      if (n.class === 'SUBQUERY') throw new Decline('a subquery in the block');
      if (n.class === 'WINDOW') throw new Decline('a window function');
      if (n.class === 'STAR' || n.class === 'LAMBDA') throw new Decline(`a ${String(n.class).toLowerCase()}`);
      if (n.class === 'FUNCTION') {
        const name = String(n.function_name).toLowerCase();
        const facts = this.facts.get(name);
        if (facts?.volatile || facts?.macro || VOLATILE.has(name))
          throw new Decline(`${name}() is not deterministic or is a macro`);
      }
    }
  }

  private leavesOf(from: JsonObject, path: Leaf['path']): Leaf[] {
    if (from.sample !== null) throw new Decline('a sample');
    if (from.type === 'JOIN') {
      const plain = ['REGULAR', 'CROSS'].includes(String(from.ref_type));
      if (!plain || !JOIN_TYPES.has(String(from.join_type)) || (from.using_columns as unknown[]).length > 0)
        throw new Decline(`a ${String(from.join_type)} ${String(from.ref_type)} join or USING`);
      if (from.alias !== '') throw new Decline('an aliased join');
      return [
        ...this.leavesOf(from.left as JsonObject, [...path, { join: from, side: 'left' }]),
        ...this.leavesOf(from.right as JsonObject, [...path, { join: from, side: 'right' }]),
      ];
    }
    if (from.type !== 'BASE_TABLE') throw new Decline('a derived table or table function in the join');
    const table = String(from.table_name);
    const schema = this.schemas(table.toLowerCase());
    const renamed = (from.column_name_alias as unknown[]).length > 0;
    if (!schema || this.ctes.has(table.toLowerCase()) || from.schema_name !== '' || from.catalog_name !== '')
      throw new Decline(`${table} is not a catalog table by its bare name`);
    if (renamed || from.at_clause !== null) throw new Decline(`${table} renamed or read AT a version`);
    return [{ ref: from, name: String(from.alias || table).toLowerCase(), schema, path }];
  }

  /** The leaf whose column `ref` names; undefined for another name (an outer column, a select alias). */
  private ownerOf(ref: Tree): Leaf | undefined {
    const parts = (ref.column_names as string[]).map((p) => p.toLowerCase());
    const has = (l: Leaf, c: string) => l.schema.columns.some((x) => x.toLowerCase() === c);
    if (parts.length === 1) {
      const owners = this.leaves.filter((l) => has(l, parts[0]));
      if (owners.length > 1) throw new Decline(`${parts[0]} is a column of several tables`);
      return owners[0];
    }
    const leaf = parts.length === 2 ? this.leaves.find((l) => l.name === parts[0]) : undefined;
    if (leaf && has(leaf, parts[1])) return leaf;
    if (leaf || this.leaves.some((l) => has(l, parts[0])))
      throw new Decline(`${parts.join('.')} is a field or an unknown column`);
    if (parts.length > 2) throw new Decline(`${parts.join('.')} is qualified by a schema`);
    return undefined;
  }

  private ownersOf(tree: unknown): Set<Leaf | undefined> {
    return new Set(objectsOf(tree, (o) => o.class === 'COLUMN_REF').map((r) => this.ownerOf(r)));
  }

  /** The one table every aggregate reads (count(*) reads none). */
  private aggregatedTable(calls: Tree[]): Leaf {
    const read = new Set<Leaf | undefined>();
    for (const c of calls) {
      const owners = this.ownersOf([c.children, c.filter]);
      if (owners.size === 0 && String(c.function_name).toLowerCase() !== 'count_star')
        throw new Decline(`${c.function_name}() reads no column`);
      for (const o of owners) read.add(o);
    }
    if (read.has(undefined)) throw new Decline('an aggregate reads a column of no table of the join');
    const [b, ...more] = [...read] as Leaf[];
    if (b === undefined) throw new Decline('its aggregates read no table (count(*) only)');
    if (more.length > 0)
      throw new Decline(`its aggregates read ${[b, ...more].map((l) => l.name).join(' and ')}`);
    return b;
  }

  /** Where B can be NULL-extended, each aggregate ignores such a row (see the module comment). */
  private checkStrict(calls: Tree[], b: Leaf): void {
    for (const c of calls) {
      if (String(c.function_name).toLowerCase() === 'count_star') {
        if (c.filter !== null) throw new Decline(`count(*) FILTER over the NULL-extended ${b.name}`);
      } else if (!(c.children as Tree[]).every((a) => isStrict(a))) {
        throw new Decline(
          `${c.function_name}() of ${b.name}, which can be NULL-extended, is not NULL on its NULLs`,
        );
      }
    }
  }

  /** Takes out of `node` the conjuncts that only drop B's rows, and returns them. */
  private moveConjuncts(node: JsonObject, b: Leaf, nullable: boolean): Tree[] {
    const onlyB = (t: Tree) => {
      const owners = this.ownersOf(t);
      return owners.size === 1 && owners.has(b);
    };
    const moved: Tree[] = [];
    const take = (tree: Tree): Tree | undefined => {
      const terms = andTerms(tree);
      const kept = terms.filter((t) => !onlyB(t));
      moved.push(...terms.filter(onlyB));
      return kept.length === 0 ? undefined : and(kept);
    };
    // A join's ON may drop B's rows early where B is not preserved there, nor NULL-extended
    // below it (a NULL-extended row could pass the conjunct that B's own row failed).
    b.path.forEach(({ join, side }, i) => {
      const below = b.path.slice(i + 1).some((s) => nullExtends(String(s.join.join_type), s.side));
      if (!isJsonObject(join.condition) || !dropsRows(String(join.join_type), side) || below) return;
      join.condition = take(join.condition) ?? TRUE;
    });
    if (!nullable && isJsonObject(node.where_clause)) node.where_clause = take(node.where_clause) ?? null;
    return moved;
  }

  /** B's columns the block reads outside aggregate arguments, by B's own spelling. */
  private keysOf(node: JsonObject, b: Leaf): string[] {
    const outside = mapExpressions(
      [
        node.select_list,
        node.where_clause,
        node.group_expressions,
        node.having,
        node.modifiers,
        node.from_table,
      ] as unknown as Tree,
      (n) => (this.isAggregate(n) ? TRUE : undefined),
    );
    const keys = new Set<string>();
    for (const ref of objectsOf(outside, (o) => o.class === 'COLUMN_REF')) {
      if (this.ownerOf(ref) !== b) continue;
      const name = (ref.column_names as string[]).at(-1)!.toLowerCase();
      keys.add(b.schema.columns.find((c) => c.toLowerCase() === name)!);
    }
    return [...keys];
  }

  /**
   * At most how many groups B's pre-aggregation makes (see EagerOptions.minReduction); a
   * DISTINCT aggregate's argument (`distinctArgs`) is a key too.
   */
  private estimatedGroups(node: JsonObject, b: Leaf, keys: string[], distinctArgs: number): number {
    const own = b.schema.rows ?? Number.POSITIVE_INFINITY;
    const partners = new Map<string, number>();
    for (const eq of objectsOf([node.where_clause, node.from_table], (o) => o.type === 'COMPARE_EQUAL')) {
      const sides = [eq.left, eq.right] as Tree[];
      if (!sides.every((t) => t.class === 'COLUMN_REF')) continue;
      const [l, r] = sides.map((t) => this.ownerOf(t));
      const [key, other] = l === b ? [sides[0], r] : r === b ? [sides[1], l] : [undefined, undefined];
      if (!key || !other || other === b || other.schema.rows === undefined) continue;
      const name = (key.column_names as string[]).at(-1)!.toLowerCase();
      partners.set(name, Math.min(partners.get(name) ?? own, other.schema.rows));
    }
    const product = keys.reduce(
      (n, k) => n * (partners.get(k.toLowerCase()) ?? own),
      distinctArgs > 0 ? own : 1,
    );
    return Math.min(product, own);
  }

  /** Column names of each aggregate's group arguments and partials, none a column of the join. */
  private partialNames(decomposed: Decomposed[]): { groups: string[]; partials: string[] }[] {
    let next = 0;
    const name = () => `${PARTIAL_PREFIX}${next++}`;
    const taken = this.leaves.some((l) =>
      l.schema.columns.some((c) => c.toLowerCase().startsWith(PARTIAL_PREFIX)),
    );
    if (taken) throw new Decline(`a column named ${PARTIAL_PREFIX}…`);
    return decomposed.map((d) => ({ groups: d.groupArgs.map(name), partials: d.partials.map(name) }));
  }

  /** An aggregate's merge over the derived table's columns; a NULL count of B's rows is one row. */
  private merge(
    call: Tree,
    d: Decomposed,
    names: { groups: string[]; partials: string[] },
    alias: string,
  ): Tree {
    const countStar = String(call.function_name).toLowerCase() === 'count_star';
    const own = new Set([...names.groups, ...names.partials]);
    return mapExpressions(d.merge(names.groups, names.partials), (n) => {
      const parts = n.class === 'COLUMN_REF' ? (n.column_names as string[]) : [];
      if (parts.length !== 1 || !own.has(parts[0])) return undefined;
      const qualified = { ...n, column_names: [alias, parts[0]] };
      return countStar ? coalesce([qualified, integer(1)]) : qualified;
    });
  }

  private replaceLeaf(b: Leaf, derived: JsonObject): void {
    for (const k of Object.keys(b.ref)) delete b.ref[k];
    Object.assign(b.ref, derived);
  }
}

const TRUE: Tree = cast(
  {
    class: 'CONSTANT',
    type: 'VALUE_CONSTANT',
    alias: '',
    value: { type: { id: 'VARCHAR', type_info: null }, is_null: false, value: 't' },
  },
  { id: 'BOOLEAN', type_info: null },
);

/** Whether a join of type `type` can NULL-extend the rows of its `side`. */
function nullExtends(type: string, side: 'left' | 'right'): boolean {
  return type === 'FULL' || (side === 'left' ? type === 'RIGHT' : type === 'LEFT');
}

/** Whether a row of `side` that fails the join's condition is dropped (not preserved). */
function dropsRows(type: string, side: 'left' | 'right'): boolean {
  return type === 'INNER' || (side === 'left' ? type === 'RIGHT' : type === 'LEFT');
}

/** NULL whenever every column it reads is NULL: columns, constants, arithmetic, comparisons, casts. */
function isStrict(t: Tree): boolean {
  const columns = objectsOf(t, (o) => o.class === 'COLUMN_REF').length > 0;
  const strict = (n: Tree): boolean => {
    if (n.class === 'COLUMN_REF') return true;
    if (n.class === 'CONSTANT') return true;
    if (n.class === 'CAST') return n.try_cast === false && strict(n.child as Tree);
    if (n.class === 'COMPARISON')
      return STRICT_COMPARISONS.has(String(n.type)) && strict(n.left as Tree) && strict(n.right as Tree);
    if (n.class === 'FUNCTION' && n.is_operator === true && STRICT_OPERATORS.has(String(n.function_name)))
      return (n.children as Tree[]).every(strict);
    return false;
  };
  return columns && strict(t);
}

/** `(SELECT keys…, partials… FROM B WHERE moved GROUP BY keys…) AS alias`. */
function derivedTable(
  b: Leaf,
  alias: string,
  keys: string[],
  decomposed: Decomposed[],
  names: { groups: string[]; partials: string[] }[],
  moved: Tree[],
): JsonObject {
  const groups = decomposed.flatMap((d, i) => d.groupArgs.map((a, j) => aliased(a, names[i].groups[j])));
  const partials = decomposed.flatMap((d, i) => d.partials.map((p, j) => aliased(p, names[i].partials[j])));
  const grouped = keys.length + groups.length;
  const node = selectNode({
    select: [...keys.map(columnRef), ...groups, ...partials],
    from: { ...b.ref },
    where: moved.length > 0 ? and(moved) : undefined,
    groupBy: Array.from({ length: grouped }, (_, i) => integer(i + 1)),
  });
  return {
    type: 'SUBQUERY',
    alias,
    sample: null,
    subquery: { node, named_param_map: [] },
    column_name_alias: [],
  };
}
