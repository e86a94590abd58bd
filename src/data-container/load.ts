/**
 * S3 → DuckDB: every object the URLs name (or, with `--shard I/N`, this part's share of them,
 * shard-objects.ts) becomes part of one in-memory table `main.<name>`. DuckDB's own readers
 * (and CSV sniffer) decide names and types; every object must come out with the first one's
 * column names, and every object with rows with the first such object's types. Local copies
 * are read in batches while the next objects download. Once loaded, the table's column ranges
 * are read, and the instance is locked down (sandbox.ts).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { disableLateMaterialization } from '../duckdb/late-materialization.js';
import { lockDown } from '../duckdb/sandbox.js';
import { limitSpill, type SpillLimits } from '../duckdb/spill.js';
import { quoteIdent, quoteLiteral } from '../duckdb/sql.js';
import { limitMemoryAndThreads } from '../duckdb/work-limits.js';
import type { Logger } from '../log.js';
import { isSplit, type ShardSpec, shardLabel } from '../protocol/shards.js';
import { isValidTableName } from '../protocol/subjects.js';
import type { TableColumn } from '../protocol/table-metadata.js';
import { columnRanges } from './column-ranges.js';
import { dataVersion } from './data-version.js';
import { createScratchDir, downloadAll, type LocalCopy, MiB, type ObjectFormat } from './download.js';
import { createS3Source, resolveObjects, type S3Object, type S3Source } from './s3-source.js';
import { assignObjects } from './shard-objects.js';
import type { LoadedTable } from './table.js';

export interface LoadOptions {
  urls: string[];
  tableName: string;
  s3Endpoint?: string;
  /** Which part of the listed objects to load (shard-objects.ts). */
  shard: ShardSpec;
  /** Where and how much DuckDB may spill (default: DuckDB's own, `.tmp` up to 90% of the disk). */
  spill?: SpillLimits;
  /** DuckDB memory_limit (default: DuckDB's, 80% of the machine's or the cgroup's memory). */
  memoryLimit?: string;
  /** DuckDB's worker threads (default: DuckDB's, the machine's cores). */
  threads?: number;
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

/** One object's columns as DuckDB reads it. */
interface ObjectSchema {
  url: string;
  columns: TableColumn[];
}

async function inspect(con: DuckDBConnection, copy: LocalCopy): Promise<ObjectSchema> {
  try {
    return {
      url: copy.object.url,
      columns: await describe(con, `SELECT * FROM ${readerSql(copy.format, [copy.path])}`),
    };
  } catch (err) {
    throw explainReadError(err, [copy]);
  }
}

/** Whether the object holds a row (reads its start only, after sniffing it again). */
async function hasRows(con: DuckDBConnection, copy: LocalCopy): Promise<boolean> {
  const source = readerSql(copy.format, [copy.path]);
  try {
    const some = await con.runAndReadAll(`SELECT count(*)::INTEGER FROM (SELECT 1 FROM ${source} LIMIT 1)`);
    return Number(some.getRows()[0][0]) > 0;
  } catch (err) {
    throw explainReadError(err, [copy]);
  }
}

/**
 * Every object must have the first one's column names, and every object with rows the first
 * such object's types: an object without rows (a header only, as Spark and Hive write for an
 * empty partition) reads as all VARCHAR, so it must not vote on types. Whether an object has
 * rows is asked only while no object with rows is known, or of one whose types disagree.
 */
class SchemaAgreement {
  /** The first object seen: the names. */
  named: ObjectSchema | undefined;
  /** The first object with rows: the types. */
  typed: ObjectSchema | undefined;

  /** Whether to load the object's rows (none to load: false); throws when it disagrees. */
  async admit(object: ObjectSchema, hasRows: () => Promise<boolean>): Promise<boolean> {
    this.named ??= object;
    const names = namesDifference(this.named.columns, object.columns);
    if (names) throw schemaMismatch(object, this.named, names);
    const types = this.typed && typesDifference(this.typed.columns, object.columns);
    if (this.typed && !types) return true;
    if (!(await hasRows())) return false;
    if (this.typed && types) throw schemaMismatch(object, this.typed, types);
    this.typed = object;
    return true;
  }
}

function schemaMismatch(object: ObjectSchema, reference: ObjectSchema, difference: string): Error {
  return new Error(`schema of ${object.url} differs from that of ${reference.url}: ${difference}`);
}

/** How `actual`'s column names differ from `expected`'s, or undefined when they agree. */
function namesDifference(expected: TableColumn[], actual: TableColumn[]): string | undefined {
  if (expected.length !== actual.length) {
    return `it has ${actual.length} columns (${columnsText(actual)}), the first object ${expected.length} (${columnsText(expected)})`;
  }
  const at = expected.findIndex((c, i) => c.name !== actual[i].name);
  return at < 0
    ? undefined
    : `column ${at + 1} is named "${actual[at].name}" where the first object has "${expected[at].name}"`;
}

/** How `actual`'s types differ from `expected`'s (same names), or undefined when they agree. */
function typesDifference(expected: TableColumn[], actual: TableColumn[]): string | undefined {
  const at = expected.findIndex((c, i) => c.type !== actual[i].type);
  return at < 0
    ? undefined
    : `column "${actual[at].name}" is ${actual[at].type} where the first object with rows has ${expected[at].type}`;
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
  created = false;
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

  /** The table with these columns and no row, when no object added any. */
  async createEmpty(columns: TableColumn[]): Promise<void> {
    const definitions = columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ');
    await this.con.run(`CREATE TABLE main.${quoteIdent(this.table)} (${definitions})`);
    this.created = true;
  }
}

/**
 * The columns of a part without rows (no object, or header-only ones): those of the smallest
 * object of the table's listing that has rows, so that it answers with the types the other
 * parts have; all objects without rows, the names they agree on (DuckDB reads them as VARCHAR).
 */
async function columnsFromOtherParts(
  src: S3Source,
  others: S3Object[],
  con: DuckDBConnection,
  schemas: SchemaAgreement,
  scratch: string,
): Promise<ObjectSchema | undefined> {
  const dir = join(scratch, 'columns');
  await mkdir(dir);
  const smallestFirst = [...others].sort((a, b) => a.size - b.size || (a.url < b.url ? -1 : 1));
  for await (const copy of downloadAll(src, smallestFirst, dir, () => {})) {
    try {
      const schema = await inspect(con, copy);
      if (await schemas.admit(schema, () => hasRows(con, copy))) return schema;
    } finally {
      await rm(copy.path, { force: true });
    }
  }
  return schemas.named;
}

/** This part's objects for the log: a long list cut short. */
function objectList(objects: S3Object[]): string {
  const shown = objects.slice(0, 20).map((o) => o.url);
  const more = objects.length - shown.length;
  return more > 0 ? `${shown.join(' ')} and ${more} more` : shown.join(' ');
}

export async function loadTable(opts: LoadOptions): Promise<LoadedTable> {
  const { log } = opts;
  const started = performance.now();
  if (!isValidTableName(opts.tableName)) {
    throw new Error(`invalid table name "${opts.tableName}": use a letter or _ then letters, digits or _`);
  }
  const src = await createS3Source(opts.s3Endpoint);
  const listed = await resolveObjects(src, opts.urls);
  const part = assignObjects(listed, opts.urls, opts.shard);
  const { objects, bytes: totalBytes } = part;
  const split = isSplit(opts.shard);
  log.info('loading table', {
    table: opts.tableName,
    shard: split ? shardLabel(opts.shard) : undefined,
    objects: objects.length,
    MB: mb(totalBytes),
    from: src.endpoint,
    ...(split && {
      listed: listed.length,
      bytes: totalBytes,
      bytes_per_part: part.partBytes.join(' '),
      this_part: objects.length > 0 ? objectList(objects) : 'no object',
    }),
  });

  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  await limitMemoryAndThreads(con, opts);
  if (opts.spill) await limitSpill(con, opts.spill);
  await disableLateMaterialization(con);
  const scratch = await createScratchDir();
  const progress = startProgress(log, totalBytes, con);
  let loaded = false;
  try {
    await con.run('SET enable_progress_bar = true');
    await con.run('SET enable_progress_bar_print = false');
    const writer = new TableWriter(con, opts.tableName, progress.setRows);
    const schemas = new SchemaAgreement();
    for await (const copy of downloadAll(src, objects, scratch.path, progress.onBytes)) {
      const schema = await inspect(con, copy);
      if (await schemas.admit(schema, () => hasRows(con, copy))) await writer.add(copy);
      else await rm(copy.path, { force: true });
    }
    await writer.flush();
    if (!writer.created) {
      const mine = new Set(objects);
      const others = listed.filter((o) => !mine.has(o));
      const from = await columnsFromOtherParts(src, others, con, schemas, scratch.path);
      // resolveObjects names at least one object, and each has a header or fails to read.
      if (!from) throw new Error(`no object of ${opts.urls.join(' ')} says the table's columns`);
      log.info('no rows in this part: columns and types as in another object', { object: from.url });
      await writer.createEmpty(from.columns);
    }
    const columns = await describe(con, `main.${quoteIdent(opts.tableName)}`);
    const ranges = await columnRanges(con, opts.tableName, columns);
    const memory = await con.runAndReadAll('SELECT sum(memory_usage_bytes)::BIGINT FROM duckdb_memory()');
    const memoryBytes = Number(memory.getRows()[0][0]);
    await lockDown(con);
    const loadTimeMs = performance.now() - started;
    log.info('table loaded', {
      table: opts.tableName,
      shard: split ? shardLabel(opts.shard) : undefined,
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
      version: dataVersion(objects),
      columnRanges: ranges,
    };
  } finally {
    progress.stop();
    con.closeSync();
    if (!loaded) instance.closeSync();
    await scratch.remove();
  }
}
