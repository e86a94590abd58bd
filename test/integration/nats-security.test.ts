/**
 * The whole system (S3 API, a data container per table, a coordinator) on a nats-server run
 * with deploy/nats/permissions.conf, each process logged in as its role. Queries stay right
 * (compared with the oracle), and a rogue client of each role, holding that role's password,
 * can neither read rows it has no business with, forge a reply (a forged reply once made
 * `count(*)` answer 31337 with 200), cancel another's query, nor take a table offline.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { Svcm } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, type NatsRole } from '../../src/nats/connect.js';
import { encode } from '../../src/protocol/codec.js';
import { openNatsScan } from '../../src/scan-client/nats-scan.js';
import { type LocalCluster, type ManagedProcess, startLocalCluster } from '../../src/tools/local-cluster.js';
import { singleNodeDuckDB } from '../../src/tools/single-node.js';
import { askCoordinator } from '../helpers/coordinator.js';
import { canonicalRows, oracleAnswer } from '../helpers/oracle.js';

const PERMISSIONS = join(import.meta.dirname, '..', '..', 'deploy', 'nats', 'permissions.conf');
/** nats-server user of each process, as deploy/nats/permissions.conf names them. */
const USERS = ['coordinator', 'scan', 'serve_labels', 'serve_label_sublabels', 'serve_label_urls'] as const;
type User = (typeof USERS)[number];
// nats-server parses a variable's value as config: a password starting with a digit is read as a number.
const passwords = Object.fromEntries(USERS.map((u) => [u, `pw${randomBytes(12).toString('hex')}`])) as Record<
  User,
  string
>;
const env = Object.fromEntries(USERS.map((u) => [`NATS_${u.toUpperCase()}_PASSWORD`, passwords[u]]));
const withUser = (user: User, serverUrl: string) =>
  serverUrl.replace('nats://', `nats://${user}:${passwords[user]}@`);

let cluster: LocalCluster;
let coordinator: ManagedProcess;
let oracle: DuckDBConnection;

beforeAll(async () => {
  cluster = await startLocalCluster({
    labels: 3_000,
    natsServer: { include: PERMISSIONS, env },
    natsUrl: (who, url) => withUser(who === 'coordinator' ? 'coordinator' : (`serve_${who}` as User), url),
  });
  coordinator = await cluster.startCoordinator();
  oracle = await singleNodeDuckDB(cluster.sample.files);
}, 180_000);

afterAll(async () => {
  oracle?.closeSync();
  await cluster?.stop();
});

interface Rogue {
  nc: NatsConnection;
  /** Permission violations the server reported to it so far. */
  violations: string[];
}

/** A client of `role` logged in as `user`, recording the permission violations it gets. */
async function rogue(user: User, role: NatsRole): Promise<Rogue> {
  const nc = await connectNats({ url: withUser(user, cluster.nats.url) }, { role, name: `rogue ${user}` });
  const violations: string[] = [];
  void (async () => {
    for await (const status of nc.status())
      if (status.type === 'error') violations.push(status.error.message);
  })();
  return { nc, violations };
}

/** Rogues of every role but the container of `labels` itself, which is trusted with its own table. */
const ROGUES: [string, User, NatsRole][] = [
  ['a coordinator', 'coordinator', 'coordinator'],
  ['the scan command', 'scan', 'scan'],
  ['the container of another table', 'serve_label_urls', 'serve'],
];

async function expectAnswerAsOracle(sql: string): Promise<void> {
  const expected = await oracleAnswer(oracle, sql);
  const actual = await askCoordinator(coordinator, sql);
  expect(actual.status, JSON.stringify(actual).slice(0, 300)).toBe(200);
  expect(actual.columns).toEqual(expected.columns);
  expect(canonicalRows(actual.columns, actual.results, false)).toEqual(
    canonicalRows(expected.columns, expected.rows, false),
  );
}

const until = async (check: () => boolean, ms = 3_000) => {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
};

/** Subscribes and says whether the server refused it (the subscription closes with a permissions error). */
async function subscribeRefused(r: Rogue, subject: string): Promise<boolean> {
  const sub = r.nc.subscribe(subject);
  const closed = await Promise.race([
    sub.closed.then((err) => (err ? String(err) : 'closed')),
    new Promise<string>((resolve) => setTimeout(() => resolve('open'), 2_000)),
  ]);
  if (closed === 'open') sub.unsubscribe();
  return /Permissions Violation for Subscription/.test(closed);
}

describe('the system on deploy/nats/permissions.conf', () => {
  it('refuses a client without credentials, and one with a wrong password', async () => {
    await expect(
      connectNats(
        { url: cluster.nats.url },
        { role: 'scan', name: 'anonymous', connection: { maxReconnectAttempts: 0 } },
      ),
    ).rejects.toThrow(/Authorization Violation/);
    await expect(
      connectNats(
        { url: cluster.nats.url.replace('nats://', 'nats://coordinator:guess@') },
        { role: 'coordinator', name: 'guess', connection: { maxReconnectAttempts: 0 } },
      ),
    ).rejects.toThrow(/Authorization Violation/);
  });

  it.each([
    'SELECT count(*) AS n FROM labels',
    // Many frames (acks on the control subject) and a join (a dynamic filter on it too).
    'SELECT * FROM label_urls',
    'SELECT l.category, count(*) AS n, sum(length(u.url)) AS chars FROM labels l JOIN label_urls u USING (label_id) WHERE l.score < 10 GROUP BY l.category',
    'SELECT s.sublabel_name, l.name FROM label_sublabels s JOIN labels l ON s.label_id = l.label_id WHERE l.label_id < 50',
  ])('answers as the oracle: %s', async (sql) => {
    await expectAnswerAsOracle(sql);
  });

  it('shows no password in logs or answers', async () => {
    const listing = await (await fetch(`${coordinator.url}/`)).text();
    const outputs = [
      listing,
      coordinator.output(),
      ...Object.values(cluster.containers).map((c) => c.output()),
    ];
    expect(coordinator.output()).toMatch(/connected to NATS/);
    for (const text of outputs) {
      for (const password of Object.values(passwords)) expect(text).not.toContain(password);
    }
  });

  describe.each(ROGUES)('a rogue %s', (_what, user, role) => {
    it('cannot read the rows of tables or replies it has no business with', async () => {
      const r = await rogue(user, role);
      try {
        // Requests to labels, and other roles' replies.
        for (const subject of ['duckdb.labels.>', 'duckdb.>', '>', '_INBOX.>']) {
          expect(await subscribeRefused(r, subject), subject).toBe(true);
        }
        for (const inbox of ['_INBOX_coordinator.>', '_INBOX_scan.>'].filter(
          (i) => i !== `_INBOX_${role}.>`,
        )) {
          expect(await subscribeRefused(r, inbox), inbox).toBe(true);
        }
        if (role === 'serve') {
          // A container may not ask another table for its rows.
          const scan = openNatsScan(r.nc, 'labels', { columns: [] }, { idleTimeoutMs: 1_500 });
          await expect(scan.next()).rejects.toThrow();
          await until(() => r.violations.some((v) => /Publish to "duckdb\.labels\.scan"/.test(v)));
          expect(r.violations.join('\n')).toMatch(
            /Permissions Violation for Publish to "duckdb\.labels\.scan"/,
          );
        }
      } finally {
        await r.nc.close();
      }
    });

    it('cannot forge a reply: the answer stays the oracle’s', async () => {
      const r = await rogue(user, role);
      try {
        const forged = encode({ results: [{ n: 31337 }], columns: ['n'] }, 'json');
        // Answer the table's requests first, as a container would...
        for (const subject of ['duckdb.labels.query', 'duckdb.labels.scan']) {
          for (const queue of [undefined, 'q']) {
            const sub = r.nc.subscribe(subject, {
              queue,
              callback: (_err, msg) => {
                if (msg.reply) r.nc.publish(msg.reply, forged);
              },
            });
            expect(await sub.closed.then(String)).toMatch(/Permissions Violation for Subscription/);
          }
        }
        // ...or write into the requesters' inboxes directly.
        r.nc.publish('_INBOX_coordinator.x', forged);
        r.nc.publish('_INBOX_scan.x', forged);
        await until(() => r.violations.filter((v) => /Publish to "_INBOX_/.test(v)).length >= 2);
        expect(r.violations.join('\n')).toMatch(/Publish to "_INBOX_coordinator\.x"/);
        expect(r.violations.join('\n')).toMatch(/Publish to "_INBOX_scan\.x"/);
        for (let i = 0; i < 3; i++) await expectAnswerAsOracle('SELECT count(*) AS n FROM labels');
      } finally {
        await r.nc.close();
      }
    });

    it('cannot cancel another’s query', async () => {
      const r = await rogue(user, role);
      try {
        // It cannot hear the control subjects of another table's scans...
        expect(await subscribeRefused(r, 'duckdb.labels.control.>')).toBe(true);
        // ...and a cancel sent to every subject it may name reaches none.
        const cancel = encode({ type: 'cancel', reason: 'rogue' }, 'json');
        const targets = [
          'duckdb.labels.control.*',
          'duckdb.labels.control.>',
          'duckdb.*.control.*',
          'duckdb.>',
        ];
        const spam = setInterval(() => {
          for (const subject of targets) r.nc.publish(subject, cancel);
        }, 2);
        try {
          await Promise.all([
            expectAnswerAsOracle('SELECT * FROM labels'),
            expectAnswerAsOracle('SELECT u.url, l.name FROM label_urls u JOIN labels l USING (label_id)'),
          ]);
        } finally {
          clearInterval(spam);
        }
      } finally {
        await r.nc.close();
      }
    });

    it('cannot take a table offline or change its columns by claiming it in discovery', async () => {
      const r = await rogue(user, role);
      const claim = (table: string) => ({
        name: 'duckdb-table',
        version: '0.1.0',
        queue: 'q',
        metadata: {
          table,
          shard: '7',
          columns: JSON.stringify([{ name: 'forged', type: 'INTEGER' }]),
          row_count: '31337',
        },
      });
      const fakes = await Promise.allSettled(
        ['labels', 'ghost'].map(async (table) => {
          const service = await new Svcm(r.nc).add(claim(table));
          // Endpoints where this client may subscribe, if anywhere: the claim is what counts.
          service.addEndpoint('scan', { subject: `duckdb.${user.replace('serve_', '')}.fake_${table}` });
          return service;
        }),
      );
      try {
        await r.nc.flush();
        // Discovery runs every 5 s: give it two turns.
        const deadline = Date.now() + 11_000;
        while (Date.now() < deadline) {
          const listing = (await (await fetch(`${coordinator.url}/`)).json()) as {
            tables: { name: string; columns: { name: string }[]; error?: string; instances: number }[];
          };
          const labels = listing.tables.find((t) => t.name === 'labels');
          expect(labels?.error).toBeUndefined();
          expect(labels?.columns.map((c) => c.name)).toEqual([
            'label_id',
            'name',
            'category',
            'score',
            'created_at',
          ]);
          expect(labels?.instances).toBe(1);
          expect(listing.tables.map((t) => t.name)).not.toContain('ghost');
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        await expectAnswerAsOracle('SELECT * FROM labels WHERE label_id % 100 = 0');
      } finally {
        for (const fake of fakes)
          if (fake.status === 'fulfilled') await fake.value.stop().catch(() => undefined);
        await r.nc.close();
      }
    }, 30_000);
  });
});
