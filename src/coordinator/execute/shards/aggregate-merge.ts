/**
 * How each aggregate splits into partial aggregates computed in every part and an expression
 * over the gathered partial rows that gives exactly its value:
 * - count(*), count(x): the sum of the parts' counts, 0 (not NULL) over no rows;
 * - sum(x), fsum(x), count_if(x): the sum of the parts' (NULL over no rows or, for sums, when
 *   every x is NULL, as DuckDB's own);
 * - avg(x): sum over count, in DOUBLE as DuckDB's avg of a number;
 * - min, max, bool_and, bool_or, bit_and, bit_or, bit_xor: the same aggregate of the parts';
 * - count/sum/avg/fsum/bit_xor(DISTINCT x): x becomes a group key of the parts and the merge
 *   aggregates the distinct x it gathers (a FILTER becomes bool_or(filter) per x). DISTINCT
 *   does not change min, max, bool_*, bit_and, bit_or.
 * FILTER (WHERE …) of a non-DISTINCT aggregate stays on the part's aggregate. Every other
 * aggregate declines, with the reason.
 */
import type { JsonObject } from '../../../json-object.js';
import type { Tree } from '../../plan/analyze/trees.js';
import { Decline } from './single-table-query.js';
import { call, cast, coalesce, columnRef, DOUBLE_TYPE, integer } from './tree-nodes.js';

/**
 * How an aggregate merges: `count` sums the parts' counts (0 over no rows), `sum` sums them
 * with `merge` (NULL over no rows, as count_if too), `avg` divides a sum by a count, `same`
 * takes the same aggregate of the parts'. `name`: what the parts call; `idempotent`: DISTINCT
 * changes nothing.
 */
interface Rule {
  kind: 'count' | 'sum' | 'avg' | 'same';
  name: string;
  merge?: string;
  idempotent?: boolean;
}

const RULES: ReadonlyMap<string, Rule> = new Map<string, Rule>([
  ['count_star', { kind: 'count', name: 'count_star' }],
  ['count', { kind: 'count', name: 'count' }],
  ['count_if', { kind: 'sum', name: 'count_if', merge: 'sum' }],
  ['countif', { kind: 'sum', name: 'count_if', merge: 'sum' }],
  ['sum', { kind: 'sum', name: 'sum', merge: 'sum' }],
  ['fsum', { kind: 'sum', name: 'fsum', merge: 'fsum' }],
  ['sumkahan', { kind: 'sum', name: 'fsum', merge: 'fsum' }],
  ['kahan_sum', { kind: 'sum', name: 'fsum', merge: 'fsum' }],
  ['avg', { kind: 'avg', name: 'avg' }],
  ['mean', { kind: 'avg', name: 'avg' }],
  ['min', { kind: 'same', name: 'min', idempotent: true }],
  ['max', { kind: 'same', name: 'max', idempotent: true }],
  ['bool_and', { kind: 'same', name: 'bool_and', idempotent: true }],
  ['bool_or', { kind: 'same', name: 'bool_or', idempotent: true }],
  ['bit_and', { kind: 'same', name: 'bit_and', idempotent: true }],
  ['bit_or', { kind: 'same', name: 'bit_or', idempotent: true }],
  ['bit_xor', { kind: 'same', name: 'bit_xor' }],
]);

/** Aggregates that do not merge exactly, by why. */
const WHY_NOT: [RegExp, string][] = [
  [/^(median|quantile.*|percentile.*|mode|mad|reservoir_quantile|histogram.*)$/, 'needs every value at once'],
  [/^approx_/, 'is approximate'],
  [/^(string_agg|group_concat|listagg|list|array_agg|json_group_.*|bitstring_agg)$/, 'depends on row order'],
  [/^(first|last|any_value|arbitrary|arg_.*|argm.*|max_by|min_by)$/, 'picks a row that depends on row order'],
  [
    /^(stddev.*|var.*|variance|sem|skewness|kurtosis.*|corr|covar.*|regr_.*|entropy|product|geomean|geometric_mean|favg|weighted_avg|wavg)$/,
    'does not merge exactly from partial results',
  ],
];

export function isDecomposableName(name: string): boolean {
  return RULES.has(name);
}

/** What one aggregate needs from the parts, and how the merge computes it from their columns. */
export interface Decomposed {
  /** Group keys the parts add (a DISTINCT aggregate's argument). */
  groupArgs: Tree[];
  /** Aggregates each part computes. */
  partials: Tree[];
  /** The merge's expression, given the columns that hold `groupArgs` and `partials`. */
  merge(groupColumns: string[], partialColumns: string[]): Tree;
}

/**
 * `aggregate` (a FUNCTION node over the table's columns), `resultType` the `cast_type` of its
 * type in the query (the merge is cast to it, so that sums of sums keep DuckDB's types).
 */
export function decompose(aggregate: Tree, resultType: JsonObject): Decomposed {
  const name = String(aggregate.function_name).toLowerCase();
  const found = RULES.get(name);
  if (!found) {
    const why = WHY_NOT.find(([re]) => re.test(name))?.[1] ?? 'has no exact merge here';
    throw new Decline(`${name}() ${why}`);
  }
  const orders = (aggregate.order_bys as JsonObject | null)?.orders;
  if (Array.isArray(orders) && orders.length > 0) throw new Decline(`ORDER BY inside ${name}()`);
  const args = (aggregate.children as Tree[]) ?? [];
  const filter = (aggregate.filter as Tree | null) ?? undefined;
  if (name === 'count_star' ? args.length !== 0 : args.length !== 1)
    throw new Decline(`${name}() with ${args.length} arguments`);
  const typed = (t: Tree) => cast(t, resultType);
  const c = (column: string) => columnRef(column);
  const partial = (fn: string) => call(fn, args, { filter });

  if (aggregate.distinct === true && !found.idempotent) {
    if (found.name === 'count_if') throw new Decline('count_if(DISTINCT …)');
    return {
      groupArgs: [args[0]],
      // Any row of the part that passes the FILTER makes its x count.
      partials: filter ? [call('bool_or', [filter])] : [],
      merge: ([x], [passes]) =>
        typed(
          call(found.name, [c(x)], { distinct: true, filter: passes === undefined ? undefined : c(passes) }),
        ),
    };
  }
  switch (found.kind) {
    case 'count':
      return {
        groupArgs: [],
        partials: [partial(found.name)],
        merge: (_, [n]) => typed(coalesce([call('sum', [c(n)]), integer(0)])),
      };
    case 'sum':
      return {
        groupArgs: [],
        partials: [partial(found.name)],
        merge: (_, [s]) => typed(call(found.merge!, [c(s)])),
      };
    case 'avg':
      if (resultType.id !== 'DOUBLE') throw new Decline('avg() of a value that is not a number');
      return {
        groupArgs: [],
        partials: [partial('sum'), partial('count')],
        merge: (_, [s, n]) =>
          call('/', [cast(call('sum', [c(s)]), DOUBLE_TYPE), cast(call('sum', [c(n)]), DOUBLE_TYPE)], {
            operator: true,
          }),
      };
    default:
      return { groupArgs: [], partials: [partial(found.name)], merge: (_, [v]) => call(found.name, [c(v)]) };
  }
}
