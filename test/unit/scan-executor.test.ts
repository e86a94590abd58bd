/**
 * The scan executor over a table larger than one rowid batch: limits that end inside a later
 * batch, predicates read in one query or in batches, and the frame sequence every receiver checks.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { benchTableSql, generatedTable } from '../../src/bench/generated-table.js';
import { estimateRows } from '../../src/data-container/prefilter.js';
import { executeScan } from '../../src/data-container/scan.js';
import type { LoadedTable } from '../../src/data-container/table.js';
import { encodeDeltaNumbers } from '../../src/duckdb/delta-keys.js';
import type { Frame, ScanFilter, ScanKeys, ScanRequest } from '../../src/protocol/frames.js';
import { ScanRequestSchema } from '../../src/protocol/frames.js';

let table: LoadedTable;

beforeAll(async () => {
  table = await generatedTable('bench', benchTableSql(2_500_000));
});

async function scan(request: ScanRequest): Promise<Frame[]> {
  const frames: Frame[] = [];
  const sink = { send: async (frame: Frame) => void frames.push(frame) };
  await executeScan(table, ScanRequestSchema.parse(request), 'msgpack', sink, new AbortController().signal);
  return frames;
}

it.each([
  [{ columns: ['id'] }, 2_500_000],
  [{ columns: ['id'], limit: 2_000_001 }, 2_000_001],
  [{ columns: ['id'], limit: 1_048_577 }, 1_048_577],
  [{ columns: ['id', 'name'], where: 'id % 2 = 0', limit: 1_100_000 }, 1_100_000],
  [{ columns: ['amount'], where: 'id >= 2400000' }, 100_000],
  // One query (the first row group says 1% of the table), then rowid batches (it says 50%).
  [{ columns: ['id', 'name'], where: 'id % 100 = 7' }, 25_000],
  [{ columns: ['id', 'name'], where: 'id % 2 = 1' }, 1_250_000],
  // Ids are sorted: the first ranges find nothing, and the next grow 4× at a time, not to the end at once.
  [{ columns: ['id'], where: 'id >= 1000000' }, 1_500_000],
  [{ columns: ['id'], limit: 0 }, 0],
  // Pushed queries: a small LIMIT is materialized (also where a column travels as text), others stream.
  [{ columns: [], query: 'SELECT id, name FROM bench ORDER BY amount DESC, id LIMIT 10' }, 10],
  [{ columns: [], query: 'SELECT [id, id + 1] AS pair FROM bench ORDER BY id LIMIT 2048' }, 2048],
  [{ columns: [], query: 'SELECT id FROM bench WHERE id % 1000 = 0 LIMIT 2049' }, 2049],
  [{ columns: [], query: 'SELECT id FROM bench WHERE id % 1000 = 0' }, 2500],
])('%j gives %i rows in numbered frames', async (request, rows) => {
  const frames = await scan(request);
  expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
  expect(frames[0].type).toBe('schema');
  const end = frames.at(-1);
  expect(end?.type).toBe('end');
  const data = frames.filter((f) => f.type === 'data');
  expect(data.reduce((n, f) => n + f.rows, 0)).toBe(rows);
  expect(end?.type === 'end' && end.rows).toBe(rows);
});

it('estimates what a predicate keeps from rows all over the table, not its first ones', async () => {
  const con = await table.instance.connect();
  try {
    // Ids are sorted: the first row groups hold none of the 1,000,000 rows this keeps. The
    // sample is a few vectors, drawn differently by DuckDB's threads: a coarse estimate.
    const estimate = await estimateRows(con, table, 'id >= 1500000');
    expect(estimate).toBeGreaterThan(400_000);
    expect(estimate).toBeLessThan(1_600_000);
    expect(await estimateRows(con, table, 'false')).toBe(0);
  } finally {
    con.closeSync();
  }
});

/** Keys of a BIGINT column, as the coordinator sends them (without the delta encoding). */
function bigintKeys(column: string, values: number[]): ScanKeys {
  const data = new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer);
  return { column, rows: values.length, values: { data } };
}

describe('distinct', () => {
  let dups: LoadedTable;
  beforeAll(async () => {
    dups = await generatedTable('dups', 'SELECT i % 1000 AS k, i AS id FROM range(1500000) t(i)');
  });

  /** The frames of a scan of `dups`, and the values of its BIGINT column, read as each frame is sent. */
  async function keys(request: ScanRequest): Promise<{ frames: Frame[]; values: bigint[] }> {
    const frames: Frame[] = [];
    const values: bigint[] = [];
    const sink = {
      send: async (frame: Frame) => {
        frames.push(frame);
        const data = frame.type === 'data' ? frame.columns?.[0]?.data : undefined;
        // The column's buffer is reused for the next frame: read it now.
        if (data && frame.type === 'data')
          values.push(...new BigInt64Array(data.buffer, data.byteOffset, frame.rows));
      },
    };
    const parsed = ScanRequestSchema.parse(request);
    await executeScan(dups, parsed, 'msgpack', sink, new AbortController().signal);
    return { frames, values };
  }

  it('sends each distinct row once where the scan is one query', async () => {
    const { frames, values } = await keys({ columns: ['k'], where: 'id < 5000', distinct: true });
    expect(frames[0].type === 'schema' && frames[0].sql).toMatch(/^SELECT DISTINCT "k" FROM "dups"/);
    expect(values.length).toBe(1000);
    expect(new Set(values).size).toBe(1000);
  });

  it('sends each distinct row once per rowid batch: every value, far fewer rows', async () => {
    const { frames, values } = await keys({ columns: ['k'], distinct: true });
    expect(frames.at(-1)?.type).toBe('end');
    expect(new Set(values).size).toBe(1000);
    expect(values.length).toBeLessThan(50_000);
  });

  // Keys run at once capped at a batch's rows: past the cap, the rows go in rowid batches.
  it('sends the rows its keys keep in one query where they are few', async () => {
    const { values } = await keys({ columns: ['id'], keys: bigintKeys('k', [7, 993]) });
    expect(values.length).toBe(3000);
    expect(values.every((id) => id % 1000n === 7n || id % 1000n === 993n)).toBe(true);
    // Distinct over the whole scan, not per batch: one query.
    const distinct = await keys({
      columns: ['k'],
      distinct: true,
      keys: bigintKeys('k', [...Array(1000).keys()]),
    });
    expect(distinct.values.length).toBe(1000);
  });

  it('sends every row its keys keep once, in rowid batches, where they are more than the cap', async () => {
    const { frames, values } = await keys({
      columns: ['id'],
      keys: bigintKeys('k', [...Array(1000).keys()]),
    });
    expect(frames.at(-1)).toMatchObject({ type: 'end', rows: 1_500_000 });
    expect(values.length).toBe(1_500_000);
    expect(new Set(values).size).toBe(1_500_000);
  });

  // Delta-encoded keys are distinct: the scan joins them (an inner join, DuckDB's faster probe).
  const deltaKeys = (column: string, values: number[]): ScanKeys => {
    const encoded = encodeDeltaNumbers(Float64Array.from(values), { width: 8, signed: true }, 1 << 20);
    return { column, rows: values.length, values: { data: encoded as Uint8Array }, encoding: 'delta' };
  };

  it('joins distinct keys: the rows the semi-join keeps, each once, in one query or in rowid batches', async () => {
    const few = await keys({ columns: ['id'], keys: deltaKeys('k', [7, 993]) });
    expect(few.frames[0].type === 'schema' && few.frames[0].sql).toMatch(/ JOIN temp\.main\."__scan_keys_0"/);
    expect(few.values.length).toBe(3000);
    expect(few.values.every((id) => id % 1000n === 7n || id % 1000n === 993n)).toBe(true);
    // Past the cap of one query: rowid batches of the table joined with the keys.
    const all = await keys({ columns: ['id'], keys: deltaKeys('k', [...Array(1000).keys()]) });
    expect(all.frames.at(-1)).toMatchObject({ type: 'end', rows: 1_500_000 });
    expect(new Set(all.values).size).toBe(1_500_000);
    const filtered = await keys({ columns: ['id'], where: 'id % 2 = 0', keys: deltaKeys('k', [1, 2]) });
    expect(filtered.values.sort((a, b) => Number(a - b))).toEqual(
      [...Array(1500).keys()].map((i) => BigInt(2 + i * 1000)),
    );
    const distinct = await keys({ columns: ['k'], distinct: true, keys: deltaKeys('k', [5, 6, 999]) });
    expect(distinct.values.sort()).toEqual([5n, 6n, 999n]);
  });

  it("keeps, of two key sets carrying codes, only rows whose keys' codes are equal", async () => {
    // k's keys coded by parity, id's keys (ids below 4,000) coded by their thousand's parity.
    const withCodes = (set: ScanKeys, codes: number[]): ScanKeys => ({
      ...set,
      match: { group: 0, width: 1, codes: Uint8Array.from(codes) },
    });
    const ks = [3, 4, 5];
    const ids = [...Array(4000).keys()].filter((id) => ks.includes(id % 1000));
    const { frames, values } = await keys({
      columns: ['id'],
      keys: [
        withCodes(
          deltaKeys('k', ks),
          ks.map((k) => k % 2),
        ),
        withCodes(
          deltaKeys('id', ids),
          ids.map((id) => Math.floor(id / 1000) % 2),
        ),
      ],
    });
    expect(frames[0].type === 'schema' && frames[0].sql).toMatch(/__scan_code = /);
    const expected = ids.filter((id) => (id % 1000) % 2 === Math.floor(id / 1000) % 2);
    expect(values.map(Number).sort((a, b) => a - b)).toEqual(expected);
    // Codes must be one per key, and the keys delta-encoded (distinct).
    const short = {
      columns: ['id'],
      keys: { ...deltaKeys('k', ks), match: { group: 0, width: 2, codes: new Uint8Array(4) } },
    };
    expect(ScanRequestSchema.safeParse(short).error?.message).toMatch(/one code of width bytes per key/);
    const plain = {
      columns: ['id'],
      keys: { ...bigintKeys('k', ks), match: { group: 0, width: 1, codes: new Uint8Array(3) } },
    };
    expect(ScanRequestSchema.safeParse(plain).error?.message).toMatch(/needs delta-encoded keys/);
  });

  it('is refused with a pushed query, which shapes its own rows', async () => {
    const { frames } = await keys({ columns: [], query: 'SELECT k FROM dups', distinct: true });
    expect(frames).toMatchObject([{ type: 'error', error: 'bad_request' }]);
  });
});

/**
 * A filter that comes while the scan's own predicate's rows are being kept (prefilter.ts): the
 * copy is interrupted, or not started, and the table is scanned with both.
 */
describe('a filter that overtakes the prefilter', () => {
  type Moment = 'at once' | 'while the rows are kept' | 'once they are kept' | 'later';

  /**
   * The ids of a scan of `table` keeping `where` (by default `id % 10 = 0`, a tenth of the
   * rows: they are kept) whose filter comes at `moment`; the statements its connection ran
   * (runAndReadAll runs them too) and the interrupts it got.
   */
  async function scanWithFilter(moment: Moment, where = 'id % 10 = 0') {
    const statements: string[] = [];
    let interrupts = 0;
    let release: () => void = () => undefined;
    const filter: ScanFilter = {
      type: 'filter',
      keys: bigintKeys('id', [3, 10, 15, 20, 2_400_000, 2_499_995]),
    };
    const comes = new Promise<ScanFilter>((resolve) => {
      release = () => resolve(filter);
    });
    if (moment === 'later') setTimeout(release, 50);
    const instance = {
      connect: async () => {
        const con = await table.instance.connect();
        const run = con.run.bind(con);
        const interrupt = con.interrupt.bind(con);
        Object.assign(con, {
          run: (...args: Parameters<DuckDBConnection['run']>) => {
            statements.push(args[0]);
            const ran = run(...args);
            if (args[0].includes('TABLE __prefiltered')) {
              if (moment === 'while the rows are kept') setTimeout(release, 5);
              if (moment === 'once they are kept') ran.finally(release);
            }
            return ran;
          },
          interrupt: () => {
            interrupts++;
            interrupt();
          },
        });
        return con;
      },
    };
    const ids: bigint[] = [];
    const errors: string[] = [];
    const sink = {
      send: async (frame: Frame) => {
        if (frame.type === 'error') errors.push(frame.message);
        const data = frame.type === 'data' && frame.columns?.[0]?.data;
        if (data) ids.push(...new BigInt64Array(data.buffer, data.byteOffset, data.byteLength / 8));
      },
      awaitFilter: () => (moment === 'at once' ? Promise.resolve(filter) : comes),
    };
    // The keys table made ahead comes before the prefilter: a filter in hand by then overtakes it.
    const request = ScanRequestSchema.parse({
      columns: ['id', 'name'],
      where,
      awaitFilter: true,
      filterKeyColumns: ['id'],
    });
    const watched = { ...table, instance } as unknown as LoadedTable;
    await executeScan(watched, request, 'msgpack', sink, new AbortController().signal);
    expect(errors).toEqual([]);
    return { ids: ids.sort((a, b) => (a < b ? -1 : 1)), statements, interrupts };
  }

  const kept = [10n, 20n, 2_400_000n];
  const counted = (statements: string[], pattern: RegExp) => statements.filter((s) => pattern.test(s)).length;

  it('is not started where the filter came first', async () => {
    const { ids, statements, interrupts } = await scanWithFilter('at once');
    expect(ids).toEqual(kept);
    expect(counted(statements, /TABLE __prefiltered/)).toBe(0);
    expect(interrupts).toBe(0);
  });

  it('is interrupted where the filter comes while it runs', async () => {
    const { ids, statements, interrupts } = await scanWithFilter('while the rows are kept');
    expect(ids).toEqual(kept);
    expect(counted(statements, /TABLE __prefiltered/)).toBe(1);
    expect(counted(statements, /FROM "__prefiltered"/)).toBe(0);
    expect(interrupts).toBe(1);
  });

  it('is not made where the predicate keeps more than a fifth of the table', async () => {
    // A third of the rows: copying them would cost more than scanning the table once more.
    const { ids, statements } = await scanWithFilter('later', 'id % 3 = 0');
    expect(ids).toEqual([3n, 15n, 2_400_000n]);
    expect(counted(statements, /TABLE __prefiltered/)).toBe(0);
  });

  it('is read where it was done when the filter came', async () => {
    // (An interrupt may come between the statement's end and its result's reading: it is lost.)
    const { ids, statements } = await scanWithFilter('once they are kept');
    expect(ids).toEqual(kept);
    expect(counted(statements, /FROM "__prefiltered"/)).toBe(1);
  });
});
