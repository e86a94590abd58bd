/**
 * Branch codes, both ways (a requester's OR split by branch, TPC-H Q19): key sets whose codes
 * say which branch each key's row satisfied (`ScanKeys.branches`) keep the rows DuckDB's own
 * join with a VALUES list of (key, code) keeps; a keysFirst scan's `keysFirstBranches` code
 * the held rows in keys frames lined up with their keys, and never in the schema or the data.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedTable } from '../../src/bench/generated-table.js';
import { executeScan, type FrameSink } from '../../src/data-container/scan.js';
import type { LoadedTable } from '../../src/data-container/table.js';
import { encodeDeltaNumbers } from '../../src/duckdb/delta-keys.js';
import {
  BRANCHES_COLUMN,
  type ColumnSchema,
  type Frame,
  type ScanFilter,
  type ScanKeys,
  type ScanRequest,
  ScanRequestSchema,
} from '../../src/protocol/frames.js';
import { type CanonicalRow, frameRows, rowKeys } from '../helpers/frames.js';

let table: LoadedTable;
let oracle: DuckDBConnection;

// 200 rows, 10 a key of k; NULLs in both predicates' columns.
const TABLE_SQL = `SELECT i::BIGINT AS id, (i % 20)::BIGINT AS k, ((i * 7) % 40)::BIGINT AS p,
    CASE WHEN i % 5 = 0 THEN NULL ELSE i % 7 END::INTEGER AS a,
    CASE WHEN i % 6 = 0 THEN NULL ELSE 'n' || (i % 4) END AS s
  FROM range(200) r(i)`;
const BRANCHES = ['a < 3', "s = 'n1'"];

beforeAll(async () => {
  table = await generatedTable('t', TABLE_SQL);
  oracle = await table.instance.connect();
});

afterAll(() => oracle?.closeSync());

/** Keys of a BIGINT column as the coordinator sends distinct ones: delta-encoded, ascending. */
function deltaKeys(column: string, values: number[]): ScanKeys {
  const encoded = encodeDeltaNumbers(Float64Array.from(values), { width: 8, signed: true }, 1 << 20);
  return { column, rows: values.length, values: { data: encoded as Uint8Array }, encoding: 'delta' };
}

function bigintKeys(column: string, values: number[]): ScanKeys {
  return {
    column,
    rows: values.length,
    values: { data: new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer) },
  };
}

interface Scanned {
  frames: Frame[];
  schema: ColumnSchema[];
  rows: CanonicalRow[];
  /** Keys frames' values, copied as they came (their buffers are given back after). */
  keys: { column: string; rows: number; data: Uint8Array }[];
  /** Payload bytes of the data frames' columns as the end frame counts them (an offset a row). */
  dataBytes: number;
  errors: { error: string; message: string }[];
}

/** The frames of a scan of `on`; `filters` answer its awaited filter and the filter of its held rows. */
async function scan(
  request: ScanRequest,
  filters: { awaited?: ScanFilter | Promise<ScanFilter>; held?: ScanFilter } = {},
  on: LoadedTable = table,
  maxFrameBytes = 2048,
): Promise<Scanned> {
  const got: Scanned = { frames: [], schema: [], rows: [], keys: [], dataBytes: 0, errors: [] };
  const sink: FrameSink = {
    maxFrameBytes,
    send: async (frame) => {
      got.frames.push(frame);
      if (frame.type === 'schema') got.schema = frame.columns;
      if (frame.type === 'error') got.errors.push(frame);
      if (frame.type === 'keys')
        got.keys.push({ column: frame.column, rows: frame.rows, data: frame.values.data.slice() });
      if (frame.type === 'data') {
        // Read now: the frame's buffers are reused for the next one.
        expect(frame.columns?.length).toBe(got.schema.length);
        got.rows.push(...frameRows(got.schema, frame));
        for (const c of frame.columns ?? [])
          got.dataBytes += c.data.byteLength + (c.offsets ? frame.rows * 4 : 0) + (c.nulls?.byteLength ?? 0);
      }
    },
    awaitFilter: async (held) => {
      const filter = held ? filters.held : filters.awaited;
      if (!filter) throw new Error(`no ${held ? 'held' : 'awaited'} filter in this test`);
      return filter;
    },
  };
  await executeScan(on, ScanRequestSchema.parse(request), 'msgpack', sink, new AbortController().signal);
  return got;
}

/** `sql`'s rows as sorted keys, canonical as frameRows prints them. */
async function expected(sql: string): Promise<string[]> {
  const reader = await oracle.runAndReadAll(sql);
  return rowKeys(reader.getRowsJson().map((r) => r.map((v) => (v === null ? null : String(v)))));
}

/** A VALUES list of (key, code). */
const valuesOf = (keys: number[], codes: number[]) => keys.map((k, i) => `(${k}, ${codes[i]})`).join(', ');

/** The rows of keys `keys` whose code names a branch their row satisfies: written otherwise than the scan's join. */
const branchOracle = (keys: number[], codes: number[]) =>
  `SELECT t.id, t.a, t.s FROM t JOIN (VALUES ${valuesOf(keys, codes)}) v(key, code) ON t.k = v.key
   WHERE (v.code % 2 = 1 AND coalesce(a < 3, false)) OR (v.code // 2 % 2 = 1 AND coalesce(s = 'n1', false))`;

describe('keys with branches', () => {
  // A code 0 key (keeps nothing), keys with one bit, and with both.
  const ks = [1, 2, 3, 5, 8, 13, 17, 19];
  const codes = [1, 2, 3, 0, 1, 2, 3, 3];
  const withBranches = (set: ScanKeys, c: number[], where = BRANCHES): ScanKeys => ({
    ...set,
    branches: { codes: Uint8Array.from(c), where },
  });

  it("keeps a row only where its key's code names a branch the row satisfies", async () => {
    const got = await scan({ columns: ['id', 'a', 's'], keys: withBranches(deltaKeys('k', ks), codes) });
    expect(got.errors).toEqual([]);
    const sql = (got.frames[0] as { sql: string }).sql;
    expect(sql).toMatch(/__scan_code & 1\) <> 0/);
    expect(sql).toMatch(/__scan_code & 2\) <> 0/);
    const want = await expected(branchOracle(ks, codes));
    expect(want.length).toBeGreaterThan(5);
    expect(rowKeys(got.rows)).toEqual(want);
    // Not the plain semi-join: the codes narrowed it.
    expect(want.length).toBeLessThan((await expected(`SELECT id FROM t WHERE k IN (${ks})`)).length);
  });

  it('intersects with plain key sets, a where, and a group of codes to match', async () => {
    const ids = [...Array(150).keys()];
    const ps = [...Array(40).keys()];
    const got = await scan({
      columns: ['id', 'a', 's'],
      where: 'id % 3 <> 0',
      keys: [
        withBranches(deltaKeys('k', ks), codes),
        bigintKeys('id', ids),
        { ...deltaKeys('id', ids), match: { group: 0, width: 1, codes: Uint8Array.from(ids, (i) => i % 2) } },
        { ...deltaKeys('p', ps), match: { group: 0, width: 1, codes: Uint8Array.from(ps, (p) => p % 2) } },
      ],
    });
    expect(got.errors).toEqual([]);
    // The match group: id's code (its parity) equals p's (its parity).
    const want = await expected(
      `SELECT b.id, b.a, b.s FROM (${branchOracle(ks, codes)}) b JOIN t USING (id)
       WHERE t.id < 150 AND t.id % 3 <> 0 AND t.id % 2 = t.p % 2`,
    );
    expect(want.length).toBeGreaterThan(0);
    expect(rowKeys(got.rows)).toEqual(want);
  });

  it('only semi-joins where the table has a column named like the keys tables: the codes unused, every key row kept', async () => {
    const odd = await generatedTable('odd', `SELECT *, 0 AS __scan_code FROM (${TABLE_SQL})`);
    try {
      const got = await scan({ columns: ['id'], keys: withBranches(deltaKeys('k', ks), codes) }, {}, odd);
      expect(got.errors).toEqual([]);
      expect((got.frames[0] as { sql: string }).sql).toMatch(
        /^SELECT "id" FROM "odd" WHERE \("k" IN \(SELECT __scan_key/,
      );
      expect(rowKeys(got.rows)).toEqual(await expected(`SELECT id FROM t WHERE k IN (${ks})`));
    } finally {
      odd.instance.closeSync();
    }
  });

  it.each([
    [
      'an unknown column',
      'nope < 3',
      /^keys\.branches\.where\[1\] \(the keys of k\): column nope does not exist/,
    ],
    ['a subquery', 'a IN (SELECT 1)', /branches\.where\[1\].*subquery/],
    ['text that escapes its parentheses', 'a < 3) OR (true', /branches\.where\[1\]/],
    ['invalid SQL', 'a <', /branches\.where\[1\]/],
    ['a type its column does not bind to', 's + 1 > 2', /branches\.where\[1\]/],
  ])('refuses a branch predicate with %s as a bad request', async (_, bad, message) => {
    const got = await scan({
      columns: ['id'],
      keys: withBranches(deltaKeys('k', ks), codes, ['a < 3', bad]),
    });
    expect(got.frames).toMatchObject([{ type: 'error', error: 'bad_request' }]);
    expect(got.errors[0].message).toMatch(message);
  });

  it('leaves the codes unused in a declinable request whose branch does not bind: the plain keys keep their rows', async () => {
    const got = await scan({
      columns: ['id'],
      declinable: true,
      keys: withBranches(deltaKeys('k', ks), codes, ['a < 3', 'nope < 3']),
    });
    expect(got.errors).toEqual([]);
    expect((got.frames[0] as { sql: string }).sql).not.toMatch(/__scan_code &/);
    expect(rowKeys(got.rows)).toEqual(await expected(`SELECT id FROM t WHERE k IN (${ks})`));
  });

  it('is refused by the schema with codes not one byte per key, or keys not delta-encoded', () => {
    const short = { columns: ['id'], keys: withBranches(deltaKeys('k', ks), codes.slice(1)) };
    expect(ScanRequestSchema.safeParse(short).error?.message).toMatch(/one byte per key/);
    const plain = { columns: ['id'], keys: withBranches(bigintKeys('k', ks), codes) };
    expect(ScanRequestSchema.safeParse(plain).error?.message).toMatch(/needs delta-encoded keys/);
  });
});

describe('keysFirstBranches', () => {
  const HELD = 'id < 150';
  const request = (more: Partial<ScanRequest> = {}): ScanRequest => ({
    columns: ['id', 'k', 's'],
    where: HELD,
    keysFirst: ['id', 'k'],
    keysFirstBranches: BRANCHES,
    ...more,
  });
  const heldFilter: ScanFilter = { type: 'filter', held: true, keys: bigintKeys('k', [1, 2, 3]) };
  /** Each row's code, written otherwise than the scan's. */
  const codeOf = `(CASE WHEN coalesce(a < 3, false) THEN 1 ELSE 0 END) + (CASE WHEN coalesce(s = 'n1', false) THEN 2 ELSE 0 END)`;

  /** Keys frames of `column`, in order. */
  const keysOf = (got: Scanned, column: string) => got.keys.filter((k) => k.column === column);

  it('codes the held rows in keys frames lined up with their keys; neither schema nor data carry them', async () => {
    const got = await scan(request(), { held: heldFilter });
    expect(got.errors).toEqual([]);
    const ids = keysOf(got, 'id');
    const ks = keysOf(got, 'k');
    const codes = keysOf(got, BRANCHES_COLUMN);
    // Several held frames: one keys frame each, per column, the branch codes last.
    expect(ids.length).toBeGreaterThan(1);
    expect(got.keys.map((k) => k.column)).toEqual([
      ...ids.map(() => 'id'),
      ...ks.map(() => 'k'),
      ...codes.map(() => BRANCHES_COLUMN),
    ]);
    expect(codes.map((c) => c.rows)).toEqual(ids.map((f) => f.rows));
    expect(codes.map((c) => c.rows)).toEqual(ks.map((f) => f.rows));
    const pairs = ids.flatMap((f, i) => {
      const values = new BigInt64Array(f.data.buffer, f.data.byteOffset, f.rows);
      return [...values].map((id, r) => JSON.stringify([String(id), String(codes[i].data[r])]));
    });
    expect(pairs.sort()).toEqual(await expected(`SELECT id, ${codeOf} FROM t WHERE ${HELD}`));
    // Some of each code.
    expect(new Set(codes.flatMap((c) => [...c.data])).size).toBe(4);
    const held = got.frames.find((f) => f.type === 'held');
    expect(held).toMatchObject({ waits: true, rows: 150 });
    expect(got.schema.map((c) => c.name)).toEqual(['id', 'k', 's']);
    expect((got.frames[0] as { sql: string }).sql).toMatch(/AS "__scan_branches"/);
    expect(rowKeys(got.rows)).toEqual(
      await expected(`SELECT id, k, s FROM t WHERE ${HELD} AND k IN (1, 2, 3)`),
    );
    expect(got.frames.at(-1)).toMatchObject({ type: 'end', rows: got.rows.length, bytes: got.dataBytes });
  });

  it.each([
    ['at most holdAbove rows', { holdAbove: 1000 }],
    ['keys of a column that cannot be held', { keysFirst: ['s'] }],
  ])('sends the rows at once without their codes: %s', async (_, more) => {
    const got = await scan(request(more), {});
    expect(got.errors).toEqual([]);
    expect(got.keys).toEqual([]);
    expect(got.frames.find((f) => f.type === 'held')).toMatchObject({ waits: false });
    expect(got.schema.map((c) => c.name)).toEqual(['id', 'k', 's']);
    expect(rowKeys(got.rows)).toEqual(await expected(`SELECT id, k, s FROM t WHERE ${HELD}`));
    expect(got.frames.at(-1)).toMatchObject({ type: 'end', rows: 150, bytes: got.dataBytes });
  });

  it('computes no codes where the rows cannot be held (a limit)', async () => {
    const got = await scan(request({ limit: 10 }), {});
    expect(got.errors).toEqual([]);
    expect((got.frames[0] as { sql: string }).sql).not.toMatch(/__scan_branches/);
    expect(got.rows.length).toBe(10);
  });

  // Prefiltered rows of the columns asked for: the codes read from them where they hold the
  // branches' columns, else from the table again.
  it.each([
    ['the rows kept, which hold the columns of the branches', ['id', 'k', 'a', 's'], 1],
    ['the table, the rows kept lacking a column of the branches', ['id', 'k', 's'], 0],
  ])('codes the rows of an awaited filter read from %s', async (_, columns, prefilteredReads) => {
    const statements: string[] = [];
    // The filter comes once the predicate's rows are kept: the plan is then made over them.
    let release: () => void = () => undefined;
    const filter: ScanFilter = { type: 'filter', keys: bigintKeys('k', [1, 2, 3, 4]) };
    const comes = new Promise<ScanFilter>((resolve) => {
      release = () => resolve(filter);
    });
    const instance = {
      connect: async () => {
        const con = await table.instance.connect();
        const run = con.run.bind(con);
        Object.assign(con, {
          run: (...args: Parameters<DuckDBConnection['run']>) => {
            statements.push(args[0]);
            const ran = run(...args);
            if (args[0].includes('TABLE __prefiltered')) ran.finally(release);
            return ran;
          },
        });
        return con;
      },
    };
    const watched = { ...table, instance } as unknown as LoadedTable;
    const got = await scan(
      { ...request({ columns, where: 'id < 30', awaitFilter: true, keysFirst: ['id'] }) },
      { awaited: comes, held: heldFilter },
      watched,
    );
    expect(got.errors).toEqual([]);
    expect(statements.filter((s) => /TABLE __prefiltered/.test(s)).length).toBe(1);
    expect(statements.filter((s) => /FROM "__prefiltered"/.test(s)).length).toBe(prefilteredReads);
    const codes = keysOf(got, BRANCHES_COLUMN);
    const ids = keysOf(got, 'id');
    const pairs = ids.flatMap((f, i) => {
      const values = new BigInt64Array(f.data.buffer, f.data.byteOffset, f.rows);
      return [...values].map((id, r) => JSON.stringify([String(id), String(codes[i].data[r])]));
    });
    expect(pairs.sort()).toEqual(
      await expected(`SELECT id, ${codeOf} FROM t WHERE id < 30 AND k IN (1, 2, 3, 4)`),
    );
    expect(got.schema.map((c) => c.name)).toEqual(columns);
    expect(rowKeys(got.rows)).toEqual(
      await expected(`SELECT ${columns.join(', ')} FROM t WHERE id < 30 AND k IN (1, 2, 3)`),
    );
    expect(got.frames.at(-1)).toMatchObject({ type: 'end', bytes: got.dataBytes });
  });

  it.each([
    ['without keysFirst', { keysFirst: undefined }, /send them with keysFirst/],
    [
      'with a branch over an unknown column',
      { keysFirstBranches: ['a < 3', 'nope'] },
      /keysFirstBranches\[1\].*nope/,
    ],
    [
      'with a branch that holds a subquery',
      { keysFirstBranches: ['a IN (SELECT 1)'] },
      /keysFirstBranches\[0\]/,
    ],
  ])('is refused as a bad request %s', async (_, more, message) => {
    const got = await scan(request(more), { held: heldFilter });
    expect(got.frames).toMatchObject([{ type: 'error', error: 'bad_request' }]);
    expect(got.errors[0].message).toMatch(message);
  });

  it('computes no codes in a declinable request whose branch does not bind: the keys and rows as without them', async () => {
    const got = await scan(request({ declinable: true, keysFirstBranches: ['a < 3', 'nope'] }), {
      held: heldFilter,
    });
    expect(got.errors).toEqual([]);
    expect(keysOf(got, BRANCHES_COLUMN)).toEqual([]);
    expect(keysOf(got, 'id').length).toBeGreaterThan(0);
    expect(got.schema.map((c) => c.name)).toEqual(['id', 'k', 's']);
    expect(rowKeys(got.rows)).toEqual(
      await expected(`SELECT id, k, s FROM t WHERE ${HELD} AND k IN (1, 2, 3)`),
    );
  });

  it('is refused as a bad request on a table with a column of its name', async () => {
    const named = await generatedTable(
      'named',
      `SELECT id, k, 0::UTINYINT AS ${BRANCHES_COLUMN} FROM (${TABLE_SQL})`,
    );
    try {
      const got = await scan(request({ columns: ['id', 'k'] }), { held: heldFilter }, named);
      expect(got.frames).toMatchObject([{ type: 'error', error: 'bad_request' }]);
      expect(got.errors[0].message).toMatch(/has a column named __scan_branches/);
    } finally {
      named.instance.closeSync();
    }
  });
});
