/**
 * Passwords and tokens in NATS and S3 URLs never reach a process's stderr: the real CLI is
 * run with credentials in its URLs, and its whole output is searched for them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../../src/tools/nats-server.js';
import { S3_EMULATOR_ENV } from '../../src/tools/s3-emulator.js';
import {
  CLI,
  freePort,
  killChildren,
  spawnNode,
  spawnServe,
  waitForStderr,
  waitHealthy,
} from '../helpers/processes.js';
import { gzip, startTestS3, type TestS3 } from '../helpers/s3.js';

const SECRET = 'Pa55-w0rd-never-logged';

let s3: TestS3;
let nats: NatsServer;
let table: string;

beforeAll(async () => {
  s3 = await startTestS3();
  nats = await startNatsServer();
  await s3.createBucket('secret-data');
  table = await s3.put('secret-data', 'labels.csv.gz', gzip('label_id,name\n1,a\n2,b\n'));
}, 60_000);

afterAll(async () => {
  await killChildren();
  await nats?.dispose();
  await s3?.stop();
});

/** nats://user:SECRET@host:port of `url`. */
const withPassword = (url: string) => url.replace('nats://', `nats://logger:${SECRET}@`);

describe('secrets in URLs', () => {
  it('a data container logs its NATS URL without the password', async () => {
    const serve = await spawnServe(
      ['--table-name', 'labels', table, '--s3-endpoint', s3.endpoint, '--nats', withPassword(nats.url)],
      S3_EMULATOR_ENV,
    );
    await waitHealthy(serve);
    await waitForStderr(serve, /registered NATS service/);
    await serve.stop();
    expect(serve.stderr()).toMatch(/nats:\/\/logger:\[redacted\]@127\.0\.0\.1/);
    expect(serve.stderr()).not.toContain(SECRET);
  });

  it('a coordinator waiting for NATS logs the URL without its password or token', async () => {
    const closed = `nats://127.0.0.1:${await freePort()}`;
    for (const url of [withPassword(closed), closed.replace('nats://', `nats://${SECRET}@`)]) {
      const coordinator = spawnNode([CLI, 'coordinator', '--nats', url, '--port', String(await freePort())]);
      await waitForStderr(coordinator, /waiting for NATS/);
      await coordinator.stop();
      expect(coordinator.stderr()).toMatch(/nats:\/\/(logger:)?\[redacted\]@127\.0\.0\.1/);
      expect(coordinator.stderr()).not.toContain(SECRET);
    }
  });

  it('a data container that cannot reach S3 says where without the secret', async () => {
    const endpoint = `http://AKIAEXAMPLE:${SECRET}@127.0.0.1:${await freePort()}`;
    const serve = await spawnServe(['--table-name', 'labels', table, '--s3-endpoint', endpoint], {
      ...S3_EMULATOR_ENV,
      LOG_LEVEL: 'debug',
    });
    expect(await serve.exited).toBe(1);
    expect(serve.stderr()).toMatch(/cannot load table labels/);
    expect(serve.stderr()).not.toContain(SECRET);
  }, 60_000);
});
