/**
 * S3 → DuckDB: every object the URLs name becomes part of one in-memory table `main.<name>`.
 * DuckDB's own readers (and CSV sniffer) decide names and types; every object must come out
 * with the first one's columns and types. Local copies are read in batches while the next
 * objects download. Once loaded, the instance is locked down (sandbox.ts).
 */
import { rm } from 'node:fs/promises';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { lockDown } from '../duckdb/sandbox.js';
import { limitSpill, type SpillLimits } from '../duckdb/spill.js';
import { quoteIdent, quoteLiteral } from '../duckdb/sql.js';
import type { Logger } from '../log.js';
import { isValidTableName } from '../protocol/subjects.js';
import type { TableColumn } from '../protocol/table-metadata.js';
import { createScratchDir, downloadAll, type LocalCopy, MiB, type ObjectFormat } from './download.js';
import { createS3Source, resolveObjects } from './s3-source.js';
import type { LoadedTable } from './table.js';

export interface LoadOptions {
  urls: string[];
  tableName: string;
  s3Endpoint?: string;
  shard: string;
  /** Where and how much DuckDB may spill (default: DuckDB's own, `.tmp` up to 90% of the disk). */
  spill?: SpillLimits;
  /** DuckDB memory_limit (default: DuckDB's, 80% of the machine's or the cgroup's memory). */
  memoryLimit?: string;
  log: Logger;
}

/** One read_csv/read_parquet call covers at most this much (local bytes) or this many files. */
const BATCH_BYTES = 64 * MiB;
const BATCH_FILES = 256;
const PROGRESS_EVERY_MS = 2_000;

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/**
 * CSV read buffer: DuckDB's default (16 × max_line_size = 32 MiB) per parsing thread is what
 * lifts a load's peak memory past twice the table's; 8 MiB still holds four maximal lines,
 * sniffs the same and measured ~100 MB lower at 5M rows, no slower.
 */
const CSV_BUFFER_BYTES = 8 * MiB;

function readerSql(format: ObjectFormat, paths: string[]): string {
  const list = `[${paths.map(quoteLiteral).join(', ')}]`;
  return format === 'parquet'
    ? `read_parquet(${list})`
    : `read_csv(${list}, buffer_size = ${CSV_BUFFER_BYTES})`;
}

async function describe(con: DuckDBConnection, from: string): Promise<TableColumn[]> {
  const reader = await con.runAndReadAll(`DESCRIBE ${from}`);
  return reader
    .getRowObjectsJson()
    .map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
}

function columnsText(columns: TableColumn[]): string {
  return columns.map((c) => `${c.name} ${c.type}`).join(', ');
}

/** How `actual` differs from `expected`, or undefined when they agree. */
function schemaDifference(expected: TableColumn[], actual: TableColumn[]): string | undefined {
  if (expected.length !== actual.length) {
    return `it has ${actual.length} columns (${columnsText(actual)}), the first object ${expected.length} (${columnsText(expected)})`;
  }
  for (let i = 0; i < expected.length; i++) {
    if (expected[i].name !== actual[i].name) {
      return `column ${i + 1} is named "${actual[i].name}" where the first object has "${expected[i].name}"`;
    }
    if (expected[i].type !== actual[i].type) {
      return `column "${actual[i].name}" is ${actual[i].type} where the first object has ${expected[i].type}`;
    }
  }
  return undefined;
}

/** DuckDB's (multi-line) reader error as one line naming the S3 object and the CSV line. */
function explainReadError(err: unknown, copies: LocalCopy[]): Error {
  let message = err instanceof Error ? err.message : String(err);
  for (const copy of copies) message = message.replaceAll(copy.path, copy.object.url);
  const where =
    /\bfile = (\S+)/.exec(message)?.[1] ??
    /\bs3:\/\/\S+?(?=["\s]|$)/.exec(message)?.[0] ??
    copies.map((c) => c.object.url).join(', ');
  const lines = message.split('\n').map((l) => l.trim());
  if (/^Out of Memory Error/.test(message)) {
    return new Error(
      `the table does not fit in this DuckDB's memory (reading ${where}): ${lines[0]}; raise --memory-limit (DUCKDB_MEMORY_LIMIT) or give the container more memory`,
    );
  }
  const csvLine = /CSV Error on Line: (\d+)/.exec(message)?.[1];
  if (csvLine) {
    const originalAt = lines.findIndex((l) => l.startsWith('Original Line:'));
    const reason = originalAt >= 0 ? lines[originalAt + 1] : lines[0];
    const original =
      originalAt >= 0 ? lines[originalAt].slice('Original Line:'.length).trim().slice(0, 120) : '';
    return new Error(
      `malformed CSV in ${where} at line ${csvLine}: ${reason}${original ? ` (line: ${original})` : ''}`,
    );
  }
  return new Error(`cannot read ${where}: ${lines.filter(Boolean).join(' ')}`);
}

/** Logs bytes downloaded of the total and rows loaded, every few seconds while loading. */
function startProgress(log: Logger, totalBytes: number, con: DuckDBConnection) {
  let downloaded = 0;
  let rows = 0;
  const timer = setInterval(() => {
    const parsing = con.progress.percentage;
    log.info('loading', {
      downloaded: `${mb(downloaded)} of ${mb(totalBytes)} MB (${((100 * downloaded) / Math.max(totalBytes, 1)).toFixed(0)}%)`,
      rows,
      parsing: parsing >= 0 ? `${parsing.toFixed(0)}% of the current batch` : undefined,
    });
  }, PROGRESS_EVERY_MS);
  timer.unref();
  return {
    onBytes: (n: number) => {
      downloaded += n;
    },
    setRows: (n: number) => {
      rows = n;
    },
    stop: () => clearInterval(timer),
  };
}

/** Reads local copies into the table, a batch at a time; the first batch creates it. */
class TableWriter {
  private batch: LocalCopy[] = [];
  private batchBytes = 0;
  private created = false;
  rows = 0;

  constructor(
    private readonly con: DuckDBConnection,
    private readonly table: string,
    private readonly onRows: (rows: number) => void,
  ) {}

  async add(copy: LocalCopy): Promise<void> {
    if (this.batch.length > 0 && this.batch[0].format !== copy.format) await this.flush();
    this.batch.push(copy);
    this.batchBytes += copy.bytes;
    if (this.batchBytes >= BATCH_BYTES || this.batch.length >= BATCH_FILES) await this.flush();
  }

  async flush(): Promise<void> {
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    this.batchBytes = 0;
    const source = readerSql(
      batch[0].format,
      batch.map((c) => c.path),
    );
    const target = `main.${quoteIdent(this.table)}`;
    try {
      await this.con.run(
        this.created
          ? `INSERT INTO ${target} SELECT * FROM ${source}`
          : `CREATE TABLE ${target} AS SELECT * FROM ${source}`,
      );
    } catch (err) {
      throw explainReadError(err, batch);
    } finally {
      await Promise.all(batch.map((c) => rm(c.path, { force: true })));
    }
    this.created = true;
    const counted = await this.con.runAndReadAll(`SELECT count(*)::BIGINT FROM ${target}`);
    this.rows = Number(counted.getRows()[0][0]);
    this.onRows(this.rows);
  }
}

export async function loadTable(opts: LoadOptions): Promise<LoadedTable> {
  const { log } = opts;
  const started = performance.now();
  if (!isValidTableName(opts.tableName)) {
    throw new Error(`invalid table name "${opts.tableName}": use a letter or _ then letters, digits or _`);
  }
  const src = await createS3Source(opts.s3Endpoint);
  const objects = await resolveObjects(src, opts.urls);
  const totalBytes = objects.reduce((sum, o) => sum + o.size, 0);
  log.info('loading table', {
    table: opts.tableName,
    objects: objects.length,
    MB: mb(totalBytes),
    from: src.endpoint,
  });

  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  if (opts.memoryLimit) await con.run(`SET memory_limit = ${quoteLiteral(opts.memoryLimit)}`);
  if (opts.spill) await limitSpill(con, opts.spill);
  const scratch = await createScratchDir();
  const progress = startProgress(log, totalBytes, con);
  let loaded = false;
  try {
    await con.run('SET enable_progress_bar = true');
    await con.run('SET enable_progress_bar_print = false');
    const writer = new TableWriter(con, opts.tableName, progress.setRows);
    let first: { copy: LocalCopy; columns: TableColumn[] } | undefined;
    for await (const copy of downloadAll(src, objects, scratch.path, progress.onBytes)) {
      let columns: TableColumn[];
      try {
        columns = await describe(con, `SELECT * FROM ${readerSql(copy.format, [copy.path])}`);
      } catch (err) {
        throw explainReadError(err, [copy]);
      }
      first ??= { copy, columns };
      const difference = schemaDifference(first.columns, columns);
      if (difference) {
        throw new Error(
          `schema of ${copy.object.url} differs from that of ${first.copy.object.url}: ${difference}`,
        );
      }
      await writer.add(copy);
    }
    await writer.flush();
    const columns = await describe(con, `main.${quoteIdent(opts.tableName)}`);
    const memory = await con.runAndReadAll('SELECT sum(memory_usage_bytes)::BIGINT FROM duckdb_memory()');
    const memoryBytes = Number(memory.getRows()[0][0]);
    await lockDown(con);
    const loadTimeMs = performance.now() - started;
    log.info('table loaded', {
      table: opts.tableName,
      rows: writer.rows,
      columns: columns.length,
      MB: mb(totalBytes),
      memoryMB: mb(memoryBytes),
      seconds: (loadTimeMs / 1000).toFixed(2),
    });
    loaded = true;
    return {
      name: opts.tableName,
      instance,
      columns,
      rowCount: writer.rows,
      sizeBytes: totalBytes,
      memoryBytes,
      loadTimeMs,
      urls: opts.urls,
      objects: objects.map((o) => o.url),
      loadedAt: new Date().toISOString(),
      shard: opts.shard,
    };
  } finally {
    progress.stop();
    con.closeSync();
    if (!loaded) instance.closeSync();
    await scratch.remove();
  }
}
