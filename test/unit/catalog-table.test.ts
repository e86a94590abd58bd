/** Discovered NATS instances → one catalog entry: whole tables, split tables, and every refusal. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/coordinator/catalog/catalog.js';
import { natsCatalogTable } from '../../src/coordinator/catalog/catalog-table.js';
import { createLogger } from '../../src/log.js';
import type { TableColumn } from '../../src/protocol/table-metadata.js';
import { type DiscoveredInstance, tablesOf } from '../../src/scan-client/discovery.js';

const COLUMNS: TableColumn[] = [
  { name: 'id', type: 'BIGINT' },
  { name: 'day', type: 'DATE' },
];

let nextId = 0;

/** An instance of part `index` of `count`; its version says which objects it loaded. */
function instance(index: number, count: number, extra: Partial<DiscoveredInstance> = {}): DiscoveredInstance {
  nextId += 1;
  return {
    id: `I${String(nextId).padStart(3, '0')}`,
    shard: { index, count },
    version: `v${index}of${count}`,
    columns: COLUMNS,
    rowCount: 10 * (index + 1),
    columnRanges: { id: { min: String(index * 100), max: String(index * 100 + 99) } },
    ...extra,
  };
}

function table(instances: DiscoveredInstance[]) {
  const [found] = tablesOf(instances.map((i) => ({ table: 'orders', instance: i })));
  return natsCatalogTable(found);
}

describe('a whole (unsplit) table', () => {
  it('is served by its replicas at the table subject, rows counted once', () => {
    const t = table([instance(0, 1), instance(0, 1)]);
    expect(t).toMatchObject({ location: 'duckdb.orders.scan', rowCount: 10, instances: 2, columns: COLUMNS });
    expect(t.error).toBeUndefined();
    expect(t.parts).toBeUndefined();
  });

  it('is refused when its replicas hold different data, naming the versions and instances', () => {
    const a = instance(0, 1, { version: 'aaaa' });
    const b = instance(0, 1, { version: 'bbbb' });
    const t = table([a, b]);
    expect(t.error).toMatch(/replicas of the table hold different data/);
    expect(t.error).toContain(`version aaaa on instance ${a.id}`);
    expect(t.error).toContain(`version bbbb on instance ${b.id}`);
  });

  it('is refused when its replicas disagree on columns, naming the column', () => {
    const retyped = [COLUMNS[0], { name: 'day', type: 'VARCHAR' }];
    const t = table([instance(0, 1), instance(0, 1, { columns: retyped })]);
    expect(t.error).toMatch(/disagree on its columns: day is VARCHAR in instance \w+, DATE in instance/);
  });
});

describe('a split table', () => {
  it('lists its parts in order with their subjects, replicas, rows, versions and ranges', () => {
    const t = table([instance(2, 3), instance(0, 3), instance(1, 3), instance(1, 3)]);
    expect(t.error).toBeUndefined();
    expect(t.location).toBe('duckdb.orders.{0..2}.scan');
    expect(t.rowCount).toBe(10 + 20 + 30);
    expect(t.instances).toBe(4);
    expect(t.parts).toEqual([
      {
        index: 0,
        subject: 'duckdb.orders.0.scan',
        instances: 1,
        rowCount: 10,
        version: 'v0of3',
        columnRanges: { id: { min: '0', max: '99' } },
      },
      expect.objectContaining({ index: 1, subject: 'duckdb.orders.1.scan', instances: 2, rowCount: 20 }),
      expect.objectContaining({ index: 2, subject: 'duckdb.orders.2.scan', instances: 1, rowCount: 30 }),
    ]);
  });

  it('is refused when containers disagree on the number of parts, saying who says what', () => {
    const two = [instance(0, 2), instance(1, 2)];
    const three = instance(0, 3);
    const whole = instance(0, 1);
    const t = table([...two, three, whole]);
    expect(t.error).toMatch(/disagree on how many parts/);
    expect(t.error).toContain(`instances ${two.map((i) => i.id).join(', ')} say it is split into 2 parts`);
    expect(t.error).toContain(`instance ${three.id} says it is split into 3 parts`);
    expect(t.error).toContain(`instance ${whole.id} says it is whole (not split)`);
    expect(t.error).toMatch(/--shard I\/N/);
  });

  it('is refused while a part has no live replica, naming the part and its subject', () => {
    const t = table([instance(0, 3), instance(2, 3)]);
    expect(t.error).toMatch(/part 1 of 3 has no live replica \(nothing answers on duckdb\.orders\.1\.scan\)/);
    expect(t.error).toMatch(/--shard 1\/3/);
    // Back once a replica of it is.
    expect(table([instance(0, 3), instance(2, 3), instance(1, 3)]).error).toBeUndefined();
  });

  it('is refused when the replicas of one part hold different data, naming the part', () => {
    const t = table([instance(0, 2), instance(1, 2), instance(1, 2, { version: 'other' })]);
    expect(t.error).toMatch(/replicas of part 1 \(duckdb\.orders\.1\.scan\) hold different data/);
    expect(t.error).toContain('version other');
    expect(t.error).not.toMatch(/part 0/);
  });

  it('is refused when parts disagree on column names or types, naming them', () => {
    const renamed = [COLUMNS[0], { name: 'date', type: 'DATE' }];
    const retyped = [{ name: 'id', type: 'VARCHAR' }, COLUMNS[1]];
    const t = table([
      instance(0, 3),
      instance(1, 3, { columns: renamed }),
      instance(2, 3, { columns: retyped }),
    ]);
    expect(t.error).toMatch(
      /parts disagree on its columns: part 1 lacks day; part 1 has date that part 0 lacks/,
    );
    expect(t.error).toMatch(/id is VARCHAR in part 2, BIGINT in part 0/);
  });

  it('takes its columns from the parts with rows: an empty part’s are not asked for', () => {
    const guessed = COLUMNS.map((c) => ({ ...c, type: 'VARCHAR' }));
    const t = table([instance(0, 3, { columns: guessed, rowCount: 0 }), instance(1, 3), instance(2, 3)]);
    expect(t.error).toBeUndefined();
    expect(t.columns).toEqual(COLUMNS);
    // With no rows anywhere, all parts must still agree.
    const empty = table([instance(0, 2, { columns: guessed, rowCount: 0 }), instance(1, 2, { rowCount: 0 })]);
    expect(empty.error).toMatch(/parts disagree on its columns/);
  });

  it('is refused when columns come in another order in one part', () => {
    const t = table([instance(0, 2), instance(1, 2, { columns: [COLUMNS[1], COLUMNS[0]] })]);
    expect(t.error).toMatch(/part 1 has them in another order \(day, id\)/);
  });

  it('is refused when two parts loaded the same objects, saying how to fix it', () => {
    const t = table([
      instance(0, 3, { version: 'same' }),
      instance(1, 3),
      instance(2, 3, { version: 'same' }),
    ]);
    expect(t.error).toMatch(/parts 0 and 2 hold the same data \(version same\)/);
    expect(t.error).toMatch(/counted twice/);
    expect(t.error).toMatch(/same URLs .* or each part its own objects/);
  });

  it('accepts empty parts with equal versions (no rows to count twice) and unversioned parts', () => {
    const t = table([
      instance(0, 4, { version: 'empty', rowCount: 0 }),
      instance(1, 4, { version: 'empty', rowCount: 0 }),
      instance(2, 4, { version: '' }),
      instance(3, 4, { version: '' }),
    ]);
    expect(t.error).toBeUndefined();
    expect(t.rowCount).toBe(30 + 40);
    expect(t.parts?.map((p) => p.rowCount)).toEqual([0, 0, 30, 40]);
  });

  it('says every problem at once', () => {
    const t = table([instance(0, 3, { version: 'x' }), instance(0, 3, { version: 'y' })]);
    expect(t.error).toMatch(
      /replicas of part 0 .*; part 1 of 3 has no live replica.*; part 2 of 3 has no live replica/,
    );
  });
});

describe('discovery', () => {
  it('counts the rows of each part once, however many replicas it has', () => {
    const found = tablesOf(
      [instance(0, 2), instance(0, 2), instance(1, 2), instance(0, 1)].map((i, k) => ({
        table: k < 3 ? 'orders' : 'lines',
        instance: i,
      })),
    );
    expect(found.map((t) => [t.name, t.rowCount, t.instances.length])).toEqual([
      ['lines', 10, 1],
      ['orders', 30, 3],
    ]);
  });
});

describe('a config.json table (HTTP)', () => {
  /** A catalog over one HTTP container whose /metadata answers `metadata`. */
  async function httpTable(metadata: unknown) {
    const server = createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(metadata));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const catalog = new Catalog(
      { tables: { orders: { url: 'http://127.0.0.1', port } } },
      undefined,
      createLogger('test'),
    );
    try {
      await catalog.refresh();
      return catalog.get('orders');
    } finally {
      server.close();
    }
  }

  const whole = { view_name: 'orders', columns: COLUMNS, row_count: 7 };

  it('reads an older container’s metadata (no shard, version or ranges) as a whole table', async () => {
    expect(await httpTable(whole)).toMatchObject({ transport: 'http', columns: COLUMNS, rowCount: 7 });
    expect((await httpTable(whole))?.error).toBeUndefined();
  });

  it('is refused when its container serves one part of a split table', async () => {
    const t = await httpTable({ ...whole, shard: { index: 1, count: 2 }, version: 'v', column_ranges: {} });
    expect(t?.error).toMatch(
      /serves only part 1 of 2 of it; serve the whole table there, or reach the parts over NATS/,
    );
  });

  it('is refused, saying what is wrong, when its metadata is not a table’s', async () => {
    const t = await httpTable({ ...whole, row_count: 'many', shard: { index: 2, count: 2 } });
    expect(t?.error).toMatch(/\/metadata is not a table's metadata \(shard: .*; row_count: /);
  });
});
