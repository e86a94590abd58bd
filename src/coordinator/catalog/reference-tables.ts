/**
 * Reference tables: the coordinator keeps its own copy of each small unsplit table (Citus
 * replicates "reference tables" to every node; ClickHouse has dictionaries), so that a query
 * starts its chain of key reductions from tables in hand instead of a round trip each.
 *
 * A copy is filled in the background: the first query that reads an eligible table starts
 * one full scan of it (all columns, the normal scan path) into a persistent table of the
 * coordinator's DuckDB (`memory.cache."<table>@<version>#<n>"`); that query is served as
 * before, later ones from the copy (reference-scan.ts).
 *
 * Why a copy cannot change an answer:
 * - A data container loads its objects once, at start, and never changes them; its data
 *   version hashes the objects' keys, ETags and sizes (data-container/data-version.ts). Equal
 *   versions therefore mean equal rows.
 * - The fill ties the rows it got to a version: the scan's end frame names the replica that
 *   served it, and that replica is then asked its version on its own instance subject (only
 *   that table's containers may answer there); the copy is kept only when that version is the
 *   catalog's (and the rows and columns are the catalog's). A table without a version (a
 *   container older than versions) is never copied.
 * - Every query that uses a copy asks the table's containers (`duckdb.<table>.metadata`, the
 *   queue group its scans go to) for their version, at the start of its gather, beside its
 *   scans; the final SQL runs only once every answer equals the copy's version. Any other
 *   answer, or none in time, drops the copy and gathers the query again without copies: rows
 *   from the copy may have narrowed other scans, so nothing of that gather is kept. The
 *   answer then is what a scan sent at that moment would have read.
 * - A catalog entry that changes (columns, rows, version, location, an error) drops the copy
 *   at the next query, checked or not.
 * - A copy dropped while queries still read it (their views bind it) is dropped from DuckDB
 *   only once the last of them ends.
 * User SQL cannot name a copy: the analysis knows only catalog tables, unqualified or in
 * `main` (analyze/scope.ts).
 * Only unsplit NATS tables are copied: a split table's parts each have their own version, and
 * a table reached over HTTP has no instance to tie the fill to.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { NatsConnection } from '@nats-io/transport-node';
import { quoteIdent } from '../../duckdb/sql.js';
import type { Logger } from '../../log.js';
import { askInstance } from '../../nats/trusted-discovery.js';
import { SILENCE_MS } from '../../protocol/frames.js';
import { subjectFor } from '../../protocol/subjects.js';
import { columnsText, instanceMetadataSchema } from '../../protocol/table-metadata.js';
import type { CoordinatorEngine } from '../execute/engine.js';
import { gatherFrames, TempTableTarget } from '../execute/gather.js';
import { Serial } from '../execute/serial.js';
import type { CatalogTable } from './catalog.js';

export interface ReferenceTableLimits {
  /** Tables of at most this many rows are copied; 0: no copies. */
  maxRows: number;
  /** Bytes all copies may take (as their scans sent them); 0: no copies. */
  maxBytes: number;
}

/** The coordinator's own copy of one table. */
export interface TableCopy {
  table: string;
  /** `memory.cache."<name>"`, as SQL. */
  relation: string;
  version: string;
  /** The replica whose rows it holds. */
  instance: string;
  rows: number;
  bytes: number;
}

interface HeldCopy extends TableCopy {
  name: string;
  /** The catalog entry it was filled from (columns, rows, version, location). */
  entry: string;
  users: number;
  retired: boolean;
}

/** A copy that proved stale while a query used it: the query is gathered again without copies. */
export class StaleCopyError extends Error {
  constructor(
    readonly table: string,
    why: string,
  ) {
    super(`the coordinator's copy of ${table} is stale (${why})`);
  }
}

/** How long the fill's scan and a version check may take. */
const FILL_TIMEOUT_MS = 60_000;
const CHECK_TIMEOUT_MS = SILENCE_MS;
const SCHEMA = 'cache';

function entryOf(table: CatalogTable): string {
  return JSON.stringify([
    columnsText(table.columns),
    table.rowCount,
    table.version,
    table.location,
    table.error,
  ]);
}

/** What the containers serving `table` say its data version is now. */
async function versionNow(nc: NatsConnection, table: string): Promise<string> {
  const reply = await nc.request(subjectFor(table, 'metadata'), '', { timeout: CHECK_TIMEOUT_MS });
  const meta = instanceMetadataSchema.safeParse(reply.json());
  if (!meta.success || meta.data.view_name !== table)
    throw new Error("its metadata is not a table's metadata");
  return meta.data.version;
}

export class ReferenceTables {
  /** By table name (lower case); least recently used first. */
  private readonly copies = new Map<string, HeldCopy>();
  private readonly filling = new Set<string>();
  private bytes = 0;
  private fills = 0;
  /** Made once: concurrent fills would conflict making it. */
  private schema: Promise<void> | undefined;

  constructor(
    private readonly engine: CoordinatorEngine,
    readonly limits: ReferenceTableLimits,
    private readonly log: Logger,
  ) {}

  /** Whether `table` may be copied: small, unsplit, over NATS, with a version. */
  eligible(table: CatalogTable): boolean {
    const { maxRows, maxBytes } = this.limits;
    return (
      maxRows > 0 &&
      maxBytes > 0 &&
      table.transport === 'nats' &&
      !table.parts &&
      !table.error &&
      !!table.version &&
      table.rowCount <= maxRows &&
      table.remoteName.toLowerCase() === table.name.toLowerCase()
    );
  }

  /** The copy of `table` that matches its catalog entry, if any (EXPLAIN: unchecked). */
  peek(table: CatalogTable): TableCopy | undefined {
    const copy = this.copies.get(table.name.toLowerCase());
    return copy && copy.entry === entryOf(table) ? copy : undefined;
  }

  /**
   * The copy of `table`, held for one query (`release` when it ends), when there is one that
   * matches its catalog entry; otherwise a fill starts in the background and the query scans.
   */
  acquire(table: CatalogTable, nc: NatsConnection | undefined): HeldCopy | undefined {
    const key = table.name.toLowerCase();
    const copy = this.copies.get(key);
    if (copy && copy.entry !== entryOf(table)) this.retire(copy);
    if (!this.eligible(table) || !nc) return undefined;
    const current = this.copies.get(key);
    if (!current) {
      this.startFill(table, nc);
      return undefined;
    }
    this.copies.delete(key);
    this.copies.set(key, current);
    current.users++;
    return current;
  }

  release(copy: TableCopy): void {
    const held = copy as HeldCopy;
    held.users--;
    if (held.retired && held.users === 0) this.drop(held);
  }

  /** Resolves once `copy`'s table is still served at its version; else drops it and rejects. */
  async confirm(copy: TableCopy, nc: NatsConnection): Promise<void> {
    const version = await versionNow(nc, copy.table).catch((err: unknown) => {
      this.retire(copy as HeldCopy);
      throw new StaleCopyError(copy.table, `its version could not be checked: ${(err as Error).message}`);
    });
    if (version === copy.version) return;
    this.retire(copy as HeldCopy);
    throw new StaleCopyError(copy.table, `version ${copy.version} copied, ${version || 'none'} served now`);
  }

  /** Drops the copies whose table's catalog entry changed or went away. */
  sweep(lookup: (name: string) => CatalogTable | undefined): void {
    for (const copy of [...this.copies.values()]) {
      const table = lookup(copy.table);
      if (!table || entryOf(table) !== copy.entry) this.retire(copy);
    }
  }

  private retire(copy: HeldCopy): void {
    if (copy.retired) return;
    copy.retired = true;
    if (this.copies.get(copy.table.toLowerCase()) === copy) this.copies.delete(copy.table.toLowerCase());
    this.bytes -= copy.bytes;
    if (copy.users === 0) this.drop(copy);
  }

  private drop(copy: HeldCopy): void {
    this.withConnection((con) => con.run(`DROP TABLE IF EXISTS ${copy.relation}`)).catch((err: unknown) =>
      this.log.warn('dropping a reference table copy failed', { table: copy.table, error: err }),
    );
  }

  private async withConnection<T>(work: (con: DuckDBConnection) => Promise<T>): Promise<T> {
    const con = await this.engine.connect();
    try {
      return await work(con);
    } finally {
      con.closeSync();
    }
  }

  private startFill(table: CatalogTable, nc: NatsConnection): void {
    const key = table.name.toLowerCase();
    if (this.filling.has(key)) return;
    this.filling.add(key);
    this.fill(table, nc)
      .catch((err: unknown) =>
        this.log.warn('copying a reference table failed', { table: table.name, error: err }),
      )
      .finally(() => this.filling.delete(key));
  }

  /** One full scan of `table` into a persistent table, kept when its replica holds the catalog's version. */
  private async fill(table: CatalogTable, nc: NatsConnection): Promise<void> {
    const version = table.version as string;
    const name = `${table.name}@${version}#${++this.fills}`;
    const relation = `memory.${SCHEMA}.${quoteIdent(name)}`;
    const staging = '__reference_copy';
    const kept = await this.withConnection(async (con) => {
      const opts = {
        nc,
        idleTimeoutMs: SILENCE_MS,
        deadline: performance.now() + FILL_TIMEOUT_MS,
        signal: AbortSignal.timeout(FILL_TIMEOUT_MS),
        serial: new Serial(),
      };
      const stats = await gatherFrames(table, { columns: [] }, opts, new TempTableTarget(con, staging, opts));
      if (stats.bytes > this.limits.maxBytes || stats.rows !== table.rowCount || !stats.replica)
        return undefined;
      const served = await askInstance(nc, table.remoteName, stats.replica);
      if (served?.version !== version || columnsText(served.columns) !== columnsText(table.columns))
        return undefined;
      this.schema ??= con.run(`CREATE SCHEMA IF NOT EXISTS memory.${SCHEMA}`).then(() => undefined);
      await this.schema;
      await con.run(`CREATE TABLE ${relation} AS SELECT * FROM temp.main.${quoteIdent(staging)}`);
      return { rows: stats.rows, bytes: stats.bytes, instance: stats.replica };
    });
    if (!kept) return;
    const copy: HeldCopy = {
      table: table.name,
      name,
      relation,
      version,
      entry: entryOf(table),
      users: 0,
      retired: false,
      ...kept,
    };
    const before = this.copies.get(table.name.toLowerCase());
    if (before) this.retire(before);
    this.copies.set(table.name.toLowerCase(), copy);
    this.bytes += copy.bytes;
    this.evict();
    this.log.info('reference table copied', {
      table: table.name,
      version,
      rows: copy.rows,
      bytes: copy.bytes,
    });
  }

  /** Least recently used copies go until the rest fit the byte budget. */
  private evict(): void {
    for (const copy of [...this.copies.values()]) {
      if (this.bytes <= this.limits.maxBytes) return;
      this.retire(copy);
    }
  }
}
