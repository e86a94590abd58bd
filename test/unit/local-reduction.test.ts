/**
 * A source of keys sent whole is narrowed here by its own reductions before its keys are
 * read: only by sources that never wait for keys and are in hand, through chains, never
 * around a cycle; the rows left are exactly those with a partner in every such source. Such
 * a source is a small table without a predicate of its own.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalReductions,
  locallyReduced,
  type SourceProgress,
} from '../../src/coordinator/execute/local-reduction.js';
import { sentWhole } from '../../src/coordinator/execute/reduction-schedule.js';
import type { SemiJoinReduction } from '../../src/coordinator/plan/analyze/index.js';

const REDUCTIONS: SemiJoinReduction[] = [
  { table: 'nation', column: 'n_regionkey', source: 'region', sourceColumn: 'r_regionkey' },
  { table: 'supplier', column: 's_nationkey', source: 'nation', sourceColumn: 'n_nationkey' },
  // The reverse ones: a cycle the narrowing must not follow back.
  { table: 'region', column: 'r_regionkey', source: 'nation', sourceColumn: 'n_regionkey' },
  { table: 'nation', column: 'n_nationkey', source: 'supplier', sourceColumn: 's_nationkey' },
];

let db: DuckDBInstance;
let con: DuckDBConnection;

beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:');
  con = await db.connect();
  // region gathered with its own predicate (one region); nation and supplier whole.
  await con.run(`CREATE TEMP TABLE region AS SELECT 3 AS r_regionkey;
    CREATE TEMP TABLE nation AS SELECT i AS n_nationkey, i % 5 AS n_regionkey FROM range(25) t(i);
    CREATE TEMP TABLE supplier AS SELECT i AS s_suppkey, i % 25 AS s_nationkey FROM range(1000) t(i)`);
});

afterAll(() => {
  con.closeSync();
  db.closeSync();
});

const never = new Promise<never>(() => {});

/** Every source in hand and sent without waiting for keys, but those in `waiting` or `large`. */
function sources(opts: { waiting?: string[]; large?: string[] } = {}): LocalReductions {
  return {
    reductionsOf: (table) => REDUCTIONS.filter((r) => r.table === table),
    progress: (source): SourceProgress => {
      const large = opts.large?.includes(source) ?? false;
      const gathered = large ? never : Promise.resolve();
      return {
        in: gathered,
        ended: gathered,
        rowsIn: gathered,
        rows: () => (large ? 300_000 : 10),
        holds: Promise.resolve(false),
        large: large ? Promise.resolve() : never,
        independent: Promise.resolve(!opts.waiting?.includes(source)),
      };
    },
  };
}

async function keysOf(sql: string): Promise<number[]> {
  const reader = await con.runAndReadAll(`SELECT DISTINCT s_nationkey FROM ${sql} ORDER BY 1`);
  return reader.getRows().map((r) => Number(r[0]));
}

describe('locallyReduced', () => {
  it('narrows a source through the chain of its sources in hand', async () => {
    const relation = await locallyReduced('supplier', sources());
    expect(relation.applied).toEqual(['nation.n_nationkey', 'region.r_regionkey']);
    expect(await keysOf(relation.sql)).toEqual([3, 8, 13, 18, 23]);
  });

  it('reads no source that waits for keys, nor one proved large', async () => {
    for (const opts of [{ waiting: ['nation'] }, { large: ['nation'] }]) {
      const relation = await locallyReduced('supplier', sources(opts));
      expect(relation).toEqual({ sql: 'temp.main."supplier"', applied: [] });
    }
    const relation = await locallyReduced('supplier', sources({ waiting: ['region'] }));
    expect(relation.applied).toEqual(['nation.n_nationkey']);
    expect(await keysOf(relation.sql)).toHaveLength(25);
  });
});

describe('sentWhole', () => {
  it('sends a small table without a predicate whole, never one with a predicate or a large one', () => {
    const plan = { table: 'nation', columns: ['n_nationkey'] };
    expect(sentWhole({ name: 'nation', rowCount: 25 }, plan)).toMatch(/^none: nation has 25 rows/);
    expect(
      sentWhole({ name: 'nation', rowCount: 25 }, { ...plan, where: 'n_nationkey < 3' }),
    ).toBeUndefined();
    expect(sentWhole({ name: 'nation', rowCount: 1_001 }, plan)).toBeUndefined();
  });
});
