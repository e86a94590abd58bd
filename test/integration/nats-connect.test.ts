/**
 * Every way src/nats/connect.ts logs in, against a real nats-server that requires it: user
 * and password in the URL (nats.js alone drops them: "Authorization Violation"), a token, an
 * nkey seed file, a creds file, and TLS with a CA and a client certificate made here with
 * openssl. Also: the CLI's flags and NATS_* variables reach it, and no secret is logged.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, nkeys } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsOptions } from '../../src/config.js';
import { connectNats, newInbox, parseNatsUrl } from '../../src/nats/connect.js';
import { redactUrl } from '../../src/redact.js';
import { type NatsServer, startNatsServer } from '../helpers/nats.js';
import { CLI, killChildren, spawnNode, waitForStderr } from '../helpers/processes.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nats-connect-'));
});
afterAll(async () => {
  await killChildren();
  await rm(dir, { recursive: true, force: true });
});

/** Connects as the options say, proves the connection works with a request/reply, closes. */
async function roundTrip(nats: NatsOptions): Promise<void> {
  const nc = await connectNats(nats, {
    role: 'scan',
    name: 'connect test',
    connection: { maxReconnectAttempts: 0, timeout: 3_000 },
  });
  try {
    nc.subscribe('ping', {
      callback: (_err, msg) => {
        msg.respond('pong');
      },
    });
    expect((await nc.request('ping', '', { timeout: 2_000 })).string()).toBe('pong');
  } finally {
    await nc.close();
  }
}

async function withServer(config: string[], test: (server: NatsServer) => Promise<void>): Promise<void> {
  const server = await startNatsServer({ config });
  try {
    await test(server);
  } finally {
    await server.dispose();
  }
}

describe('NATS URLs', () => {
  it('finds the credentials in one or several URLs and shows them redacted', () => {
    expect(parseNatsUrl('nats://u:p%40ss@a:4222,nats://u:p%40ss@b:4222')).toEqual({
      servers: ['nats://a:4222', 'nats://b:4222'],
      user: 'u',
      pass: 'p@ss',
    });
    expect(parseNatsUrl('127.0.0.1:4222')).toEqual({ servers: ['nats://127.0.0.1:4222'] });
    expect(() => parseNatsUrl('nats://u:a@x:1,nats://v:b@y:2')).toThrow(/different credentials/);
    expect(redactUrl('nats://u:secret@a:4222,tls://tok@b:4222')).toBe(
      'nats://u:[redacted]@a:4222,tls://[redacted]@b:4222',
    );
    expect(redactUrl('u:secret@a:4222')).toBe('u:[redacted]@a:4222');
    expect(redactUrl('nats://a:4222')).toBe('nats://a:4222');
  });
});

describe('logging in', () => {
  it('with user and password in the URL (nats.js alone drops them)', async () => {
    await withServer(['authorization { user: alice, password: "s3cr3t:x" }'], async (server) => {
      const url = `nats://alice:${encodeURIComponent('s3cr3t:x')}@127.0.0.1:${server.port}`;
      await expect(connect({ servers: url, maxReconnectAttempts: 0 })).rejects.toThrow(
        /Authorization Violation/,
      );
      await roundTrip({ url });
      const wrong = connectNats({ url: url.replace('s3cr3t', 'nope') }, { role: 'scan', name: 't' });
      await expect(wrong).rejects.toThrow(/Authorization Violation/);
      await expect(wrong).rejects.not.toThrow(/nope/);
    });
  });

  it('with a token, given as an option or as the URL user', async () => {
    await withServer(['authorization { token: "t0ken-abc" }'], async (server) => {
      await roundTrip({ url: server.url, token: 't0ken-abc' });
      await roundTrip({ url: `nats://t0ken-abc@127.0.0.1:${server.port}` });
      await expect(roundTrip({ url: server.url, token: 'other' })).rejects.toThrow(/Authorization Violation/);
    });
  });

  it('with an nkey seed file', async () => {
    const user = nkeys.createUser();
    const seedFile = join(dir, 'user.nk');
    await writeFile(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`);
    await withServer([`authorization { users: [{ nkey: ${user.getPublicKey()} }] }`], async (server) => {
      await roundTrip({ url: server.url, nkey: seedFile });
      await expect(roundTrip({ url: server.url })).rejects.toThrow(/Authorization Violation/);
      const notASeed = join(dir, 'public.nk');
      await writeFile(notASeed, user.getPublicKey());
      await expect(roundTrip({ url: server.url, nkey: notASeed })).rejects.toThrow(
        /--nats-nkey .* no user nkey seed/,
      );
      await expect(roundTrip({ url: server.url, nkey: join(dir, 'missing') })).rejects.toThrow(
        /cannot read --nats-nkey .*missing \(ENOENT\); fix --nats-nkey \/ NATS_NKEY/,
      );
    });
  });

  it('with a creds file: nats-server 2.9 without an operator checks its nkey, not its JWT', async () => {
    const user = nkeys.createUser();
    const creds = join(dir, 'user.creds');
    // Without an operator (trusted keys) the server ignores the JWT and checks the nkey's signature.
    const jwt = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln';
    const seed = new TextDecoder().decode(user.getSeed());
    await writeFile(
      creds,
      `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n` +
        `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`,
    );
    await withServer([`authorization { users: [{ nkey: ${user.getPublicKey()} }] }`], async (server) => {
      await roundTrip({ url: server.url, creds });
      await expect(roundTrip({ url: server.url, creds: join(dir, 'none.creds') })).rejects.toThrow(
        /cannot read --nats-creds/,
      );
    });
  });

  it('over TLS, checking the server against a CA and showing a client certificate', async () => {
    const tls = makeCertificates(dir);
    const config = [
      `tls { cert_file: "${tls.serverCert}", key_file: "${tls.serverKey}", ca_file: "${tls.ca}", verify: true, timeout: 5 }`,
    ];
    await withServer(config, async (server) => {
      await roundTrip({ url: server.url, tlsCa: tls.ca, tlsCert: tls.clientCert, tlsKey: tls.clientKey });
      // No client certificate: the server refuses. No CA: the client refuses the server.
      await expect(roundTrip({ url: server.url, tlsCa: tls.ca })).rejects.toThrow();
      await expect(
        roundTrip({ url: server.url, tlsCert: tls.clientCert, tlsKey: tls.clientKey }),
      ).rejects.toThrow();
      await expect(roundTrip({ url: server.url, tlsCa: tls.ca, tlsCert: tls.clientCert })).rejects.toThrow(
        /--nats-tls-cert needs --nats-tls-key/,
      );
    });
  });

  it('gives every connection the inbox prefix of its role, or the one it is given', async () => {
    await withServer([], async (server) => {
      const coordinator = await connectNats({ url: server.url }, { role: 'coordinator', name: 't' });
      const own = await connectNats(
        { url: server.url, inboxPrefix: '_INBOX_c1' },
        { role: 'coordinator', name: 't' },
      );
      expect(newInbox(coordinator)).toMatch(/^_INBOX_coordinator\.\w+$/);
      expect(newInbox(own)).toMatch(/^_INBOX_c1\.\w+$/);
      await Promise.all([coordinator.close(), own.close()]);
    });
  });
});

describe('the CLI', () => {
  it('reads the NATS_* variables (flags win), and logs the URL without its password', async () => {
    await withServer(['authorization { user: bob, password: "pa55word" }'], async (server) => {
      const scan = spawnNode([CLI, 'scan', 'nothing', '--timeout-ms', '500'], {
        NATS_URL: `nats://bob:pa55word@127.0.0.1:${server.port}`,
      });
      // Logged in: the scan gets as far as finding nobody serving the table.
      expect(await scan.exited).toBe(1);
      expect(scan.stderr()).toMatch(/no data container serves table "nothing"/);
      const coordinator = spawnNode([CLI, 'coordinator', '--port', '0', '--host', '127.0.0.1'], {
        NATS_URL: `nats://bob:wrong-pa55@127.0.0.1:${server.port}`,
      });
      await waitForStderr(coordinator, /Authorization Violation/);
      await coordinator.stop();
      expect(coordinator.stderr()).toMatch(/bob:\[redacted\]@/);
      expect(coordinator.stderr()).not.toMatch(/wrong-pa55/);
      const token = spawnNode([CLI, 'scan', 'nothing', '--timeout-ms', '500', '--nats-token', 'flag-wins'], {
        NATS_URL: server.url,
        NATS_TOKEN: 'pa55word',
      });
      expect(await token.exited).toBe(1);
      expect(token.stderr()).toMatch(/Authorization Violation/);
    });
  });
});

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
function makeCertificates(at: string) {
  const path = (name: string) => join(at, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: at, stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  );
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ]) {
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    );
    const extFile = path(`${name}.ext`);
    writeFileSync(extFile, `${ext}\n`);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      extFile,
      '-out',
      `${name}.pem`,
    );
  }
  return {
    ca: path('ca.pem'),
    serverCert: path('server.pem'),
    serverKey: path('server.key'),
    clientCert: path('client.pem'),
    clientKey: path('client.key'),
  };
}
