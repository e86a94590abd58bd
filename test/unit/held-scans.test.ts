/**
 * Which scans hold their rows for the keys of later scans (two-way semi-joins): a scan that
 * feeds keys forward, a later scan that reduces it and is narrowed by more than its own keys,
 * integer keys, a container that can hold; never the last scan of a chain.
 */
import { describe, expect, it } from 'vitest';
import { type HoldingOptions, heldScans } from '../../src/coordinator/execute/held-scans.js';
import type { SemiJoinReduction } from '../../src/coordinator/plan/analyze/index.js';

const r = (table: string, column: string, source: string, sourceColumn: string): SemiJoinReduction => ({
  table,
  column,
  source,
  sourceColumn,
});

// TPC-H Q3: customer (own predicate) → orders (own predicate) → lineitem (own predicate).
const FORWARD = [
  r('orders', 'o_custkey', 'customer', 'c_custkey'),
  r('lineitem', 'l_orderkey', 'orders', 'o_orderkey'),
];
const BACKWARD = [
  r('customer', 'c_custkey', 'orders', 'o_custkey'),
  r('orders', 'o_orderkey', 'lineitem', 'l_orderkey'),
];

function options(overrides: Partial<HoldingOptions> = {}): HoldingOptions {
  return {
    order: ['customer', 'orders', 'lineitem'],
    reductions: FORWARD,
    candidates: [...FORWARD, ...BACKWARD],
    narrowed: new Set(['customer', 'orders', 'lineitem']),
    mayHold: () => true,
    integer: () => true,
    scanned: () => true,
    above: 20_000,
    ...overrides,
  };
}

describe('heldScans', () => {
  it('holds every scan of a chain but the last, each narrowed by the next', () => {
    const held = heldScans(options());
    expect([...held.keys()]).toEqual(['customer', 'orders']);
    expect(held.get('customer')).toEqual({ first: ['c_custkey'], backward: [BACKWARD[0]], above: 20_000 });
    expect(held.get('orders')).toEqual({ first: ['o_orderkey'], backward: [BACKWARD[1]], above: 20_000 });
  });

  it('holds nothing for a later scan narrowed only by its own keys', () => {
    // lineitem without a predicate, reduced by orders alone: its keys are among orders' own.
    const held = heldScans(options({ narrowed: new Set(['customer', 'orders']) }));
    expect([...held.keys()]).toEqual(['customer']);
  });

  it('holds for a later scan that may take keys of a filtered scan sent at once (TPC-H Q8: lineitem by part)', () => {
    // lineitem has no predicate; its only scheduled reduction is by orders, but part (filtered,
    // gathered last) may reduce it where part is sent at once.
    const byPart = r('lineitem', 'l_partkey', 'part', 'p_partkey');
    const held = heldScans(
      options({
        order: ['customer', 'orders', 'lineitem', 'part'],
        candidates: [...FORWARD, ...BACKWARD, byPart],
        narrowed: new Set(['customer', 'orders', 'part']),
      }),
    );
    expect(held.get('orders')?.backward).toEqual([BACKWARD[1]]);
  });

  it('holds nothing where the keys are not integers, the container cannot hold, or the later scan is a copy', () => {
    expect(heldScans(options({ integer: (scan) => scan !== 'orders' })).has('orders')).toBe(false);
    expect(heldScans(options({ integer: (_s, column) => column !== 'o_orderkey' })).has('orders')).toBe(
      false,
    );
    expect(heldScans(options({ mayHold: (scan) => scan !== 'customer' })).has('customer')).toBe(false);
    expect(heldScans(options({ scanned: (scan) => scan !== 'lineitem' })).has('orders')).toBe(false);
  });

  it('takes keys back only from scans gathered after it', () => {
    // orders first: customer's keys, as lineitem's, can only come back to it.
    const held = heldScans(options({ order: ['orders', 'customer', 'lineitem'], reductions: [FORWARD[1]] }));
    expect(held.get('orders')?.backward).toEqual([FORWARD[0], BACKWARD[1]]);
    // customer feeds no scan forward: it has no keys to send first.
    expect(held.has('customer')).toBe(false);
  });
});
