/**
 * Which WHERE/ON conjuncts may filter which table scan.
 *
 * The coordinator runs the user's SQL unchanged over tables that hold only the pushed rows, so
 * a conjunct P may be pushed to a table use U when removing U's rows that fail P cannot change
 * the result of the clause where P is evaluated (P still runs there):
 * - WHERE: U must not be on the null-supplying side of any outer join of its FROM (a removed
 *   row would turn a joined row into a NULL-extended one, which P might accept);
 * - ON of an INNER/CROSS join: U anywhere below the join, not null-supplied below it;
 * - ON of a LEFT (RIGHT) join: only uses on the right (left) side, not null-supplied below;
 *   a conjunct on the preserved side never filters that side's rows, so it is not pushed;
 * - ON of a FULL join, and of ASOF/POSITIONAL/SEMI/ANTI joins: nothing.
 * The conjunct itself must be about that one use: no subquery, aggregate, window, parameter,
 * lambda, `*`, volatile function, unknown construct, and each column resolved to that use.
 */
import { VOLATILE } from './functions.js';
import type { Expr, From } from './ir.js';

/** The AND-conjuncts of an expression (nested ANDs flattened). */
export function splitAnd(e: Expr | undefined): Expr[] {
  if (!e) return [];
  if (e.k === 'and') return e.args.flatMap((a) => splitAnd(a));
  return [e];
}

export interface Placement<U> {
  /** Uses a WHERE conjunct may be pushed to. */
  where: Set<U>;
  /** Per join node: uses an ON conjunct of that join may be pushed to. */
  on: Map<From, Set<U>>;
  /** Uses on the null-supplying side of some outer join of this FROM. */
  nullable: Set<U>;
  /**
   * Per join node: the uses an ON equality may reduce a use of `on` by (reductions.ts): uses
   * not NULL-extended below the join, on both sides of INNER/CROSS, the left side of LEFT, the
   * right side of RIGHT, none of FULL and the others.
   */
  onSource: Map<From, Set<U>>;
}

/** Where the conjuncts of one SELECT may go, given the base-table use of each table node. */
export function place<U>(from: From, useOf: (f: From) => U | undefined): Placement<U> {
  const on = new Map<From, Set<U>>();
  const onSource = new Map<From, Set<U>>();
  type Entry = { use: U; nullable: boolean };
  const collect = (f: From): Entry[] => {
    if (f.k === 'table' || f.k === 'subquery') {
      const u = useOf(f);
      return u === undefined ? [] : [{ use: u, nullable: false }];
    }
    if (f.k !== 'join') return [];
    const left = collect(f.left);
    const right = collect(f.right);
    const preserved = (xs: Entry[]) => new Set(xs.filter((x) => !x.nullable).map((x) => x.use));
    const nulled = (xs: Entry[]) => xs.map((x) => ({ use: x.use, nullable: true }));
    switch (f.type) {
      case 'inner':
      case 'cross':
        on.set(f, preserved([...left, ...right]));
        onSource.set(f, preserved([...left, ...right]));
        return [...left, ...right];
      case 'left':
        on.set(f, preserved(right));
        onSource.set(f, preserved(left));
        return [...left, ...nulled(right)];
      case 'right':
        on.set(f, preserved(left));
        onSource.set(f, preserved(right));
        return [...nulled(left), ...right];
      default:
        on.set(f, new Set());
        onSource.set(f, new Set());
        return [...nulled(left), ...nulled(right)];
    }
  };
  const all = collect(from);
  return {
    where: new Set(all.filter((x) => !x.nullable).map((x) => x.use)),
    on,
    nullable: new Set(all.filter((x) => x.nullable).map((x) => x.use)),
    onSource,
  };
}

/**
 * The single use a conjunct is about: `undefined` when it cannot be pushed at all, `null` when
 * it references no column (a constant condition, pushable to any target), else the use.
 * `resolve` maps a column reference to the local use it denotes, or undefined.
 */
export function conjunctUse<U>(e: Expr, resolve: (parts: string[]) => U | undefined): U | null | undefined {
  const uses = new Set<U>();
  const ok = (x: Expr): boolean => {
    switch (x.k) {
      case 'col': {
        const u = resolve(x.parts);
        if (u === undefined) return false;
        uses.add(u);
        return true;
      }
      case 'fn':
        if (x.agg || x.window || VOLATILE.has(x.name)) return false;
        return x.args.every(ok);
      case 'and':
      case 'op':
        return x.args.every(ok);
      default:
        return false;
    }
  };
  if (!ok(e) || uses.size > 1) return undefined;
  return uses.size === 0 ? null : [...uses][0];
}
