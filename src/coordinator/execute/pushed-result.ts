/**
 * The answer of a query pushed whole to one container, without a TEMP table and a second
 * query over it: the frames become DuckDB chunks that the HTTP layer reads as it reads a
 * result. That saves a few milliseconds on what pushed queries mostly return, a few rows.
 * Past MAX_HELD_ROWS, or with columns that travel as text (DuckDB must cast them back), the
 * rows go to a TEMP table like any scan's, under the coordinator's memory limit.
 */
import { type DuckDBConnection, DuckDBDataChunk, type DuckDBType } from '@duckdb/node-api';
import { writeWireColumns } from '../../duckdb/columnar.js';
import { type ChunkSource, deduplicateNames } from '../../duckdb/json-values.js';
import { Lru } from '../../lru.js';
import type { ColumnSchema, WireColumn } from '../../protocol/frames.js';
import { jsonAnswerTooLarge } from '../http/json-answer.js';
import { type FrameTarget, type GatherOptions, TempTableTarget } from './gather.js';

const MAX_HELD_ROWS = 100_000;

/** DuckDB types by their names, as schema frames carry them (few distinct ones recur). */
const typesByName = new Lru<string, DuckDBType>(512);

export async function typesOf(con: DuckDBConnection, columns: ColumnSchema[]): Promise<DuckDBType[]> {
  const found = new Map<string, DuckDBType>();
  const missing: string[] = [];
  for (const name of new Set(columns.map((c) => c.type))) {
    const known = typesByName.get(name);
    if (known) found.set(name, known);
    else missing.push(name);
  }
  if (missing.length > 0) {
    const prepared = await con.prepare(`SELECT ${missing.map((t) => `NULL::${t}`).join(', ')}`);
    try {
      for (const [i, name] of missing.entries()) {
        found.set(name, prepared.columnType(i));
        typesByName.set(name, prepared.columnType(i));
      }
    } finally {
      prepared.destroySync();
    }
  }
  return columns.map((c) => found.get(c.type) as DuckDBType);
}

/** Chunks in hand, read like a result. */
class HeldChunks implements ChunkSource {
  private next = 0;

  constructor(
    private readonly names: string[],
    private readonly chunks: DuckDBDataChunk[],
    readonly rowCount: number,
  ) {}

  deduplicatedColumnNames(): string[] {
    return deduplicateNames(this.names);
  }

  async fetchChunk(): Promise<DuckDBDataChunk | null> {
    return this.chunks[this.next++] ?? null;
  }
}

/**
 * Holds a pushed query's rows as chunks, or spills them to TEMP table `spillTable` (columns
 * c0, c1…, as the pushed result may repeat names).
 */
export class PushedResultTarget implements FrameTarget {
  private columns: ColumnSchema[] = [];
  private types: DuckDBType[] = [];
  private chunks: DuckDBDataChunk[] = [];
  /** Rows written, held or spilled. */
  private rows = 0;
  private spilled: TempTableTarget | undefined;

  constructor(
    private readonly con: DuckDBConnection,
    private readonly spillTable: string,
    private readonly opts: GatherOptions,
    /** Past this many rows the gather fails at once (a JSON answer's cap). */
    private readonly maxRows = Number.POSITIVE_INFINITY,
  ) {}

  async open(columns: ColumnSchema[]): Promise<void> {
    this.columns = columns;
    if (columns.some((c) => c.wire === 'text')) await this.spill();
    else this.types = await this.opts.serial.run(() => typesOf(this.con, columns));
  }

  async write(columns: WireColumn[], rows: number): Promise<void> {
    this.rows += rows;
    if (this.rows > this.maxRows) throw jsonAnswerTooLarge(this.maxRows);
    if (!this.spilled && this.rows > MAX_HELD_ROWS) await this.spill();
    if (this.spilled) return this.spilled.write(columns, rows);
    writeWireColumns(
      this.columns,
      columns,
      rows,
      () => DuckDBDataChunk.create(this.types),
      (chunk) => this.chunks.push(chunk),
    );
  }

  async close(complete: boolean): Promise<void> {
    await this.spilled?.close(complete);
  }

  /** The rows held, once gathered; undefined when they went to the TEMP table. */
  result(): ChunkSource | undefined {
    if (this.spilled) return undefined;
    return new HeldChunks(
      this.columns.map((c) => c.name),
      this.chunks,
      this.rows,
    );
  }

  private async spill(): Promise<void> {
    const spilled = new TempTableTarget(this.con, this.spillTable, { ...this.opts, positional: true });
    await spilled.open(this.columns);
    this.spilled = spilled;
    await spilled.appendChunks(this.chunks);
    this.chunks = [];
  }
}
