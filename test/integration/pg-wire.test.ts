/**
 * The Postgres port over real sockets: node-postgres runs the differential corpus against
 * the oracle (simple protocol) and parameterized queries (extended protocol); types, errors
 * with their SQLSTATE and cancel; psql's `\dt`, `\d labels` and a query. SHOW TABLES,
 * DESCRIBE, SHOW COLUMNS and information_schema answer from the catalog over HTTP too.
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutorContext } from '../../src/coordinator/execute/query.js';
import { OID, pgTypeOf } from '../../src/coordinator/pg-wire/pg-types.js';
import { startPgServer } from '../../src/coordinator/pg-wire/server.js';
import { columnEncoder } from '../../src/coordinator/pg-wire/values.js';
import { chunksOf } from '../../src/duckdb/json-values.js';
import { createLogger } from '../../src/log.js';
import { type LocalCluster, type ManagedProcess, startLocalCluster } from '../../src/tools/local-cluster.js';
import { freePort } from '../../src/tools/nats-server.js';
import { singleNodeDuckDB } from '../../src/tools/single-node.js';
import { askCoordinator } from '../helpers/coordinator.js';
import { DIFF_QUERIES } from './differential-queries.js';
import { PG_CLIENT_QUERIES } from './pg-client-queries.js';

const run = promisify(execFile);

let cluster: LocalCluster;
let coordinator: ManagedProcess;
let pgPort: number;
let oracle: DuckDBConnection;
let client: pg.Client;

/** Every value as the text the server sent (no parsing by node-postgres). */
const rawText = { getTypeParser: () => (value: string) => value };

function newClient(): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port: pgPort, user: 'tester', database: 'db', types: rawText });
}

beforeAll(async () => {
  cluster = await startLocalCluster({ labels: 2_000 });
  pgPort = await freePort();
  coordinator = await cluster.startCoordinator(['--pg-port', String(pgPort)]);
  oracle = await singleNodeDuckDB(cluster.sample.files);
  client = newClient();
  await client.connect();
}, 240_000);

afterAll(async () => {
  await client?.end().catch(() => undefined);
  oracle?.closeSync();
  await cluster?.stop();
});

const FLOATS = new Set<number>([OID.float4, OID.float8]);

/** Rows as comparable strings; floats to 12 digits (parallel sums differ in the last bits). */
function canonical(rows: (string | null)[][], oids: number[], ordered: boolean): string[] {
  const out = rows.map((row) =>
    row
      .map((v, c) => (v === null ? '∅' : FLOATS.has(oids[c]) ? Number(v).toPrecision(12) : v))
      .join('\u0001'),
  );
  return ordered ? out : out.sort();
}

/** The oracle's answer as Postgres text, with the type OIDs its columns get. */
async function oracleText(sql: string) {
  const result = await oracle.run(sql);
  const types = result.columnTypes();
  const rows: (string | null)[][] = [];
  for await (const chunk of chunksOf(result)) {
    const columns = types.map((t, c) => columnEncoder(t, 0)(chunk, c));
    for (let r = 0; r < chunk.rowCount; r++) {
      rows.push(
        columns.map(({ sources, froms, tos }) => sources[r]?.toString('utf8', froms[r], tos[r]) ?? null),
      );
    }
  }
  return { columns: result.deduplicatedColumnNames(), oids: types.map((t) => pgTypeOf(t).oid), rows };
}

describe('the differential corpus through node-postgres', () => {
  it.each(DIFF_QUERIES.map((q, i) => [i, q.sql.replace(/\s+/g, ' ').slice(0, 80), q] as const))(
    '#%i %s',
    async (_i, _label, query) => {
      const expected = await oracleText(query.sql);
      const actual = await client.query({ text: query.sql, rowMode: 'array' });
      expect(actual.fields.map((f) => f.name)).toEqual(expected.columns);
      expect(actual.fields.map((f) => f.dataTypeID)).toEqual(expected.oids);
      expect(canonical(actual.rows, expected.oids, !!query.ordered)).toEqual(
        canonical(expected.rows, expected.oids, !!query.ordered),
      );
    },
  );
});

describe('extended protocol', () => {
  it('binds parameters as values, never as SQL', async () => {
    const sql = 'SELECT label_id, name FROM labels WHERE label_id < $1 AND name LIKE $2 ORDER BY label_id';
    const answer = await client.query({ text: sql, values: [50, 'label%'], rowMode: 'array' });
    const expected = await oracleText(
      "SELECT label_id, name FROM labels WHERE label_id < 50 AND name LIKE 'label%' ORDER BY label_id",
    );
    expect(answer.rows).toEqual(expected.rows);
    expect(answer.rows.length).toBeGreaterThan(0);
    const injected = await client.query({
      text: 'SELECT count(*) AS n FROM labels WHERE name = $1',
      values: ["x' OR '1'='1"],
    });
    expect(injected.rows).toEqual([{ n: '0' }]);
    const typed = await client.query({
      text: 'SELECT $1::INTEGER + 1 AS n, $2 AS s',
      values: ['41', "it's"],
    });
    expect(typed.rows).toEqual([{ n: '42', s: "it's" }]);
  });

  it('keeps a named prepared statement for later executions', async () => {
    const name = 'by_id';
    const text = 'SELECT name FROM labels WHERE label_id = $1';
    const first = await client.query({ name, text, values: [3] });
    const second = await client.query({ name, text, values: [4] });
    const expected = await oracleText('SELECT name FROM labels WHERE label_id IN (3, 4) ORDER BY label_id');
    expect([...first.rows, ...second.rows].map((r) => r.name)).toEqual(expected.rows.map((r) => r[0]));
  });
});

describe('types and values', () => {
  it('sends each type with its OID and as Postgres prints it', async () => {
    const answer = await client.query({
      text: `SELECT 9007199254740993::BIGINT AS a, 2::INTEGER AS b, 1.5::DOUBLE AS c, 12.3::DECIMAL(10,2) AS d,
        'x'::VARCHAR AS e, true AS f, DATE '2024-01-02' AS g, TIMESTAMP '2024-01-02 03:04:05.5' AS h,
        TIMESTAMPTZ '2024-01-02 03:04:05+00' AS i, '1b4e28ba-2fa1-11d2-883f-0016d3cca427'::UUID AS j,
        [1, 2] AS k, {'a': 1} AS l, NULL::VARCHAR AS m FROM labels LIMIT 1`,
      rowMode: 'array',
    });
    expect(answer.fields.map((f) => f.dataTypeID)).toEqual([
      OID.int8,
      OID.int4,
      OID.float8,
      OID.numeric,
      OID.text,
      OID.bool,
      OID.date,
      OID.timestamp,
      OID.timestamptz,
      OID.uuid,
      OID.text,
      OID.text,
      OID.text,
    ]);
    expect(answer.fields[3].dataTypeModifier).toBe(((10 << 16) | 2) + 4);
    expect(answer.rows[0]).toEqual([
      '9007199254740993',
      '2',
      '1.5',
      '12.30',
      'x',
      't',
      '2024-01-02',
      '2024-01-02 03:04:05.5',
      '2024-01-02 03:04:05+00',
      '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
      '[1, 2]',
      "{'a': 1}",
      null,
    ]);
  });
});

describe('errors', () => {
  it.each([
    ['SELEC 1', '42601'],
    ['SELECT * FROM no_such_table', '42P01'],
    ['SELECT no_such_column FROM labels', '42703'],
  ])('%s fails with SQLSTATE %s, and the session goes on', async (sql, code) => {
    await expect(client.query(sql)).rejects.toMatchObject({ code });
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: '1' }]);
  });

  it('cancels a running query on a CancelRequest (57014)', async () => {
    const victim = newClient();
    await victim.connect();
    try {
      const { processID, secretKey } = victim as unknown as { processID: number; secretKey: number };
      const slow = victim.query(
        'SELECT count(*) FROM label_sublabels a, label_sublabels b, label_sublabels c WHERE a.label_id + b.label_id + c.label_id > 0',
      );
      const settled = slow.then(
        () => 'finished',
        (err: { code?: string }) => err.code,
      );
      await new Promise((r) => setTimeout(r, 1_000));
      const packet = Buffer.alloc(16);
      packet.writeInt32BE(16, 0);
      packet.writeInt32BE(80877102, 4);
      packet.writeInt32BE(processID, 8);
      packet.writeInt32BE(secretKey, 12);
      const socket = connect(pgPort, '127.0.0.1', () => socket.end(packet));
      const started = Date.now();
      expect(await settled).toBe('57014');
      expect(Date.now() - started).toBeLessThan(20_000);
      expect((await victim.query('SELECT 2 AS two')).rows).toEqual([{ two: '2' }]);
    } finally {
      await victim.end();
    }
  }, 60_000);
});

describe('psql', () => {
  const psql = (...args: string[]) =>
    run('psql', ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'tester', '-d', 'db', '-X', ...args], {
      env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
      timeout: 30_000,
    });

  it('lists the tables with \\dt', async () => {
    const { stdout } = await psql('-c', '\\dt');
    for (const table of ['labels', 'label_sublabels', 'label_urls'])
      expect(stdout).toMatch(new RegExp(`\\| ${table} +\\| table`));
  });

  it('describes a table with \\d labels', async () => {
    const { stdout } = await psql('-c', '\\d labels');
    expect(stdout).toContain('label_id');
    expect(stdout).toContain('created_at');
  });

  it('runs a query, answered as the oracle answers it', async () => {
    const sql = 'SELECT category, count(*) AS n FROM labels GROUP BY category ORDER BY category NULLS FIRST';
    const { stdout } = await psql('-A', '-t', '-F', ',', '-c', sql);
    const expected = await oracleText(sql);
    expect(stdout.trim().split('\n')).toEqual(expected.rows.map((r) => r.map((v) => v ?? '').join(',')));
  });
});

describe('what DBeaver, Metabase, Grafana and pgjdbc send as they connect and list tables', () => {
  const expectListing = (rows: unknown[][], lists: string | undefined) => {
    const values = new Set(rows.flat().map((v) => String(v).replace(/^"|"$/g, '')));
    const wanted =
      lists === 'tables' ? ['labels', 'label_sublabels', 'label_urls'] : ['label_id', 'name', 'category'];
    if (lists) for (const name of wanted) expect(values).toContain(name);
  };

  it.each(PG_CLIENT_QUERIES.map((q, i) => [i, q.client, q] as const))(
    '#%i %s, simple and extended protocol',
    async (i, _client, query) => {
      const simple = await client.query({ text: query.sql, rowMode: 'array' });
      expectListing(simple.rows, query.lists);
      const extended = await client.query({ name: `client_query_${i}`, text: query.sql, rowMode: 'array' });
      expect(extended.rows.map(String).sort()).toEqual(simple.rows.map(String).sort());
    },
  );
});

describe('passwords', () => {
  it('admits a password the verifier accepts and refuses others with 28P01', async () => {
    // Authentication comes before any query: the session needs no executor for it.
    const server = await startPgServer({} as ExecutorContext, {
      port: 0,
      host: '127.0.0.1',
      log: createLogger('pg-test'),
      verifyPassword: (password) => (password === 'key-1' ? { keyId: 'k1' } : undefined),
    });
    try {
      const connectWith = async (password: string) => {
        const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'tester', password });
        await c.connect();
        const answer = await c.query('SHOW TimeZone');
        await c.end();
        return answer.rows;
      };
      expect(await connectWith('key-1')).toEqual([{ TimeZone: 'UTC' }]);
      await expect(connectWith('wrong')).rejects.toMatchObject({ code: '28P01' });
    } finally {
      await server.close();
    }
  });
});

describe('TLS', () => {
  it('switches to TLS when the coordinator has a certificate', async () => {
    const key = join(cluster.dir, 'pg.key');
    const cert = join(cluster.dir, 'pg.crt');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
    ]);
    const port = await freePort();
    await cluster.startCoordinator(['--pg-port', String(port), '--pg-tls-cert', cert, '--pg-tls-key', key]);
    const secure = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'tester',
      ssl: { rejectUnauthorized: false },
    });
    await secure.connect();
    try {
      const stream = (secure as unknown as { connection: { stream: { encrypted?: boolean } } }).connection
        .stream;
      expect(stream.encrypted).toBe(true);
      const answer = await secure.query('SELECT count(*) AS n FROM labels');
      expect(answer.rows).toEqual([{ n: '2000' }]);
    } finally {
      await secure.end();
    }
  }, 120_000);
});

describe('catalog statements over HTTP', () => {
  const catalogColumns = async () => {
    const response = await fetch(coordinator.url);
    const body = (await response.json()) as {
      tables: { name: string; columns: { name: string; type: string }[] }[];
    };
    return body.tables;
  };

  it('SHOW TABLES lists the catalog', async () => {
    const answer = await askCoordinator(coordinator, 'SHOW TABLES');
    expect(answer.status).toBe(200);
    const tables = (await catalogColumns()).map((t) => t.name).sort();
    expect((answer.results as { name: string }[]).map((r) => r.name).sort()).toEqual(tables);
  });

  it.each(['DESCRIBE labels', 'SHOW COLUMNS FROM labels'])('%s gives the columns and types', async (sql) => {
    const answer = await askCoordinator(coordinator, sql);
    expect(answer.status).toBe(200);
    const labels = (await catalogColumns()).find((t) => t.name === 'labels');
    const rows = answer.results as { column_name: string; column_type: string }[];
    expect(rows.map((r) => ({ name: r.column_name, type: r.column_type }))).toEqual(labels?.columns);
  });

  it('information_schema.tables and .columns describe the catalog', async () => {
    const tables = await askCoordinator(
      coordinator,
      'SELECT table_name FROM information_schema.tables ORDER BY 1',
    );
    const catalog = await catalogColumns();
    expect((tables.results as { table_name: string }[]).map((r) => r.table_name)).toEqual(
      catalog.map((t) => t.name).sort(),
    );
    const columns = await askCoordinator(
      coordinator,
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'label_urls' ORDER BY ordinal_position",
    );
    const urls = catalog.find((t) => t.name === 'label_urls');
    expect(columns.results).toEqual(urls?.columns.map((c) => ({ column_name: c.name, data_type: c.type })));
  });

  it('DESCRIBE of an unknown table is a 400 naming the tables', async () => {
    const answer = await askCoordinator(coordinator, 'DESCRIBE no_such_table');
    expect(answer.status).toBe(400);
    expect(answer.message).toContain('labels');
  });
});
