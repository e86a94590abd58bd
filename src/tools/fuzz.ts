/**
 * `npm run fuzz [-- --seconds N] [--seed S]`: random and mutated input against a local
 * cluster (S3 emulator, nats-server, three data containers, a coordinator), for N seconds
 * (60 by default). SQL goes to the coordinator's and a container's POST /query, scan requests
 * (mutated maps and raw msgpack bytes) to duckdb.<table>.scan over NATS. Prints what it tried
 * and every finding: a 500 or 502, an `internal` or `protocol_error` frame, no reply, a
 * process that died or a /health that is not 200. Exits 1 when there is a finding.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decode, detectEncoding, encode } from '../protocol/codec.js';
import { seededRandom } from '../seeded-random.js';
import { startLocalCluster } from './local-cluster.js';

const SEEDS = [
  'SELECT count(*) AS n FROM labels',
  "SELECT label_id, name FROM labels WHERE name LIKE '%a%' ORDER BY label_id LIMIT 10",
  'SELECT l.label_id, count(*) FROM labels l JOIN label_urls u ON l.label_id = u.label_id GROUP BY 1 ORDER BY 2 DESC LIMIT 5',
  'WITH t AS (SELECT * FROM label_sublabels WHERE sublabel_id < 100) SELECT count(*) FROM t',
  'SELECT * FROM label_urls WHERE url_id IN (1, 2, 3)',
  "SELECT max(url) FROM label_urls WHERE url_id BETWEEN 10 AND 20 OR url = 'x'",
  'SELECT 1',
];

const FRAGMENTS = [
  ';',
  ' UNION ALL SELECT 1',
  '--',
  '/*',
  '*/',
  "'",
  '"',
  '(',
  ')',
  ')) OR ((',
  '\u0000',
  '\u001b',
  '\u200b',
  '😀',
  '\u202e',
  ' LIMIT 1',
  ' LIMIT -1',
  ' OFFSET 99999999999999999999',
  ' WHERE ',
  "read_csv('/etc/passwd')",
  "current_setting('temp_directory')",
  '(SELECT 1)',
  ' NOT ',
  ' AND ',
  '1e308',
  '-9223372036854775809',
  '$$',
  '$a$',
  "E'\\'",
  ' FROM duckdb_settings()',
  ' EXPLAIN ',
  ' PRAGMA version',
  ' SET threads = 1',
  'labels',
  'label_urls',
  '*',
  ',',
  '::VARCHAR',
  '[1,2]',
  '{a: 1}',
  'x -> x',
  " COPY labels TO '/tmp/x'",
  " ATTACH ':memory:'",
  '\n',
  '\t',
];

const SCAN_FIELDS = [
  'columns',
  'where',
  'limit',
  'keys',
  'query',
  'awaitFilter',
  'awaitFilterAbove',
  'keysFirst',
  'holdAbove',
  'computed',
  'packIntegers',
  'distinct',
  'window',
  'ackTimeoutMs',
];
const TABLES = ['labels', 'label_urls', 'label_sublabels'];

interface Finding {
  target: string;
  input: string;
  outcome: string;
}

class Fuzzer {
  readonly tried: Record<string, number> = {};
  readonly outcomes: Record<string, number> = {};
  readonly findings: Finding[] = [];

  constructor(private readonly random: () => number) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  private int(max: number): number {
    return Math.floor(this.random() * max);
  }

  /** A seed query with a few random cuts, insertions and repeats, or random fragments alone. */
  mutatedSql(): string {
    if (this.random() < 0.1)
      return Array.from({ length: 1 + this.int(12) }, () => this.pick(FRAGMENTS)).join('');
    let sql = this.pick(SEEDS);
    for (let n = 1 + this.int(4); n > 0; n--) {
      const at = this.int(sql.length + 1);
      const roll = this.random();
      if (roll < 0.45) sql = sql.slice(0, at) + this.pick(FRAGMENTS) + sql.slice(at);
      else if (roll < 0.65) sql = sql.slice(0, at) + sql.slice(at + 1 + this.int(8));
      else if (roll < 0.8) sql = sql.slice(0, at) + String.fromCharCode(this.int(0x3000)) + sql.slice(at);
      else if (roll < 0.9)
        sql = sql.slice(0, at) + sql.slice(at, at + 20).repeat(1 + this.int(50)) + sql.slice(at);
      else
        sql = `${sql} ${this.pick(['AND', 'OR', '+'])} ${'('.repeat(this.int(400))}1${')'.repeat(this.int(400))}`;
    }
    return sql;
  }

  private randomValue(depth = 0): unknown {
    const roll = this.int(depth > 2 ? 6 : 9);
    switch (roll) {
      case 0:
        return this.int(2 ** 31) * (this.random() < 0.5 ? -1 : 1);
      case 1:
        return this.pick([2 ** 64, -1, 0, 1.5, Number.NaN, 1e308]);
      case 2:
        return this.mutatedSql();
      case 3:
        return this.random() < 0.5;
      case 4:
        return null;
      case 5:
        return new Uint8Array(this.int(64)).map(() => this.int(256));
      case 6:
        return Array.from({ length: this.int(5) }, () => this.randomValue(depth + 1));
      case 7:
        return Object.fromEntries(
          Array.from({ length: this.int(4) }, () => [this.pick(SCAN_FIELDS), this.randomValue(depth + 1)]),
        );
      default:
        return {
          column: this.pick(['id', 'label_id', 'nope']),
          rows: this.int(10),
          values: { data: new Uint8Array(this.int(80)) },
        };
    }
  }

  /** A scan request: mostly well-formed with one odd field, sometimes raw or broken bytes. */
  scanRequest(): { bytes: Uint8Array; shown: string } {
    const request: Record<string, unknown> = { columns: [this.pick(['label_id', 'name', 'url_id', 'nope'])] };
    if (this.random() < 0.6)
      request.where =
        this.random() < 0.5 ? this.mutatedSql() : `label_id > ${this.int(100)}${this.pick(FRAGMENTS)}`;
    if (this.random() < 0.3)
      request.computed = [
        {
          name: this.pick(['c', 'label_id', 'NAME', '__scan_branches', 'x "y"', '']),
          sql:
            this.random() < 0.5 ? this.mutatedSql() : `length(name) + ${this.int(9)}${this.pick(FRAGMENTS)}`,
        },
      ];
    for (let n = this.int(3); n > 0; n--) request[this.pick(SCAN_FIELDS)] = this.randomValue();
    let bytes: Uint8Array = encode(request, 'msgpack');
    const roll = this.random();
    if (roll < 0.15) bytes = bytes.subarray(0, this.int(bytes.length));
    else if (roll < 0.3) {
      bytes = Uint8Array.from(bytes);
      for (let n = 1 + this.int(4); n > 0; n--) bytes[this.int(bytes.length)] = this.int(256);
    } else if (roll < 0.35) bytes = new Uint8Array(this.int(200)).map(() => this.int(256));
    return {
      bytes,
      shown: `${JSON.stringify(request, (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v)).slice(0, 300)} (${bytes.length} bytes sent)`,
    };
  }

  count(target: string, outcome: string): void {
    this.tried[target] = (this.tried[target] ?? 0) + 1;
    this.outcomes[`${target} ${outcome}`] = (this.outcomes[`${target} ${outcome}`] ?? 0) + 1;
  }

  find(target: string, input: string, outcome: string): void {
    if (this.findings.length < 50) this.findings.push({ target, input: input.slice(0, 400), outcome });
  }

  async httpQuery(url: string, target: string): Promise<void> {
    const sql = this.mutatedSql();
    const accept = this.pick(['application/json', 'application/x-ndjson', 'text/csv']);
    try {
      const response = await fetch(`${url}/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: JSON.stringify({ query: sql }),
        signal: AbortSignal.timeout(30_000),
      });
      const body = await response.text().catch((err: Error) => `(cut: ${err.message})`);
      this.count(target, String(response.status));
      if (response.status === 500 || response.status === 502)
        this.find(target, sql, `${response.status} ${body.slice(0, 300)}`);
    } catch (err) {
      this.count(target, 'no answer');
      this.find(target, sql, `no answer: ${(err as Error).message}`);
    }
  }

  async natsScan(nc: NatsConnection): Promise<void> {
    const { bytes, shown } = this.scanRequest();
    const table = this.pick(TABLES);
    const target = 'nats scan';
    try {
      const reply = await nc.request(`duckdb.${table}.scan`, bytes, { timeout: 10_000 });
      const frame = decode(reply.data, detectEncoding(reply.data)) as {
        type?: string;
        error?: string;
        message?: string;
      };
      const outcome = frame.type === 'error' ? `error ${frame.error}` : String(frame.type);
      this.count(target, outcome);
      if (frame.error === 'internal' || frame.error === 'protocol_error')
        this.find(target, shown, `${outcome}: ${frame.message}`);
    } catch (err) {
      this.count(target, 'no reply');
      this.find(target, shown, `no reply: ${(err as Error).message}`);
    }
  }
}

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} wants a positive number`);
  return value;
}

async function main(): Promise<void> {
  const seconds = argument('--seconds', 60);
  const seed = argument('--seed', Date.now() % 1_000_000);
  process.env.LOG_LEVEL ??= 'silent';
  process.stderr.write(`fuzz: starting a local cluster (seed ${seed}, ${seconds} s)\n`);
  const cluster = await startLocalCluster({ labels: 2_000 });
  const coordinator = await cluster.startCoordinator(['--timeout-ms', '5000']);
  const nc = await connect({ servers: cluster.nats.url });
  const fuzzer = new Fuzzer(seededRandom(seed));
  const processes = [coordinator, ...Object.values(cluster.containers)];
  const deadline = Date.now() + seconds * 1000;
  const worker = async (k: number) => {
    for (let i = 0; Date.now() < deadline; i++) {
      const roll = (i + k) % 3;
      if (roll === 0) await fuzzer.httpQuery(coordinator.url, 'coordinator /query');
      else if (roll === 1) await fuzzer.httpQuery(cluster.containers.label_urls.url, 'container /query');
      else await fuzzer.natsScan(nc);
    }
  };
  try {
    await Promise.all([0, 1, 2, 3].map(worker));
    for (const proc of processes) {
      const health = await fetch(`${proc.url}/health`).then(
        (r) => String(r.status),
        (err: Error) => err.message,
      );
      if (proc.child.exitCode !== null || health !== '200') {
        fuzzer.find(proc.name, '(after the run)', `exit code ${proc.child.exitCode}, /health ${health}`);
      }
    }
  } finally {
    await nc.close();
    await cluster.stop();
  }
  const report = { seed, seconds, tried: fuzzer.tried, outcomes: fuzzer.outcomes, findings: fuzzer.findings };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exit(fuzzer.findings.length > 0 ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`fuzz: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
