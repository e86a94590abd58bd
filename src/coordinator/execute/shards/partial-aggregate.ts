/**
 * Exact partial aggregation of a query over one table split into parts (issue 16).
 *
 * `partSql` runs in every part's container over the table's own name; the coordinator
 * gathers every part's rows into TEMP table `__partials`, columns named c0, c1…; `mergeSql`
 * over it gives exactly what `sql` gives over the whole table: same column names and types,
 * same rows, same order where the query orders.
 * - Aggregate queries: the parts group by the query's keys (and the arguments of DISTINCT
 *   aggregates) and compute partial aggregates (aggregate-merge.ts); the merge groups the
 *   partial rows by the keys and computes each select item, HAVING, ORDER BY, LIMIT, OFFSET.
 * - Other queries: the parts filter and project (DISTINCT again in each part; with ORDER BY …
 *   LIMIT n OFFSET m, their own top n+m; a LIMIT without ORDER BY, any n+m rows); the merge
 *   does DISTINCT, ORDER BY, LIMIT and OFFSET again.
 * Everything is rewritten on DuckDB's own tree (json_serialize_sql) and printed by DuckDB
 * (json_deserialize_sql). Before a plan is returned, DuckDB's binder checks that the merge
 * over the parts' column types has the query's column names and types (typed-probe.ts).
 * Anything that would not be exact returns `{reason}`.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { serializedSql } from '../../../duckdb/parse-tree.js';
import { isJsonObject, type JsonObject } from '../../../json-object.js';
import { withoutLocations } from '../../plan/analyze/print.js';
import { type Tree, treeKey } from '../../plan/analyze/trees.js';
import { type Decomposed, decompose, isDecomposableName } from './aggregate-merge.js';
import { functionFacts } from './function-facts.js';
import {
  Decline,
  type OrderDefaults,
  type SingleTableQuery,
  SingleTableReader,
  type TableSchema,
} from './single-table-query.js';
import {
  aliased,
  baseTable,
  columnRef,
  DISTINCT_MODIFIER,
  expressionNodes,
  integer,
  limitModifier,
  mapExpressions,
  type OrderTerm,
  orderModifier,
  selectNode,
} from './tree-nodes.js';
import { type Described, TypedProbe } from './typed-probe.js';

export interface PartialPlan {
  partSql: string;
  mergeSql: string;
  description: string;
  /** The parts send fewer rows than a scan with the same filter (aggregates, DISTINCT, LIMIT). */
  reducesRows: boolean;
}

export const PARTIALS_TABLE = '__partials';

export async function planPartialAggregate(
  sql: string,
  table: TableSchema,
  con: DuckDBConnection,
  partialsTable = PARTIALS_TABLE,
): Promise<PartialPlan | { reason: string }> {
  try {
    return await plan(sql, table, con, partialsTable);
  } catch (err) {
    if (err instanceof Decline) return { reason: err.message };
    throw err;
  }
}

async function plan(
  sql: string,
  table: TableSchema,
  con: DuckDBConnection,
  partialsTable: string,
): Promise<PartialPlan> {
  const node = statementNode(withoutLocations(await serializedSql(con, sql)));
  const facts = await functionFacts(con);
  const isAggregateName = (name: string) => facts.get(name)?.aggregate === true || isDecomposableName(name);
  const reader = new SingleTableReader(node, table, facts, isAggregateName, await orderDefaults(con));
  const query = reader.read();
  const isAggregate = (t: Tree) => reader.isAggregate(t);
  const calls = query.aggregate ? aggregateCalls(query, isAggregate) : [];

  // The query's own column names and types, and its aggregates' types, from DuckDB's binder.
  const probe = new TypedProbe(con);
  const relation = { name: table.name, columns: table.columns, types: table.types };
  const bare = {
    ...node,
    select_list: [...(node.select_list as Tree[]), ...calls.map((c) => aliased(c, ''))],
    from_table: { ...(node.from_table as JsonObject), schema_name: '', catalog_name: '' },
  };
  const described = await probe.describe(bare, relation);
  const width = described.names.length - calls.length;
  const wanted = { names: described.names.slice(0, width), types: described.types.slice(0, width) };

  const built = query.aggregate
    ? aggregatePlan(
        query,
        wanted.names,
        isAggregate,
        calls,
        await probe.castTypes(described.types.slice(width)),
      )
    : rowPlan(query, wanted.names);
  const part = selectNode({ ...built.part, from: baseTable(table.name) });
  const partColumns = await probe.describe(part, relation, [part]);
  const merge = selectNode({ ...built.merge, from: baseTable(partialsTable, 'main', 'temp') });
  const partials = { name: partialsTable, columns: partColumns.names, types: partColumns.types };
  const got = await probe.describe(selectNode({ ...built.merge, from: baseTable(partialsTable) }), partials, [
    merge,
  ]);
  checkSameColumns(got, wanted);
  checkNoClash(built.merge, wanted.names);
  const [partSql, mergeSql] = [partColumns.texts[0], got.texts[0]];
  await probe.checkPrinted([
    { node: part, sql: partSql },
    { node: merge, sql: mergeSql },
  ]);
  return { partSql, mergeSql, description: built.description, reducesRows: built.reducesRows };
}

/** Every distinct aggregate call of the select list, HAVING and ORDER BY. */
function aggregateCalls(q: SingleTableQuery, isAggregate: (t: Tree) => boolean): Tree[] {
  const calls = new Map<string, Tree>();
  const scan = (tree: Tree) =>
    mapExpressions(tree, (n) => {
      if (!isAggregate(n)) return undefined;
      if (expressionNodes(n).some((inner) => inner !== n && isAggregate(inner)))
        throw new Decline('an aggregate inside an aggregate');
      calls.set(treeKey(n), n);
      return n;
    });
  for (const tree of [...q.items.map((i) => i.expr), ...(q.having ? [q.having] : []), ...orderExprs(q)])
    scan(tree);
  if (q.keys.length === 0 && calls.size === 0)
    throw new Decline('an aggregate query with neither keys nor aggregates');
  return [...calls.values()];
}

type Clauses = Omit<Parameters<typeof selectNode>[0], 'from'>;

interface Built {
  part: Clauses;
  merge: Clauses;
  description: string;
  reducesRows: boolean;
}

/** The part's select list: named c0, c1… in order, deduplicated. */
class PartColumns {
  readonly trees: Tree[] = [];
  private readonly byKey = new Map<string, string>();

  add(tree: Tree): string {
    const key = treeKey(tree);
    let name = this.byKey.get(key);
    if (name === undefined) {
      name = `c${this.trees.length}`;
      this.byKey.set(key, name);
      this.trees.push(tree);
    }
    return name;
  }

  select(): Tree[] {
    return this.trees.map((t, i) => aliased(t, `c${i}`));
  }
}

/** `calls`: the query's aggregates, `castTypes` the cast_type of each one's type in the query. */
function aggregatePlan(
  q: SingleTableQuery,
  outputNames: string[],
  isAggregate: (t: Tree) => boolean,
  callList: Tree[],
  castTypes: JsonObject[],
): Built {
  const decomposed = callList.map((c, i) => decompose(c, castTypes[i]));

  const columns = new PartColumns();
  const keyColumns = q.keys.map((k) => columns.add(k));
  const groupColumns = decomposed.map((d) => d.groupArgs.map((a) => columns.add(a)));
  const groupCount = columns.trees.length;
  const partialColumns = decomposed.map((d) => d.partials.map((p) => columns.add(p)));
  const mergeOf = new Map<string, Tree>(
    callList.map((c, i) => [treeKey(c), decomposed[i].merge(groupColumns[i], partialColumns[i])]),
  );
  const keyIndex = new Map(q.keys.map((k, i) => [treeKey(k), keyColumns[i]]));
  const rewrite = (tree: Tree): Tree =>
    aliased(
      mapExpressions(tree, (n) => {
        const key = treeKey(n);
        const column = keyIndex.get(key);
        if (column !== undefined) return columnRef(column);
        if (isAggregate(n)) return mergeOf.get(key);
        if (n.class === 'COLUMN_REF')
          throw new Decline(`${(n.column_names as string[]).join('.')} is neither grouped nor aggregated`);
        return undefined;
      }),
      '',
    );

  const modifiers: JsonObject[] = [];
  if (q.distinct) modifiers.push(DISTINCT_MODIFIER);
  if (q.orders.length > 0)
    modifiers.push(
      orderModifier(
        q.orders.map((o) => ({
          expression: o.item !== undefined ? integer(o.item + 1) : rewrite(o.expr!),
          descending: o.descending,
          nullsFirst: o.nullsFirst,
        })),
      ),
    );
  if (q.limit !== undefined || q.offset > 0) modifiers.push(limitModifier(q.limit, q.offset));
  const topGroups = groupCount === q.keys.length ? partTopGroups(q) : [];
  const cut = topGroups.length > 0 ? `; each part keeps its first ${q.limit! + q.offset} groups` : '';
  return {
    part: {
      select: columns.select(),
      where: q.where,
      groupBy: groupCount > 0 ? columns.trees.slice(0, groupCount).map((_, i) => integer(i + 1)) : undefined,
      modifiers: topGroups,
    },
    merge: {
      select: q.items.map((it, i) => aliased(rewrite(it.expr), outputNames[i])),
      groupBy: q.keys.length > 0 ? keyColumns.map(columnRef) : undefined,
      having: q.having ? rewrite(q.having) : undefined,
      modifiers,
    },
    description: describeAggregate(q, callList, decomposed, groupCount) + cut,
    reducesRows: true,
  };
}

/**
 * ORDER BY every group key (only keys) with LIMIT n OFFSET m, without HAVING or DISTINCT, the
 * parts grouping by the keys alone: a group's rank among a part's groups is at most its rank
 * among all groups, so each part's first n+m groups hold every partial row of the answer.
 */
function partTopGroups(q: SingleTableQuery): JsonObject[] {
  if (q.limit === undefined || q.having || q.distinct || q.keys.length === 0) return [];
  const position = new Map(q.keys.map((k, i) => [treeKey(k), i + 1]));
  const terms: OrderTerm[] = [];
  for (const o of q.orders) {
    const at = position.get(treeKey(o.item !== undefined ? q.items[o.item].expr : o.expr!));
    if (at === undefined) return [];
    terms.push({ expression: integer(at), descending: o.descending, nullsFirst: o.nullsFirst });
  }
  const covered = new Set(terms.map((t) => treeKey(t.expression)));
  if (covered.size !== q.keys.length) return [];
  return [orderModifier(terms), limitModifier(q.limit + q.offset, 0)];
}

/** A query without aggregates: the parts filter and project, cut to n+m rows where they may. */
function rowPlan(q: SingleTableQuery, outputNames: string[]): Built {
  const select = q.items.map((it) => it.expr);
  // An ORDER BY expression that is no select item: an extra column of the part.
  const extra = q.orders.map((o) => (o.expr === undefined ? undefined : select.push(o.expr) - 1));
  if (q.distinct && extra.some((e) => e !== undefined))
    throw new Decline('SELECT DISTINCT ordered by an expression it does not select');
  const terms = (ref: (column: number) => Tree): OrderTerm[] =>
    q.orders.map((o, j) => ({
      expression: o.item !== undefined ? integer(o.item + 1) : ref(extra[j]!),
      descending: o.descending,
      nullsFirst: o.nullsFirst,
    }));
  const partModifiers: JsonObject[] = q.distinct ? [DISTINCT_MODIFIER] : [];
  if (q.limit !== undefined) {
    // Each part's first n+m rows in the query's order hold every row of the answer.
    if (q.orders.length > 0) partModifiers.push(orderModifier(terms((c) => integer(c + 1))));
    partModifiers.push(limitModifier(q.limit + q.offset, 0));
  }
  const mergeModifiers: JsonObject[] = q.distinct ? [DISTINCT_MODIFIER] : [];
  if (q.orders.length > 0) mergeModifiers.push(orderModifier(terms((c) => columnRef(`c${c}`))));
  if (q.limit !== undefined || q.offset > 0) mergeModifiers.push(limitModifier(q.limit, q.offset));
  const cut = q.limit === undefined ? '' : `; each part keeps its first ${q.limit + q.offset} rows`;
  return {
    part: { select: select.map((t, i) => aliased(t, `c${i}`)), where: q.where, modifiers: partModifiers },
    merge: {
      select: q.items.map((_, i) => aliased(columnRef(`c${i}`), outputNames[i])),
      modifiers: mergeModifiers,
    },
    description: `rows filtered and projected in each part${q.distinct ? ', DISTINCT in each part and again' : ''}${cut}`,
    reducesRows: q.distinct || q.limit !== undefined,
  };
}

function orderExprs(q: SingleTableQuery): Tree[] {
  return q.orders.flatMap((o) => (o.expr ? [o.expr] : []));
}

function describeAggregate(
  q: SingleTableQuery,
  calls: Tree[],
  decomposed: Decomposed[],
  groupCount: number,
): string {
  const distinctArgs = groupCount - q.keys.length;
  const grouping =
    groupCount === 0
      ? 'one partial row per part'
      : `parts group by ${q.keys.length} key${q.keys.length === 1 ? '' : 's'}${
          distinctArgs > 0 ? ` and ${distinctArgs} DISTINCT argument${distinctArgs === 1 ? '' : 's'}` : ''
        }`;
  const names = [...new Set(calls.map((c) => String(c.function_name).toLowerCase()))];
  const partials = decomposed.reduce((n, d) => n + d.partials.length, 0);
  const after = [
    q.having && 'HAVING',
    q.orders.length > 0 && 'ORDER BY',
    q.limit !== undefined && 'LIMIT',
    q.offset > 0 && 'OFFSET',
  ]
    .filter(Boolean)
    .join(', ');
  return `partial aggregation: ${grouping}; ${names.join(', ') || 'no aggregates'} from ${partials} partial aggregate${
    partials === 1 ? '' : 's'
  }${after ? `; ${after} after the merge` : ''}`;
}

function statementNode(tree: unknown): JsonObject {
  if (!isJsonObject(tree) || tree.error === true) throw new Decline('DuckDB cannot parse the query');
  const statements = Array.isArray(tree.statements) ? tree.statements : [];
  const node = statements.length === 1 && isJsonObject(statements[0]) ? statements[0].node : undefined;
  if (!isJsonObject(node)) throw new Decline('not a single statement');
  if (node.type !== 'SELECT_NODE')
    throw new Decline(`a ${String(node.type).toLowerCase().replace('_node', '')} query`);
  return node;
}

async function orderDefaults(con: DuckDBConnection): Promise<OrderDefaults> {
  const reader = await con.runAndReadAll(
    "SELECT lower(current_setting('default_order')), lower(current_setting('default_null_order'))",
  );
  const [order, nulls] = reader.getRows()[0].map(String);
  return { descending: order.startsWith('desc'), nullOrder: nulls };
}

function checkSameColumns(got: Described, wanted: Described): void {
  for (let i = 0; i < Math.max(got.names.length, wanted.names.length); i++) {
    if (got.names[i] !== wanted.names[i] || got.types[i] !== wanted.types[i])
      throw new Decline(
        `the merge would give ${got.names[i]} ${got.types[i]} where the query gives ${wanted.names[i]} ${wanted.types[i]}`,
      );
  }
}

/** The merge's HAVING and ORDER BY name partial columns; an output alias of that name would bind first. */
function checkNoClash(merge: Clauses, outputNames: string[]): void {
  const referenced = new Set(
    expressionNodes([merge.having ?? null, merge.modifiers ?? []])
      .filter((n) => n.class === 'COLUMN_REF')
      .map((n) => String((n.column_names as string[])[0]).toLowerCase()),
  );
  const clash = outputNames.find((n) => referenced.has(n.toLowerCase()));
  if (clash) throw new Decline(`the output column ${clash} has the name of a partial column`);
}
