/**
 * The scan executor over a table larger than one rowid batch: limits that end inside a later
 * batch, predicates read in one query or in batches, and the frame sequence every receiver checks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { benchTableSql, generatedTable } from '../../src/bench/generated-table.js';
import { estimateRows } from '../../src/data-container/prefilter.js';
import { executeScan } from '../../src/data-container/scan.js';
import type { LoadedTable } from '../../src/data-container/table.js';
import type { Frame, ScanRequest } from '../../src/protocol/frames.js';
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

  it('is refused with a pushed query, which shapes its own rows', async () => {
    const { frames } = await keys({ columns: [], query: 'SELECT k FROM dups', distinct: true });
    expect(frames).toMatchObject([{ type: 'error', error: 'bad_request' }]);
  });
});
