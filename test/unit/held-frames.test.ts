/**
 * Held frames (a keysFirst scan's rows, data-container/held-frames.ts) narrowed by keys give
 * the rows DuckDB's own semi-join gives (the oracle), for key columns of every integer width,
 * signed and not, beyond 2^53, against dense keys (a bitmap) and sparse ones (a search),
 * with NULLs and long strings beside them, across frames whose builder reused its buffers.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeldFrames, MAX_HELD_ROWS } from '../../src/data-container/held-frames.js';
import { columnSchemaFor, FrameBuilder, wireLayoutFor } from '../../src/duckdb/columnar.js';
import { materializedChunks } from '../../src/duckdb/json-values.js';
import type { ColumnSchema, DataFrame, ScanKeys, WireColumn } from '../../src/protocol/frames.js';
import { type CanonicalRow, canonical, frameRows, rowKeys } from '../helpers/frames.js';

const ROWS = 6_000;
let instance: DuckDBInstance;
let con: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  con = await instance.connect();
  await con.run(`CREATE TABLE t AS SELECT
      i::INTEGER AS k32,
      (9007199254740993 + i * 3)::BIGINT AS k64,
      (i % 60000)::USMALLINT AS k16,
      ((i % 200) - 100)::TINYINT AS k8,
      (i * 1000003)::UBIGINT AS sparse,
      CASE WHEN i % 7 = 0 THEN NULL ELSE i END::BIGINT AS nullable,
      CASE WHEN i % 5 = 0 THEN NULL ELSE repeat('x', i % 40) || i END AS name,
      (i * 0.5)::DOUBLE AS score
    FROM range(${ROWS}) r(i)`);
});

afterAll(() => {
  con?.closeSync();
  instance?.closeSync();
});

/** `sql`'s result as held frames of about `frameBytes` each, the builder reusing its buffers. */
async function held(sql: string, keys: string[], frameBytes = 16 * 1024) {
  const result = await con.run(sql);
  const schema: ColumnSchema[] = result
    .columnNames()
    .map((name, i) => columnSchemaFor(name, result.columnTypes()[i]));
  const builder = new FrameBuilder(
    schema.map((c) => ({ wire: c.wire, width: c.width })),
    frameBytes,
    2 * frameBytes,
  );
  const frames = HeldFrames.for(schema, keys);
  if (!frames) throw new Error('no held frames');
  for (const chunk of materializedChunks(result)) {
    for (let from = 0; from < chunk.rowCount; ) {
      from += builder.append(chunk, from);
      if (builder.full || from < chunk.rowCount) {
        const bytes = builder.byteLength;
        const { rows, columns } = builder.take();
        expect(frames.add(rows, bytes, columns)).toBe(true);
      }
    }
  }
  if (builder.rows > 0) {
    const bytes = builder.byteLength;
    const { rows, columns } = builder.take();
    frames.add(rows, bytes, columns);
  }
  return { schema, frames };
}

/** The first column of `sql` as a key set for `column`, as the coordinator sends one. */
async function keySet(column: string, sql: string): Promise<ScanKeys> {
  const result = await con.run(sql);
  const builder = new FrameBuilder([wireLayoutFor(result.columnTypes()[0])], 1 << 30);
  for (const chunk of materializedChunks(result)) builder.append(chunk);
  const rows = builder.rows;
  return { column, rows, values: builder.take().columns[0] };
}

/** Each narrowed frame copied as it comes: the next one is made in the same scratch buffer. */
function copies(frames: Iterable<{ rows: number; columns: WireColumn[] }>) {
  const out: { rows: number; columns: WireColumn[] }[] = [];
  for (const f of frames) {
    out.push({
      rows: f.rows,
      columns: f.columns.map((c) => ({
        data: new Uint8Array(c.data),
        ...(c.offsets && { offsets: new Int32Array(c.offsets) }),
        ...(c.nulls && { nulls: new Uint8Array(c.nulls) }),
      })),
    });
  }
  return out;
}

const rowsOf = (schema: ColumnSchema[], frames: { rows: number; columns: DataFrame['columns'] }[]) =>
  frames.flatMap((f) => frameRows(schema, { type: 'data', seq: 1, rows: f.rows, columns: f.columns }));

async function oracle(sql: string): Promise<string[]> {
  const rows = (await con.runAndReadAll(sql)).getRowsJson().map((r) => r.map(canonical)) as CanonicalRow[];
  return rowKeys(rows);
}

const SELECT = 'SELECT k32, k64, k16, k8, sparse, nullable, name, score FROM t WHERE score > 100';

describe('held rows narrowed by keys equal DuckDB semi-join', () => {
  const cases: [string, string][] = [
    ['k32', 'SELECT k32 FROM t WHERE k32 % 3 = 0'],
    ['k64', 'SELECT k64 FROM t WHERE k32 % 4 = 1'],
    ['k16', 'SELECT DISTINCT k16 FROM t WHERE k16 < 900'],
    ['k8', 'SELECT DISTINCT k8 FROM t WHERE k8 < 0'],
    ['sparse', 'SELECT sparse FROM t WHERE k32 % 97 = 0'],
    ['nullable', 'SELECT nullable FROM t WHERE k32 % 2 = 0 AND nullable IS NOT NULL'],
    ['k32', 'SELECT k32 FROM t WHERE false'],
  ];
  for (const [column, keys] of cases) {
    it(`${column} IN (${keys})`, async () => {
      const { schema, frames } = await held(SELECT, [column]);
      const filter = { type: 'filter' as const, held: true as const, keys: await keySet(column, keys) };
      const narrowed = copies(frames.narrowed(filter));
      frames.release();
      expect(rowKeys(rowsOf(schema, narrowed))).toEqual(await oracle(`${SELECT} AND ${column} IN (${keys})`));
    });
  }

  it('several key sets intersect', async () => {
    const { schema, frames } = await held(SELECT, ['k32', 'k64']);
    const keys = [
      await keySet('k32', 'SELECT k32 FROM t WHERE k32 % 3 = 0'),
      await keySet('k64', 'SELECT k64 FROM t WHERE k32 % 2 = 0'),
    ];
    const narrowed = copies(frames.narrowed({ type: 'filter', held: true, keys }));
    frames.release();
    expect(rowKeys(rowsOf(schema, narrowed))).toEqual(await oracle(`${SELECT} AND k32 % 6 = 0`));
  });
});

describe('keys frames', () => {
  it('carry each key column of every row held, in frames as held, NULLs marked', async () => {
    const { schema, frames } = await held(SELECT, ['nullable', 'k8']);
    for (const column of ['nullable', 'k8']) {
      const own = schema.filter((c) => c.name === column);
      const sent = frames
        .keyFrames()
        .filter((f) => f.column === column)
        .flatMap((f) => frameRows(own, { type: 'data', seq: 1, rows: f.rows, columns: [f.values] }));
      expect(rowKeys(sent)).toEqual(await oracle(`SELECT ${column} FROM t WHERE score > 100`));
    }
    expect(frames.rows).toBe(ROWS - 201);
  });

  it('are for integer columns only: other key columns hold nothing', async () => {
    const result = await con.run('SELECT name, score FROM t LIMIT 1');
    const schema = result.columnNames().map((n, i) => columnSchemaFor(n, result.columnTypes()[i]));
    expect(HeldFrames.for(schema, ['name'])).toBeUndefined();
    expect(HeldFrames.for(schema, ['no_such_column'])).toBeUndefined();
  });

  it('stop at MAX_HELD_ROWS: a frame past it is not held', async () => {
    const { frames } = await held('SELECT k32 FROM t', ['k32']);
    expect(frames.add(MAX_HELD_ROWS, 8, [{ data: new Uint8Array(4 * MAX_HELD_ROWS) }])).toBe(false);
    expect(frames.rows).toBe(ROWS);
  });
});
