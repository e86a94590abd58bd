/**
 * Reference tables (src/coordinator/catalog/reference-tables.ts): the coordinator's own copies of
 * small unsplit tables. Over real NATS, S3 and containers: once copied, a table is served
 * from the copy and every query of the differential corpus answers as the oracle; a table
 * over the row limit is never copied; the byte budget evicts the least recently used copy;
 * and a container restarted with other data is never answered from the stale copy.
 */
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalCluster,
  type ManagedProcess,
  startCliProcess,
  startLocalCluster,
} from '../../src/tools/local-cluster.js';
import { S3_EMULATOR_CREDENTIALS, S3_EMULATOR_ENV } from '../../src/tools/s3-emulator.js';
import { createS3Client, uploadFiles } from '../../src/tools/s3-upload.js';
import { writeSampleData } from '../../src/tools/sample-data.js';
import { singleNodeDuckDB } from '../../src/tools/single-node.js';
import { askCoordinator } from '../helpers/coordinator.js';
import { canonicalRows, describeAgainstOracle, oracleAnswer } from '../helpers/oracle.js';
import { DIFF_QUERIES } from './differential-queries.js';

interface TableStats {
  table: string;
  transport: string;
  rows: number;
  version?: string;
}

const COPIED = 'coordinator copy';
/** labels (2,000 rows) is copied; label_sublabels and label_urls (10,000 each) are not. */
const ROW_LIMIT = ['--reference-table-rows', '5000'];
const JOIN = `SELECT l.name, count(*) AS n FROM labels l JOIN label_sublabels s ON s.label_id = l.label_id
  WHERE s.sublabel_id % 7 = 0 GROUP BY l.name`;

const ALL_THREE = `SELECT l.name, s.sublabel_name, u.url FROM labels l JOIN label_sublabels s USING (label_id)
  JOIN label_urls u ON u.sublabel_id = s.sublabel_id WHERE u.url_id % 13 = 0`;

let cluster: LocalCluster;
/** Copies labels only. */
let coordinator: ManagedProcess;
/** Copies every table (the default limits). */
let copying: ManagedProcess;
let oracle: DuckDBConnection;

beforeAll(async () => {
  cluster = await startLocalCluster({ labels: 2_000 });
  [coordinator, copying] = await Promise.all([
    cluster.startCoordinator(ROW_LIMIT),
    cluster.startCoordinator(),
  ]);
  oracle = await singleNodeDuckDB(cluster.sample.files);
}, 240_000);

afterAll(async () => {
  oracle?.closeSync();
  await cluster?.stop();
});

async function statsOf(proc: ManagedProcess, sql: string): Promise<TableStats[]> {
  const body = await askCoordinator<{ tables: TableStats[] }>(proc, sql);
  expect(body.status, body.message).toBe(200);
  return body.stats.tables;
}

/** Asks `sql` until `table` is served from the copy (it is filled in the background). */
async function untilCopied(proc: ManagedProcess, sql: string, table: string): Promise<TableStats> {
  for (let i = 0; i < 100; i++) {
    const served = (await statsOf(proc, sql)).find((t) => t.table === table);
    if (served?.transport === COPIED) return served;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${table} was never served from the coordinator's copy`);
}

describe('served from the copy', () => {
  it('serves a small table from its copy, and never copies one over the row limit', async () => {
    const labels = await untilCopied(coordinator, JOIN, 'labels');
    expect(labels.rows).toBe(2_000);
    expect(labels.version).toMatch(/^[0-9a-f]{16}$/);
    for (let i = 0; i < 3; i++) {
      const tables = await statsOf(coordinator, JOIN);
      expect(tables.find((t) => t.table === 'label_sublabels')?.transport).toBe('nats');
    }
    const explained = await askCoordinator<unknown>(coordinator, `EXPLAIN ${JOIN}`);
    expect(JSON.stringify(explained.results)).toContain("the coordinator's copy");
  });
});

it('serves every table of a join from copies once they are filled', async () => {
  for (const table of ['labels', 'label_sublabels', 'label_urls'])
    await untilCopied(copying, ALL_THREE, table);
  const tables = await statsOf(copying, ALL_THREE);
  expect(tables.map((t) => t.transport)).toEqual([COPIED, COPIED, COPIED]);
});

// Every query of the corpus over a coordinator serving labels alone, and every table, from copies.
describeAgainstOracle(
  'differential over copies',
  DIFF_QUERIES,
  { 'labels copied': () => coordinator, 'every table copied': () => copying },
  () => oracle,
);

it('never serves from copies with pushdown off (the baseline mode)', async () => {
  const baseline = await cluster.startCoordinator(['--no-pushdown']);
  try {
    for (let i = 0; i < 5; i++) {
      const tables = await statsOf(baseline, JOIN);
      expect(tables.map((t) => t.transport)).toEqual(['nats', 'nats']);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await baseline.stop();
  }
});

/** The bytes a copy took, from the coordinator's log. */
function copiedBytes(proc: ManagedProcess, table: string): number {
  const line = proc
    .output()
    .split('\n')
    .find((l) => l.includes('reference table copied') && l.includes(`"table":"${table}"`));
  const bytes = line?.match(/"bytes":(\d+)/)?.[1];
  if (!bytes) throw new Error(`no copy of ${table} logged: ${proc.output().slice(-2_000)}`);
  return Number(bytes);
}

it('evicts the least recently used copy past the byte budget', async () => {
  const sublabels =
    'SELECT s.sublabel_name, u.url FROM label_sublabels s JOIN label_urls u USING (sublabel_id) WHERE u.url_id % 11 = 0';
  const roomy = await cluster.startCoordinator();
  await untilCopied(roomy, JOIN, 'labels');
  await untilCopied(roomy, sublabels, 'label_sublabels');
  const [a, b] = [copiedBytes(roomy, 'labels'), copiedBytes(roomy, 'label_sublabels')];
  await roomy.stop();
  // Room for either copy, not both.
  const tight = await cluster.startCoordinator([
    '--reference-table-bytes',
    String(Math.max(a, b) + Math.floor(Math.min(a, b) / 2)),
  ]);
  await untilCopied(tight, JOIN, 'labels');
  await untilCopied(tight, sublabels, 'label_sublabels');
  const tables = await statsOf(tight, JOIN);
  expect(tables.find((t) => t.table === 'labels')?.transport).toBe('nats');
  await tight.stop();
});

it('never answers from a copy of data its container no longer holds', async () => {
  await untilCopied(coordinator, JOIN, 'labels');
  // Other labels under the same key: a new ETag, so a new data version.
  const other = await writeSampleData(join(cluster.dir, 'other'), { labels: 2_000, seed: 99 });
  const client = createS3Client({ endpoint: cluster.s3.endpoint, credentials: S3_EMULATOR_CREDENTIALS });
  const [url] = await uploadFiles(client, { bucket: 'sample-data', prefix: '' }, [other.files.labels]);
  client.destroy();
  await cluster.containers.labels.stop();
  cluster.adopt(
    await startCliProcess(
      'labels',
      [
        'serve',
        url,
        '--table-name',
        'labels',
        '--nats',
        cluster.nats.url,
        '--s3-endpoint',
        cluster.s3.endpoint,
      ],
      S3_EMULATOR_ENV,
    ),
  );
  const fresh = await singleNodeDuckDB({ ...cluster.sample.files, labels: other.files.labels });
  try {
    const expected = await oracleAnswer(fresh, JOIN);
    const stale = await oracleAnswer(oracle, JOIN);
    expect(canonicalRows(expected.columns, expected.rows, false)).not.toEqual(
      canonicalRows(stale.columns, stale.rows, false),
    );
    // Every answer from now on is the new data (a 503 while the catalog learns of the new
    // container aside), the first ones before the catalog's next refresh.
    let answered = 0;
    const unavailable: string[] = [];
    for (let i = 0; i < 100 && answered < 10; i++) {
      const body = await askCoordinator<{ tables: TableStats[] }>(coordinator, JOIN);
      if (body.status === 503) unavailable.push(body.message ?? '');
      else {
        expect(body.status, body.message).toBe(200);
        expect(canonicalRows(body.columns, body.results, false)).toEqual(
          canonicalRows(expected.columns, expected.rows, false),
        );
        answered++;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(answered, unavailable.join('\n')).toBe(10);
    await untilCopied(coordinator, JOIN, 'labels');
  } finally {
    fresh.closeSync();
  }
});
