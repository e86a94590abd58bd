/**
 * `duckdb-s3-query demo` for real: the README's curl examples answer as the README shows
 * against a started demo, and SIGINT leaves no process of it behind.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portIsFree } from '../../src/demo/ports.js';
import { startCliProcess } from '../../src/tools/local-cluster.js';
import { SAMPLE_TABLES } from '../../src/tools/sample-data.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const ROWS = 2_000;

/**
 * A port P with P..P+3 free (coordinator and the three data containers), below Linux's
 * ephemeral range (32768 up): there, any outgoing connection may take one of them as its
 * local port before the demo's children listen.
 */
async function freePortBlock(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await Promise.all([0, 1, 2, 3].map((i) => portIsFree(port + i)));
    if (free.every(Boolean)) return port;
  }
}

/** Every process below `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Splits a shell command line into words ('…' and "…" quoting, no expansions). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    words.push(match[1] ?? match[2]?.replace(/\\(.)/g, '$1') ?? match[3]);
  }
  return words;
}

interface CurlCommand {
  text: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** The curl commands of the README's bash blocks (a `-d @- <<'EOF'` body included). */
function readmeCurlCommands(): CurlCommand[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const commands: CurlCommand[] = [];
  for (const block of readme.matchAll(/```bash\n([\s\S]*?)```/g)) {
    const lines = block[1].split('\n');
    for (let i = 0; i < lines.length; i++) {
      const first = lines[i];
      if (!first.startsWith('curl ')) continue;
      const text = [first];
      let stdin: string | undefined;
      const heredoc = /<<'(\w+)'$/.exec(first);
      if (heredoc) {
        const end = lines.indexOf(heredoc[1], i + 1);
        text.push(...lines.slice(i + 1, end + 1));
        stdin = lines.slice(i + 1, end).join('\n');
        i = end;
      }
      const words = shellWords(first.replace(/<<'\w+'$/, ''));
      const command: CurlCommand = { text: text.join('\n'), method: 'GET', url: '', headers: {} };
      for (let w = 1; w < words.length; w++) {
        const word = words[w];
        if (word === '-X') command.method = words[++w];
        else if (word === '-H') {
          const [name, ...value] = words[++w].split(':');
          command.headers[name.trim().toLowerCase()] = value.join(':').trim();
        } else if (word === '-d') {
          const data = words[++w];
          command.body = data === '@-' ? stdin : data;
        } else if (word === '-sI' || word === '-I') command.method = 'HEAD';
        else if (word.startsWith('http')) command.url = word;
        else expect(word, `a curl option the test understands in: ${text[0]}`).toBe('-s');
      }
      commands.push(command);
    }
  }
  return commands;
}

/**
 * The seed README's curl examples, verbatim (its `docker run` comments aside): they must
 * answer unchanged against the demo's sample tables.
 */
const SEED_CURL_EXAMPLES = [
  `curl -X POST http://localhost:8000/query \\
  -H "Content-Type: application/json" \\
  -d '{
    "query": "SELECT * FROM labels LIMIT 5"
  }'`,
  `curl -X POST http://localhost:8000/query \\
  -H "Content-Type: application/json" \\
  -d '{
    "query": "SELECT l.label_id, l.name, ls.sublabel_id, lu.url FROM labels l JOIN label_sublabels ls ON l.label_id = ls.label_id JOIN label_urls lu ON ls.sublabel_id = lu.sublabel_id WHERE l.name LIKE '\\''%test%'\\''"
  }'`,
  'curl http://localhost:8001/metadata',
  'curl http://localhost:8000/',
];

/** Runs a shell command line with bash, as a user pastes it. */
async function sh(command: string): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', ['-c', command]);
  return stdout;
}

describe('npm start (the demo)', () => {
  let demo: ChildProcess;
  let port: number;
  let stdout = '';
  let stderr = '';
  let processes: number[] = [];
  let exited: Promise<{ code: number | null; signal: string | null }>;

  beforeAll(async () => {
    port = await freePortBlock();
    demo = spawn(process.execPath, [CLI, 'demo', '--port', String(port), '--rows', String(ROWS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((resolve) => demo.once('exit', (code, signal) => resolve({ code, signal })));
    demo.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-20_000);
    });
    await new Promise<void>((resolve, reject) => {
      demo.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('Ctrl-C stops everything.')) resolve();
      });
      demo.once('exit', (code) => reject(new Error(`demo exited (${code}) before it was ready:\n${stderr}`)));
    });
    processes = descendants(demo.pid!);
  });

  afterAll(async () => {
    // Only if a test failed before the demo was stopped: leave nothing running.
    if (demo.exitCode === null && demo.signalCode === null) {
      demo.kill('SIGINT');
      await exited;
    }
    for (const pid of processes.filter(alive)) process.kill(pid, 'SIGKILL');
  });

  it('prints what runs where', () => {
    for (const what of ['S3 emulator', ...SAMPLE_TABLES, 'coordinator']) expect(stdout).toContain(what);
    expect(stdout).toContain(`http://127.0.0.1:${port}`);
    // S3 emulator, three data containers, coordinator, and nats-server when it runs over NATS.
    expect(processes.length).toBeGreaterThanOrEqual(stdout.includes('nats-server') ? 6 : 5);
  });

  it("answers the README's curl examples as the README shows", async () => {
    const labelsPort = /labels\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)![1];
    const commands = readmeCurlCommands();
    expect(commands.length).toBeGreaterThanOrEqual(5);
    for (const command of commands) {
      const url = command.url
        .replace('localhost:8000', `127.0.0.1:${port}`)
        .replace('localhost:8001', `127.0.0.1:${labelsPort}`);
      const res = await fetch(url, { method: command.method, headers: command.headers, body: command.body });
      const text = await res.text();
      expect(res.status, `${command.text}\n${text}`).toBe(200);
      const path = new URL(url).pathname;
      if (path === '/query') {
        const answer = JSON.parse(text);
        expect(answer.columns.length, command.text).toBeGreaterThan(0);
        expect(answer.results.length, command.text).toBeGreaterThan(0);
        expect(Object.keys(answer.results[0])).toEqual(answer.columns);
        expect(answer).toHaveProperty('execution_time_ms');
        expect(answer).toHaveProperty('timestamp');
        expect(answer.source_tables.length).toBeGreaterThan(0);
      } else if (path === '/') {
        for (const table of SAMPLE_TABLES) expect(text).toContain(`"${table}"`);
      } else if (path === '/metadata') {
        expect(JSON.parse(text)).toMatchObject({ view_name: 'labels', row_count: ROWS, column_count: 5 });
      } else if (path === '/docs') {
        expect(res.headers.get('content-type')).toContain('text/html');
      }
    }
  });

  it("answers the seed's curl examples unchanged", async () => {
    const labelsPort = /labels\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)![1];
    const [single, join, metadata, tables] = await Promise.all(
      SEED_CURL_EXAMPLES.map((command) =>
        sh(
          command
            .replace('localhost:8000', `127.0.0.1:${port}`)
            .replace('localhost:8001', `127.0.0.1:${labelsPort}`),
        ),
      ),
    );
    expect(JSON.parse(single).results).toHaveLength(5);
    const joined = JSON.parse(join);
    expect(joined.columns).toEqual(['label_id', 'name', 'sublabel_id', 'url']);
    expect(joined.results.length).toBeGreaterThan(0);
    for (const row of joined.results) expect(row.name).toContain('test');
    expect(joined.source_tables.sort()).toEqual(['label_sublabels', 'label_urls', 'labels']);
    expect(JSON.parse(metadata)).toMatchObject({ view_name: 'labels', row_count: ROWS });
    for (const table of SAMPLE_TABLES) expect(tables).toContain(`"${table}"`);
  });

  it("reaches the demo's containers over HTTP with the repository's config.json", async () => {
    const config = JSON.parse(readFileSync(join(ROOT, 'config.json'), 'utf8'));
    expect(Object.keys(config.tables).sort()).toEqual([...SAMPLE_TABLES].sort());
    // The demo's containers take the ports after the coordinator's, as config.json's follow 8000.
    for (const [table, entry] of Object.entries<{ url: string; port: number }>(config.tables)) {
      const served = new RegExp(`${table}\\s+http://127\\.0\\.0\\.1:(\\d+)`).exec(stdout)![1];
      entry.port = Number(served);
      entry.url = 'http://127.0.0.1';
      expect(Number(served) - port).toBe(SAMPLE_TABLES.indexOf(table as never) + 1);
    }
    const file = join(await mkdtemp(join(tmpdir(), 'config-')), 'config.json');
    await writeFile(file, JSON.stringify(config));
    const coordinator = await startCliProcess('coordinator', ['coordinator', '--config', file]);
    try {
      const joined = JSON.parse(
        await sh(SEED_CURL_EXAMPLES[1].replace('localhost:8000', `127.0.0.1:${coordinator.port}`)),
      );
      expect(joined.results.length).toBeGreaterThan(0);
    } finally {
      await coordinator.stop();
    }
  });

  it("runs the README's scan command over the demo's NATS", async () => {
    const nats = /nats-server\s+(nats:\/\/\S+)/.exec(stdout)?.[1];
    if (!nats) return; // over HTTP: no nats-server on this machine
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const words = shellWords(/^node dist\/cli\.js scan .*$/m.exec(readme)![0]);
    words[words.indexOf('--nats') + 1] = nats;
    const { stdout: rows } = await promisify(execFile)(process.execPath, [CLI, ...words.slice(2)]);
    const lines = rows
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(3);
    for (const row of lines) expect(row.name).toContain('test');
  });

  it('stops every process it started on SIGINT', async () => {
    expect(processes.every(alive)).toBe(true);
    demo.kill('SIGINT');
    const { code } = await exited;
    expect(code, stderr).toBe(0);
    const left = processes.filter(alive);
    expect(left, `still running: ${left.join(', ')}`).toEqual([]);
    for (const pid of processes) {
      // Nor anything else in their process groups.
      expect(() => process.kill(-pid, 0)).toThrow();
    }
  });
});

describe('a demo whose child dies at start', () => {
  it('prints that child’s output, exits non-zero and leaves no process', async () => {
    const port = await freePortBlock();
    // Every child refuses a memory limit DuckDB cannot read, and exits.
    const demo = spawn(process.execPath, [CLI, 'demo', '--port', String(port), '--rows', '500'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, DUCKDB_MEMORY_LIMIT: 'plenty' },
    });
    let stderr = '';
    demo.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const seen = new Set<number>();
    const watch = setInterval(() => {
      for (const pid of descendants(demo.pid!)) seen.add(pid);
    }, 50);
    const code = await new Promise<number | null>((resolve) => demo.once('exit', resolve));
    clearInterval(watch);
    expect(code).toBe(1);
    expect(stderr).toMatch(/\S+ stopped \(exit code 1\); its last output:\n/);
    expect(seen.size).toBeGreaterThanOrEqual(4);
    expect([...seen].filter(alive)).toEqual([]);
  });
});

/** The demo started by `command` (it or a shell above it), once its banner is out. */
async function readyDemo(command: string, args: string[]) {
  const started = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  started.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-50_000);
  });
  await new Promise<void>((resolve, reject) => {
    started.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('Ctrl-C stops everything.')) resolve();
    });
    started.once('exit', (code) =>
      reject(new Error(`demo exited (${code}) before it was ready:\n${stderr}`)),
    );
  });
  const dir = /"dir":"([^"]+)"/.exec(stderr)?.[1];
  expect(dir, stderr).toMatch(/duckdb-s3-query-demo-/);
  return { started, stdout, dir: dir!, processes: descendants(started.pid!) };
}

async function gone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive);
}

describe('a demo whose terminal or parent goes away', () => {
  it('stops every process and removes its files on SIGHUP', async () => {
    const port = await freePortBlock();
    const demo = await readyDemo(process.execPath, [CLI, 'demo', '--port', String(port), '--rows', '500']);
    expect(demo.stdout).toMatch(/Listening on 127\.0\.0\.1 only/);
    expect(demo.processes.length).toBeGreaterThanOrEqual(5);
    expect(existsSync(demo.dir)).toBe(true);
    const exited = new Promise((resolve) => demo.started.once('exit', resolve));
    demo.started.kill('SIGHUP');
    expect(await exited).toBe(0);
    expect(await gone(demo.processes, 1_000)).toEqual([]);
    for (const pid of demo.processes) expect(() => process.kill(-pid, 0)).toThrow();
    expect(existsSync(demo.dir)).toBe(false);
  });

  it('stops every process and removes its files when its parent dies', async () => {
    const port = await freePortBlock();
    // A shell that waits for the demo, as npm does; SIGKILL leaves the demo an orphan.
    const demo = await readyDemo('/bin/sh', [
      '-c',
      `"${process.execPath}" "${CLI}" demo --port ${port} --rows 500; exit 0`,
    ]);
    demo.started.kill('SIGKILL');
    const left = await gone(demo.processes, 20_000);
    expect(left, `still running: ${left.join(', ')}`).toEqual([]);
    expect(existsSync(demo.dir)).toBe(false);
  });
});

describe('npm start -- --shards 2 --replicas 2', () => {
  const natsServer = ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server'].some(
    (p) => existsSync(p),
  );

  it.skipIf(!natsServer)(
    'serves every table in 2 parts of 2 replicas each, answers over all parts, and stops them all',
    async () => {
      const port = await freePortBlock();
      const args = [CLI, 'demo', '--port', String(port), '--rows', '500', '--shards', '2', '--replicas', '2'];
      const demo = await readyDemo(process.execPath, args);
      for (const table of SAMPLE_TABLES) {
        for (const part of ['0/2 #1', '0/2 #2', '1/2 #1', '1/2 #2']) {
          expect(demo.stdout).toMatch(
            new RegExp(
              `${table} ${part}\\s+http://127\\.0\\.0\\.1:\\d+\\s+\\d+\\s+part \\d of 2 of s3://sample-data/${table}/\\*\\.csv\\.gz, [1-9]\\d* rows`,
            ),
          );
        }
      }
      expect(demo.stdout).toMatch(/Split tables: each table is 2 parts .*--shard I\/2.* 2 replicas/);
      expect(demo.stdout).toContain('duckdb.labels.0.scan');
      const response = await fetch(`http://127.0.0.1:${port}/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'SELECT count(*) AS n, count(DISTINCT url_id) AS d FROM label_urls' }),
      });
      const answer = (await response.json()) as {
        results: { n: number; d: number }[];
        stats: { tables: { parts: { rows: number }[] }[] };
      };
      expect(answer.results).toEqual([{ n: 2_500, d: 2_500 }]);
      expect(answer.stats.tables[0].parts.map((p) => p.rows).every((rows) => rows > 0)).toBe(true);
      // S3, NATS, 12 data containers, the coordinator.
      expect(demo.processes.length).toBeGreaterThanOrEqual(15);
      const exited = new Promise((resolve) => demo.started.once('exit', resolve));
      demo.started.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(await gone(demo.processes, 1_000)).toEqual([]);
    },
    180_000,
  );
});
