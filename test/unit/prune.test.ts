/**
 * Pruning parts of a split table by their column ranges, on real DuckDB: parts cut from one
 * table of random rows, many random filters. Sound: no skipped part holds a row the filter
 * passes (the oracle is the filter run on the part's rows). Useful: parts clearly outside a
 * filter are skipped.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogPart, CatalogTable } from '../../src/coordinator/catalog/catalog-table.js';
import { partsToSkip } from '../../src/coordinator/execute/shards/prune.js';
import type { TableColumn } from '../../src/protocol/table-metadata.js';

const COLUMNS: TableColumn[] = [
  { name: 'k', type: 'INTEGER' },
  { name: 'n', type: 'BIGINT' },
  { name: 'd', type: 'DECIMAL(12,2)' },
  { name: 'x', type: 'DOUBLE' },
  { name: 'day', type: 'DATE' },
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 's', type: 'VARCHAR' },
  { name: 'flag', type: 'BOOLEAN' },
];

/**
 * Five parts: 0 and 1 hold low keys and early dates, 2 is empty, 3 has x and s all NULL and a
 * narrow key range, 4 is wide. `o` is the part's offset, so that parts overlap only partly.
 */
const PARTS_SQL = `
  WITH spec(part, lo, hi, rows) AS (VALUES (0, 0, 100, 300), (1, 100, 300, 500), (2, 300, 300, 0), (3, 300, 310, 40), (4, 310, 1000, 700)),
  rows AS (SELECT part, lo, hi, range AS r FROM spec, range(rows))
  SELECT part,
    (lo + floor(random() * (hi - lo)))::INTEGER AS k,
    CASE WHEN random() < 0.1 THEN NULL ELSE (part * 1000 - 2000 + floor(random() * 3000))::BIGINT END AS n,
    CASE WHEN random() < 0.1 THEN NULL ELSE round(part * 50 + random() * 80 - 40, 2)::DECIMAL(12,2) END AS d,
    CASE WHEN part = 3 OR random() < 0.1 THEN NULL ELSE part * 10 + random() * 15 - 5 END AS x,
    CASE WHEN random() < 0.05 THEN NULL ELSE DATE '1992-01-01' + (part * 300 + floor(random() * (CASE WHEN part = 4 THEN 2000 ELSE 400 END)))::INTEGER END AS day,
    CASE WHEN random() < 0.05 THEN NULL ELSE TIMESTAMP '2000-01-01' + to_seconds((part * 86400 * 20 + floor(random() * 86400 * 30))::BIGINT) END AS ts,
    CASE WHEN part = 3 OR random() < 0.1 THEN NULL ELSE chr(97 + part * 4 + floor(random() * 8)::INTEGER) || md5(r::VARCHAR)[1:3] END AS s,
    CASE WHEN random() < 0.1 THEN NULL ELSE (part % 2 = 0 OR random() < 0.2) END AS flag
  FROM rows`;

let instance: DuckDBInstance;
let con: DuckDBConnection;
let table: CatalogTable;

async function rows(sql: string): Promise<unknown[][]> {
  return (await con.runAndReadAll(sql)).getRowsJson() as unknown[][];
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A literal of the column's type in one of the forms a container may write. */
function literal(column: TableColumn, text: string): string {
  if (column.type === 'INTEGER' || column.type === 'BIGINT' || column.type.startsWith('DECIMAL')) return text;
  return `CAST(${quote(text)} AS ${column.type})`;
}

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  con = await instance.connect();
  await con.run('SELECT setseed(0.16)');
  await con.run(`CREATE TABLE src AS ${PARTS_SQL}`);
  const parts: CatalogPart[] = [];
  for (let index = 0; index < 5; index++) {
    const stats = COLUMNS.map((c) => `min("${c.name}")::VARCHAR, max("${c.name}")::VARCHAR`).join(', ');
    const [row] = await rows(`SELECT count(*)::INTEGER, ${stats} FROM src WHERE part = ${index}`);
    const columnRanges = Object.fromEntries(
      COLUMNS.map((c, i) => {
        const [min, max] = [row[1 + 2 * i], row[2 + 2 * i]];
        return [c.name, min === null ? null : { min: literal(c, String(min)), max: literal(c, String(max)) }];
      }),
    );
    parts.push({
      index,
      subject: `duckdb.t.${index}.scan`,
      instances: 1,
      rowCount: Number(row[0]),
      version: `v${index}`,
      columnRanges,
    });
  }
  table = {
    name: 't',
    columns: COLUMNS,
    rowCount: parts.reduce((a, p) => a + p.rowCount, 0),
    transport: 'nats',
    location: 'duckdb.t.{0..4}.scan',
    remoteName: 't',
    instances: 5,
    parts,
  };
});

afterAll(() => {
  con.closeSync();
  instance.closeSync();
});

/** Parts holding a row `where` passes; undefined when DuckDB refuses the filter. */
async function matchingParts(where: string): Promise<Set<number> | undefined> {
  try {
    return new Set((await rows(`SELECT DISTINCT part FROM src WHERE ${where}`)).map((r) => Number(r[0])));
  } catch {
    return undefined;
  }
}

async function skipped(where: string | undefined): Promise<number[]> {
  return [...(await partsToSkip(con, where, table)).keys()].sort();
}

describe('partsToSkip', () => {
  it('skips empty parts whatever the filter, and only them without one', async () => {
    expect(await partsToSkip(con, undefined, table)).toEqual(new Map([[2, 'empty']]));
    expect(await skipped('k >= 0')).toEqual([2]);
    expect(await partsToSkip(con, 'k < 0', { ...table, parts: undefined })).toEqual(new Map());
  });

  it('names the column and the part’s range in its reason', async () => {
    const skip = await partsToSkip(con, 'k >= 300 AND n IS NOT NULL', table);
    expect([...skip.keys()].sort()).toEqual([0, 1, 2]);
    expect(skip.get(0)).toMatch(/^k range \d+\.\.\d+ is outside the filter$/);
    expect((await partsToSkip(con, 's IS NOT NULL', table)).get(3)).toBe(
      's range (only NULLs) is outside the filter',
    );
    const day = (await partsToSkip(con, "day > DATE '2010-01-01'", table)).get(0);
    expect(day).toMatch(/^day range 1992-\d\d-\d\d\.\.199\d-\d\d-\d\d is outside the filter$/);
  });

  it('skips parts clearly outside hand-picked filters of every type', async () => {
    const cases: [string, number[]][] = [
      ['k BETWEEN 100 AND 299', [0, 2, 3, 4]],
      ['k IN (5, 150)', [2, 3, 4]],
      ['(k < 50 OR k > 900)', [1, 2, 3]],
      ['300 > k', [2, 3, 4]],
      ["k < '100'", [1, 2, 3, 4]],
      ['k < 99.5 AND k IS NOT NULL', [1, 2, 3, 4]],
      ['x IS NOT NULL', [2, 3]],
      ['x > 1e6', [0, 1, 2, 3, 4]],
      ["s = 'zzz'", [0, 1, 2, 3, 4]],
      ["day < '1992-01-01'", [0, 1, 2, 3, 4]],
      ["ts < TIMESTAMP '2000-01-01 00:00:00' OR day < DATE '1991-01-01'", [0, 1, 2, 3, 4]],
      ['d < -100', [0, 1, 2, 3, 4]],
      ['k <> k', [2]],
      ['abs(k) < 0', [2]],
      ['NOT (k < 1000)', [0, 1, 2, 3, 4]],
      ['k NOT IN (1, 2)', [2]],
    ];
    for (const [where, expected] of cases) {
      expect({ where, skipped: await skipped(where) }).toEqual({ where, skipped: expected });
    }
  });

  it('never skips a part holding a matching row, over many random filters', async () => {
    const values = new Map<string, string[]>();
    for (const c of COLUMNS) {
      const sample = await rows(
        `SELECT DISTINCT "${c.name}"::VARCHAR FROM src WHERE "${c.name}" IS NOT NULL`,
      );
      values.set(
        c.name,
        sample.map((r) => String(r[0])),
      );
    }
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
    /** A constant for column `c`: a value it holds, or one beside it, in one of several spellings. */
    const constant = (c: TableColumn): string => {
      const v = pick(values.get(c.name) ?? ['0']);
      switch (c.type) {
        case 'INTEGER':
        case 'BIGINT':
          return pick([v, `${Number(v) + 0.5}`, quote(v), `${Number(v) - 1}e0`, `${Number(v) + 1}::HUGEINT`]);
        case 'DECIMAL(12,2)':
          return pick([v, `${Math.round(Number(v))}`, quote(v), `${Number(v) + 0.005}`]);
        case 'DOUBLE':
          return pick([
            v,
            `${Math.round(Number(v))}`,
            `${Number(v).toFixed(2)}`,
            `CAST(${quote(v)} AS FLOAT)`,
          ]);
        case 'DATE':
          return pick([`DATE ${quote(v)}`, quote(v), `TIMESTAMP ${quote(`${v} 12:00:00`)}`]);
        case 'TIMESTAMP':
          return pick([
            `TIMESTAMP ${quote(v)}`,
            quote(v),
            `DATE ${quote(v.slice(0, 10))}`,
            `${quote(v)}::TIMESTAMP_NS`,
          ]);
        case 'VARCHAR':
          return pick([quote(v), quote(v.slice(0, 1)), quote(`${v}~`), "''"]);
        default:
          return pick(['true', 'false', quote(v)]);
      }
    };
    const atom = (): string => {
      const c = pick(COLUMNS);
      const name = `"${c.name}"`;
      const op = pick(['=', '<>', '<', '<=', '>', '>=', '!=']);
      switch (pick(['cmp', 'cmp', 'cmp', 'flip', 'between', 'in', 'null', 'not', 'fn'])) {
        case 'cmp':
          return `${name} ${op} ${constant(c)}`;
        case 'flip':
          return `${constant(c)} ${op} ${name}`;
        case 'between':
          return `${name} BETWEEN ${constant(c)} AND ${constant(c)}`;
        case 'in':
          return `${name} IN (${Array.from({ length: 1 + Math.floor(random() * 3) }, () => constant(c)).join(', ')})`;
        case 'null':
          return `${name} IS ${pick(['', 'NOT '])}NULL`;
        case 'not':
          return `NOT (${name} ${op} ${constant(c)})`;
        default:
          return `coalesce(${name}, ${constant(c)}) ${op} ${constant(c)}`;
      }
    };
    const filter = (depth: number): string => {
      if (depth === 0 || random() < 0.4) return atom();
      const parts = Array.from({ length: 2 + Math.floor(random() * 2) }, () => filter(depth - 1));
      return `(${parts.join(pick([' AND ', ' AND ', ' OR ']))})`;
    };
    let decided = 0;
    let pruned = 0;
    for (let i = 0; i < 400; i++) {
      const where = filter(2);
      const matching = await matchingParts(where);
      if (!matching) continue;
      decided += 1;
      const skip = await skipped(where);
      const wrong = skip.filter((p) => matching.has(p));
      expect({ where, wrongly_skipped: wrong }).toEqual({ where, wrongly_skipped: [] });
      pruned += skip.filter((p) => p !== 2).length;
    }
    // The filters mostly run, and prune a fair share of parts (the test could fail both ways).
    expect(decided).toBeGreaterThan(300);
    expect(pruned).toBeGreaterThan(200);
  });

  it('skips every part a comparison of the column’s own type rules out by its range', async () => {
    for (const c of COLUMNS.filter((c) => c.type !== 'BOOLEAN')) {
      const sample = await rows(
        `SELECT "${c.name}"::VARCHAR FROM src WHERE "${c.name}" IS NOT NULL USING SAMPLE 5 ROWS`,
      );
      for (const [v] of sample) {
        const value = `CAST(${quote(String(v))} AS ${c.type})`;
        for (const op of ['<', '>', '=', '<=', '>=']) {
          const outside = {
            '<': 'mn >= v',
            '>': 'mx <= v',
            '=': 'v < mn OR v > mx',
            '<=': 'mn > v',
            '>=': 'mx < v',
          }[op];
          const expected = await rows(
            `SELECT part FROM (SELECT part, min("${c.name}") mn, max("${c.name}") mx FROM src GROUP BY part), (SELECT ${value} v)
             WHERE mn IS NULL OR ${outside} ORDER BY part`,
          );
          const want = [...new Set([2, ...expected.map((r) => Number(r[0]))])].sort();
          const where = `"${c.name}" ${op} ${value}`;
          expect({ where, skipped: await skipped(where) }).toEqual({ where, skipped: want });
        }
      }
    }
  });

  it('prunes on the other columns when one has a type it does not compare', async () => {
    const odd: TableColumn = { name: 'odd', type: 'STRUCT(a INTEGER, "b, c" VARCHAR)' };
    const parts = table.parts?.map((p) => ({
      ...p,
      columnRanges: { ...p.columnRanges, odd: p.index === 4 ? null : { min: '1', max: '2' } },
    }));
    const withOdd = { ...table, columns: [...COLUMNS, odd], parts };
    const skip = await partsToSkip(
      con,
      "k >= 300 AND odd IS NOT NULL AND odd = {'a': 1, 'b, c': 'x'}",
      withOdd,
    );
    expect([...skip.keys()].sort()).toEqual([0, 1, 2, 4]);
    expect(skip.get(4)).toBe('odd range (only NULLs) is outside the filter');
  });

  it('keeps every part when a range literal is not one constant', async () => {
    const parts = table.parts?.map((p) => ({
      ...p,
      columnRanges: { ...p.columnRanges, k: { min: '0 UNION SELECT 1', max: '(SELECT 5)' } },
    }));
    expect(await partsToSkip(con, 'k < -1', { ...table, parts })).toEqual(new Map([[2, 'empty']]));
  });
});
