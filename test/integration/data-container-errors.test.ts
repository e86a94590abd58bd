/**
 * A load that cannot be done right ends `serve` with a non-zero exit and one clear line
 * naming what failed and where: the container never serves a wrong or partial table.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3_EMULATOR_ENV } from '../../src/tools/s3-emulator.js';
import { freePort, killChildren, serveUntilExit } from '../helpers/processes.js';
import { startTestS3, type TestS3 } from '../helpers/s3.js';

const BUCKET = 'broken-data';

function csv(header: string, rows: number, row: (i: number) => string): string {
  return `${[header, ...Array.from({ length: rows }, (_, i) => row(i))].join('\n')}\n`;
}

/**
 * The lines that report the failure (not the info progress lines before it), log lines as
 * `level [component] msg`; a usage error is a plain line.
 */
function failureLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      if (!line.startsWith('{')) return line;
      const entry = JSON.parse(line) as { level: string; component: string; msg: string };
      return `${entry.level} [${entry.component}] ${entry.msg}`;
    })
    .filter((line) => !line.startsWith('info '));
}

describe.concurrent('serve refuses to serve what it cannot load', () => {
  let s3: TestS3;

  beforeAll(async () => {
    s3 = await startTestS3();
    await s3.createBucket(BUCKET);
    const good = csv('id,name', 100, (i) => `${i},n${i}`);
    const malformed = csv('id,name', 30_000, (i) => (i === 25_000 ? '25000,a,surplus' : `${i},n${i}`));
    const whole = gzipSync(good);
    await s3.putAll(BUCKET, [
      { key: 'good.csv.gz', body: whole },
      { key: 'plain-text.csv.gz', body: good },
      { key: 'truncated.csv.gz', body: whole.subarray(0, whole.length - 12) },
      { key: 'malformed.csv.gz', body: gzipSync(malformed) },
      { key: 'empty.csv.gz', body: Buffer.alloc(0) },
      { key: 'renamed.csv.gz', body: gzipSync(csv('id,label', 10, (i) => `${i},x${i}`)) },
      { key: 'retyped.csv.gz', body: gzipSync(csv('id,name', 10, (i) => `${i}.5,x${i}`)) },
    ]);
  });

  afterAll(async () => {
    await killChildren();
    await s3?.stop();
  });

  async function failure(urls: string[], env: NodeJS.ProcessEnv = S3_EMULATOR_ENV, endpoint = s3.endpoint) {
    const result = await serveUntilExit([...urls, '--table-name', 'broken', '--s3-endpoint', endpoint], env);
    expect(result.code).toBe(1);
    const lines = failureLines(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error \[serve:broken\] cannot load table broken: /);
    return lines[0];
  }

  const url = (key: string) => `s3://${BUCKET}/${key}`;

  it('a missing bucket', async () => {
    expect(await failure(['s3://no-such-bucket/x.csv.gz'])).toMatch(
      `bucket "no-such-bucket" does not exist at ${s3.endpoint}`,
    );
  });

  it('a missing key', async () => {
    expect(await failure([url('good.csv.gz'), url('missing.csv.gz')])).toMatch(
      `object ${url('missing.csv.gz')} does not exist at ${s3.endpoint}`,
    );
  });

  it('access denied', async () => {
    const line = await failure([url('good.csv.gz')], { ...S3_EMULATOR_ENV, AWS_ACCESS_KEY_ID: 'NOT-A-KEY' });
    expect(line).toMatch(`access denied to ${url('good.csv.gz')} at ${s3.endpoint}`);
  });

  it('a wrong endpoint, after retries with backoff', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const line = await failure([url('good.csv.gz')], S3_EMULATOR_ENV, dead);
    expect(line).toMatch(`cannot reach S3 endpoint ${dead} for ${url('good.csv.gz')} after 5 attempts`);
    expect(Date.now() - started).toBeGreaterThan(3_000); // 0.25 + 0.5 + 1 + 2 s of backoff
  });

  it('an object that is not gzip', async () => {
    expect(await failure([url('plain-text.csv.gz')])).toMatch(`${url('plain-text.csv.gz')} is not gzip data`);
  });

  it('a truncated gzip object', async () => {
    expect(await failure([url('truncated.csv.gz')])).toMatch(
      `${url('truncated.csv.gz')} is a truncated gzip stream`,
    );
  });

  it('malformed CSV, naming the object and the line', async () => {
    const line = await failure([url('malformed.csv.gz')]);
    expect(line).toMatch(
      `malformed CSV in ${url('malformed.csv.gz')} at line 25002: Expected Number of Columns: 2 Found: 3`,
    );
    expect(line).toMatch('(line: 25000,a,surplus)');
  });

  it('an empty object', async () => {
    expect(await failure([url('empty.csv.gz')])).toMatch(`${url('empty.csv.gz')} is empty (0 bytes)`);
  });

  it('objects that disagree on column names', async () => {
    expect(await failure([url('good.csv.gz'), url('renamed.csv.gz')])).toMatch(
      `schema of ${url('renamed.csv.gz')} differs from that of ${url('good.csv.gz')}: column 2 is named "label" where the first object has "name"`,
    );
  });

  it('objects that disagree on column types', async () => {
    expect(await failure([url('good.csv.gz'), url('retyped.csv.gz')])).toMatch(
      `schema of ${url('retyped.csv.gz')} differs from that of ${url('good.csv.gz')}: column "id" is DOUBLE where the first object with rows has BIGINT`,
    );
  });

  it('a glob that matches nothing', async () => {
    expect(await failure([url('nothing-*.csv.gz')])).toMatch(`no objects match ${url('nothing-*.csv.gz')}`);
  });

  it('an invalid table name', async () => {
    const result = await serveUntilExit(
      [url('good.csv.gz'), '--table-name', 'bad-name;drop'],
      S3_EMULATOR_ENV,
    );
    expect(result.code).toBe(2);
    expect(failureLines(result.stderr)).toEqual([
      'duckdb-s3-query serve: tableName: a table name is a letter or _ then letters, digits or _ (at most 63)',
    ]);
  });
});
