/**
 * The coordinator's catalog of a table split into parts, found on a real NATS server from
 * real data containers: parts with their replicas, rows and ranges; a replica with other data
 * refused and accepted again once it is gone; pruning with the ranges the containers report;
 * the split shown to SQL clients (information_schema).
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedTable } from '../../src/bench/generated-table.js';
import { Catalog } from '../../src/coordinator/catalog/catalog.js';
import { CatalogMirror } from '../../src/coordinator/catalog/catalog-mirror.js';
import { partsToSkip } from '../../src/coordinator/execute/shards/prune.js';
import { startTableService, type TableService } from '../../src/data-container/nats-service.js';
import { createLogger } from '../../src/log.js';
import { type ManagedProcess, startCliProcess } from '../../src/tools/local-cluster.js';
import { type NatsServer, startNatsServer } from '../helpers/nats.js';

const log = createLogger('split-catalog');
let nats: NatsServer;
let nc: NatsConnection;
const services: TableService[] = [];

/** Part `index` of 3 of `events`: rows of ids [from, to), from the same SELECT for its replicas. */
async function serve(index: number, from: number, to: number): Promise<TableService> {
  const select = `SELECT i::BIGINT AS id, DATE '2020-01-01' + i::INTEGER AS day FROM range(${from}, ${to}) t(i)`;
  const table = await generatedTable('events', select, { index, count: 3 });
  const service = await startTableService(table, { url: nats.url }, log);
  await service.ready;
  services.push(service);
  return service;
}

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  // Part 0 twice (replicas), part 1 once, part 2 empty.
  await Promise.all([serve(0, 0, 100), serve(0, 0, 100), serve(1, 100, 250), serve(2, 0, 0)]);
});

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await nc?.close();
  await nats?.dispose();
});

/** The catalog's entry once discovery has seen `instances` containers of it. */
async function discovered(catalog: Catalog, instances: number) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await catalog.refresh();
    const table = catalog.get('events');
    if (table?.instances === instances || Date.now() > deadline) return table;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('a split table found on NATS', () => {
  it('has every part with its subject, replicas, rows and ranges, and prunes with them', async () => {
    const catalog = new Catalog(undefined, nc, log);
    const table = await discovered(catalog, 4);
    expect(table?.error).toBeUndefined();
    expect(table).toMatchObject({ location: 'duckdb.events.{0..2}.scan', rowCount: 250, instances: 4 });
    expect(table?.parts?.map((p) => [p.index, p.subject, p.instances, p.rowCount])).toEqual([
      [0, 'duckdb.events.0.scan', 2, 100],
      [1, 'duckdb.events.1.scan', 1, 150],
      [2, 'duckdb.events.2.scan', 1, 0],
    ]);
    expect(table?.parts?.[1].columnRanges.id).toEqual({
      min: expect.stringContaining('100'),
      max: expect.stringContaining('249'),
    });

    const instance = await DuckDBInstance.create(':memory:');
    const con = await instance.connect();
    try {
      const skip = await partsToSkip(con, "id >= 120 AND day > '2020-02-01'", table!);
      expect([...skip.keys()].sort()).toEqual([0, 2]);
      expect(skip.get(0)).toBe('id range 0..99 is outside the filter');
      expect(skip.get(2)).toBe('empty');
      expect([...(await partsToSkip(con, 'id < 100', table!)).keys()].sort()).toEqual([1, 2]);
    } finally {
      con.closeSync();
      instance.closeSync();
    }

    const mirror = await (await CatalogMirror.of(catalog)).connect();
    try {
      const comment = await mirror.runAndReadAll(
        "SELECT TABLE_COMMENT FROM information_schema.tables WHERE table_name = 'events'",
      );
      expect(comment.getRows()).toEqual([['split into parts, served at duckdb.events.{0..2}.scan']]);
    } finally {
      mirror.closeSync();
    }
    catalog.stop();
  });

  it('is listed by a coordinator with its parts, and a query names the part that holds other data', async () => {
    const coordinator: ManagedProcess = await startCliProcess('coordinator', [
      'coordinator',
      '--nats',
      nats.url,
    ]);
    try {
      type Listed = { name: string; source: string; parts?: unknown[]; error?: string };
      const listed = async () => {
        const body = (await (await fetch(`${coordinator.url}/`)).json()) as { tables: Listed[] };
        return body.tables.find((t) => t.name === 'events');
      };
      const deadline = Date.now() + 15_000;
      while (!(await listed())?.parts && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(await listed()).toMatchObject({
        source: 'duckdb.events.{0..2}.scan',
        parts: [
          { index: 0, subject: 'duckdb.events.0.scan', replicas: 2, row_count: 100 },
          { index: 1, subject: 'duckdb.events.1.scan', replicas: 1, row_count: 150 },
          { index: 2, subject: 'duckdb.events.2.scan', replicas: 1, row_count: 0 },
        ],
      });
      const stale = await serve(1, 100, 251);
      let answer: { status: number; message?: string } = { status: 0 };
      while (Date.now() < deadline + 15_000) {
        const response = await fetch(`${coordinator.url}/query`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: 'SELECT count(*) FROM events' }),
        });
        answer = { status: response.status, ...((await response.json()) as { message?: string }) };
        if (/different data/.test(answer.message ?? '')) break;
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(answer.status).toBe(503);
      expect(answer.message).toMatch(
        /table events cannot be queried: the replicas of part 1 \(duckdb\.events\.1\.scan\) hold different data/,
      );
      await stale.stop();
    } finally {
      await coordinator.stop();
    }
  });

  it('refuses it while a replica of part 1 holds other data, and serves it again once that is gone', async () => {
    const catalog = new Catalog(undefined, nc, log);
    const stale = await serve(1, 100, 251);
    const refused = await discovered(catalog, 5);
    expect(refused?.error).toMatch(/the replicas of part 1 \(duckdb\.events\.1\.scan\) hold different data/);
    await stale.stop();
    const back = await discovered(catalog, 4);
    expect(back?.error).toBeUndefined();
    expect(back?.rowCount).toBe(250);
    catalog.stop();
  });
});
