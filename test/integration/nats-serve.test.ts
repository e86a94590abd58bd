/**
 * End to end through the real `serve` process: a table loaded from S3 (s3rver), registered
 * on a real nats-server, scanned over NATS and over POST /scan, and by the `scan` command.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { discoverTables } from '../../src/scan-client/discovery.js';
import { openHttpScan } from '../../src/scan-client/http-scan.js';
import { openNatsScan } from '../../src/scan-client/nats-scan.js';
import { S3_EMULATOR_ENV } from '../../src/tools/s3-emulator.js';
import { canonical, collectScan, rowKeys } from '../helpers/frames.js';
import { type NatsServer, startNatsServer } from '../helpers/nats.js';
import { CLI, killChildren, type ServeProcess, startServe } from '../helpers/processes.js';
import { gzip, startTestS3, type TestS3 } from '../helpers/s3.js';

const ROWS_PER_OBJECT = 10_000;
const IDLE = { idleTimeoutMs: 10_000 };

function csv(part: number): string {
  const lines = ['label_id,name,score'];
  for (let i = 0; i < ROWS_PER_OBJECT; i++) {
    const id = part * ROWS_PER_OBJECT + i + 1;
    const name = id % 10 === 0 ? '' : id % 7 === 0 ? `"label, ""${id}"" é"` : `label_${id}`;
    lines.push(`${id},${name},${(id % 1000) / 8}`);
  }
  return `${lines.join('\n')}\n`;
}

let nats: NatsServer;
let s3: TestS3;
let serve: ServeProcess;
let nc: NatsConnection;

beforeAll(async () => {
  [nats, s3] = await Promise.all([startNatsServer(), startTestS3()]);
  await s3.createBucket('nats-e2e');
  await s3.putAll(
    'nats-e2e',
    [0, 1].map((part) => ({ key: `labels/part-${part}.csv.gz`, body: gzip(csv(part)) })),
  );
  serve = await startServe(
    [
      's3://nats-e2e/labels/*.csv.gz',
      '--table-name',
      'labels',
      '--nats',
      nats.url,
      '--s3-endpoint',
      s3.endpoint,
    ],
    S3_EMULATOR_ENV,
  );
  nc = await connect({ servers: nats.url });
  const deadline = Date.now() + 10_000;
  while ((await discoverTables(nc)).length === 0) {
    if (Date.now() > deadline) throw new Error(`serve did not register on NATS: ${serve.stderr()}`);
  }
});

afterAll(async () => {
  await nc?.close();
  await killChildren();
  await Promise.all([nats?.dispose(), s3?.stop()]);
});

/** The container's own answer to a SELECT, through POST /query, canonical. */
async function viaQuery(query: string): Promise<string[]> {
  const response = await fetch(`${serve.url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { columns: string[]; results: Record<string, unknown>[] };
  return rowKeys(body.results.map((row) => body.columns.map((c) => canonical(row[c]))));
}

test('discovery and the metadata endpoint describe the loaded table', async () => {
  const [table] = await discoverTables(nc);
  expect(table).toMatchObject({ name: 'labels', rowCount: 2 * ROWS_PER_OBJECT });
  expect(table.columns.map((c) => c.name)).toEqual(['label_id', 'name', 'score']);
  const overNats = (await nc.request('duckdb.labels.metadata', '', { timeout: 5_000 })).json();
  expect(overNats).toEqual(await (await fetch(`${serve.url}/metadata`)).json());
});

test('NATS scans (msgpack and JSON) and POST /scan equal the container’s own SELECT', async () => {
  const request = { columns: ['label_id', 'name', 'score'], where: "name LIKE '%,%' OR label_id % 10 = 0" };
  const expected = await viaQuery(`SELECT label_id, name, score FROM labels WHERE ${request.where}`);
  expect(expected.length).toBeGreaterThan(4_000);
  for (const scan of [
    openNatsScan(nc, 'labels', request, IDLE),
    openNatsScan(nc, 'labels', request, { ...IDLE, encoding: 'json' }),
    openHttpScan(serve.url, request, IDLE),
  ]) {
    expect(rowKeys((await collectScan(scan)).rows)).toEqual(expected);
  }
});

test('the scan command prints the rows', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      CLI,
      'scan',
      'labels',
      '--columns',
      'label_id,name',
      '--where',
      'label_id IN (7, 10, 11)',
      '--format',
      'csv',
    ],
    { encoding: 'utf8', env: { ...process.env, NATS_URL: nats.url } },
  );
  const [header, ...rows] = stdout.trimEnd().split('\r\n');
  expect(header).toBe('label_id,name');
  expect(rows.sort()).toEqual(['10,', '11,label_11', '7,"label, ""7"" é"']);
});

test('a stopped container leaves the service list', async () => {
  await serve.stop();
  expect(await discoverTables(nc)).toEqual([]);
});
