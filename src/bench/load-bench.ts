/**
 * Load speed: a generated gzipped CSV (5,000,000 rows × 5 columns by default) served by an
 * S3 emulator (s3rver) and loaded by a real `serve` process, beside DuckDB's own read_csv of
 * the same file from local disk, in another process, in the same run. Goals: loading through
 * S3 takes at most 1.3× the local read, with a peak RSS at most 2× the table's memory.
 *
 *   node dist/bench/load-bench.js [--rows 5000000] [--repeat 3]
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createGzip } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { Command } from 'commander';
import { quoteLiteral } from '../duckdb/sql.js';
import { startCliProcess } from '../tools/local-cluster.js';
import { S3_EMULATOR_CREDENTIALS, S3_EMULATOR_ENV, startS3Emulator } from '../tools/s3-emulator.js';
import { createS3Client, ensureBucket, uploadFiles } from '../tools/s3-upload.js';

const BUCKET = 'load-bench';

export interface LoadBenchOptions {
  rows?: number;
  /** Runs of each side; the best of each is compared (this machine is shared and noisy). */
  repeat?: number;
}

export interface LoadFigures {
  seconds: number;
  rowsPerSecond: number;
  /** Megabytes of gzipped CSV per second. */
  mbPerSecond: number;
  /** Peak RSS (VmHWM) of the loading process. */
  peakRssBytes: number;
  /** DuckDB's memory for the loaded table (duckdb_memory()). */
  tableBytes: number;
}

export interface LoadBenchResult {
  rows: number;
  gzBytes: number;
  local: LoadFigures;
  s3: LoadFigures;
  /** s3 seconds ÷ local seconds (goal ≤ 1.3). */
  timeRatio: number;
  /** s3 peak RSS ÷ the table's memory in the container (goal ≤ 2). */
  rssRatio: number;
}

/** What a local read prints: DuckDB's own read_csv, timed in a process of its own. */
interface LocalRead {
  ms: number;
  peakRssBytes: number;
  tableBytes: number;
}

const SCRIPT = fileURLToPath(import.meta.url);

/** Peak RSS of a live process, from /proc (Linux). */
function peakRss(pid: number | string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
}

/** The benchmark file, generated once per row count and kept in the temp dir for later runs. */
async function benchFile(rows: number): Promise<string> {
  const dir = join(tmpdir(), 'duckdb-s3-query-bench');
  const file = join(dir, `load-${rows}.csv.gz`);
  if (existsSync(file)) return file;
  await mkdir(dir, { recursive: true });
  const plain = join(dir, `load-${rows}.csv`);
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    await con.run(
      `COPY (SELECT i AS id, 'name_' || (i % 100000) AS name, (hash(i) % 1000000) / 100.0 AS score,
                    DATE '2020-01-01' + (i % 1500)::INTEGER AS day, i % 7 = 0 AS flag
             FROM range(${rows}) t(i)) TO ${quoteLiteral(plain)} (HEADER)`,
    );
  } finally {
    con.closeSync();
    instance.closeSync();
  }
  // Node's gzip (zlib, level 6 like `gzip`): far faster here than DuckDB's own writer.
  await pipeline(createReadStream(plain), createGzip(), createWriteStream(`${file}.part`));
  await rename(`${file}.part`, file);
  await rm(plain);
  return file;
}

async function localRead(file: string): Promise<LocalRead> {
  const child = spawn(process.execPath, [SCRIPT, '--local-read', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`local read exited with ${code}`);
  return JSON.parse(out) as LocalRead;
}

/** The `--local-read` child: DuckDB's read_csv of `file` into a table, timed. */
async function localReadChild(file: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  const started = performance.now();
  await con.run(`CREATE TABLE t AS SELECT * FROM read_csv(${quoteLiteral(file)})`);
  const ms = performance.now() - started;
  const memory = await con.runAndReadAll('SELECT sum(memory_usage_bytes)::BIGINT FROM duckdb_memory()');
  const result: LocalRead = { ms, peakRssBytes: peakRss('self'), tableBytes: Number(memory.getRows()[0][0]) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** One `serve` of the object: its own load time and memory figures. */
async function s3Load(url: string, endpoint: string): Promise<LocalRead> {
  const serve = await startCliProcess(
    'load-bench',
    ['serve', url, '--table-name', 'bench', '--s3-endpoint', endpoint],
    { ...S3_EMULATOR_ENV, LOG_LEVEL: 'silent' },
  );
  try {
    const peakRssBytes = peakRss(serve.child.pid as number);
    const meta = (await (await fetch(`${serve.url}/metadata`)).json()) as {
      load_time_ms: number;
      memory_bytes: number;
    };
    return { ms: meta.load_time_ms, peakRssBytes, tableBytes: meta.memory_bytes };
  } finally {
    await serve.stop();
  }
}

function figures(read: LocalRead, rows: number, gzBytes: number): LoadFigures {
  const seconds = read.ms / 1000;
  return {
    seconds,
    rowsPerSecond: rows / seconds,
    mbPerSecond: gzBytes / 1e6 / seconds,
    peakRssBytes: read.peakRssBytes,
    tableBytes: read.tableBytes,
  };
}

const best = (reads: LocalRead[]) => reads.reduce((a, b) => (b.ms < a.ms ? b : a));

function report(r: LoadBenchResult): void {
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
  const line = (label: string, f: LoadFigures) =>
    `${label.padEnd(28)}${f.seconds.toFixed(2).padStart(8)} s${(f.rowsPerSecond / 1e6).toFixed(2).padStart(8)} M rows/s` +
    `${f.mbPerSecond.toFixed(1).padStart(8)} MB/s${mb(f.peakRssBytes).padStart(10)} peak RSS${mb(f.tableBytes).padStart(9)} table`;
  const out = [
    `load bench: ${r.rows.toLocaleString('en-US')} rows × 5 columns, ${mb(r.gzBytes)} of gzipped CSV (best run of each)`,
    line('DuckDB read_csv, local disk', r.local),
    line('serve from S3 (s3rver)', r.s3),
    `S3 load ÷ local read:         ${r.timeRatio.toFixed(2)}× (goal ≤ 1.3×)`,
    `peak RSS ÷ table memory:      ${r.rssRatio.toFixed(2)}× (goal ≤ 2×)`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

export async function runLoadBench(opts: LoadBenchOptions = {}): Promise<LoadBenchResult> {
  const rows = opts.rows ?? 5_000_000;
  const repeat = opts.repeat ?? 3;
  const file = await benchFile(rows);
  const gzBytes = (await stat(file)).size;
  const dir = await mkdtemp(join(tmpdir(), 'load-bench-s3-'));
  const s3 = await startS3Emulator({ directory: dir, buckets: [BUCKET] });
  try {
    const client = createS3Client({ endpoint: s3.endpoint, credentials: S3_EMULATOR_CREDENTIALS });
    await ensureBucket(client, BUCKET);
    const [url] = await uploadFiles(client, { bucket: BUCKET, prefix: '' }, [file]);
    client.destroy();
    const locals: LocalRead[] = [];
    const loads: LocalRead[] = [];
    for (let i = 0; i < repeat; i++) {
      locals.push(await localRead(file));
      loads.push(await s3Load(url, s3.endpoint));
    }
    const local = figures(best(locals), rows, gzBytes);
    const fromS3 = figures(best(loads), rows, gzBytes);
    const result: LoadBenchResult = {
      rows,
      gzBytes,
      local,
      s3: fromS3,
      timeRatio: fromS3.seconds / local.seconds,
      rssRatio: Math.max(...loads.map((l) => l.peakRssBytes)) / fromS3.tableBytes,
    };
    report(result);
    return result;
  } finally {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = new Command()
    .name('load-bench')
    .option('--rows <n>', 'rows in the generated CSV', '5000000')
    .option('--repeat <n>', 'runs of each side (the best is compared)', '3')
    .option('--local-read <file>', '(internal) time DuckDB read_csv of a local file and print JSON')
    .parse()
    .opts();
  if (o.localRead) return localReadChild(o.localRead);
  await runLoadBench({ rows: Number(o.rows), repeat: Number(o.repeat) });
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`load-bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
