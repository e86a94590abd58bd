/**
 * One query's run for a Postgres client: started through openQuery (the executor POST /query
 * uses), described (column names, types, formats), and read out as DataRows, all at once or
 * `maxRows` at a time (an Execute with a limit leaves the rest for the next one).
 */
import { type DuckDBDataChunk, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import { releasingChunks } from '../../duckdb/chunk-memory.js';
import { duckdbErrorToQueryError } from '../../duckdb/duckdb-errors.js';
import { type ChunkSource, chunksOf } from '../../duckdb/json-values.js';
import { openQuery } from '../execute/execute.js';
import { type ExecutorContext, type OpenQuery, timeoutError } from '../execute/query.js';
import { dataRows } from './messages.js';
import { type PgType, pgTypeOf } from './pg-types.js';
import { columnEncoder, type EncodedColumn } from './values.js';

export interface Field {
  name: string;
  type: PgType;
  format: 0 | 1;
}

/** The format code of column `i` from a Bind's list: none (text), one for all, or one each. */
export function formatOf(formats: number[], i: number): 0 | 1 {
  const f = formats.length === 0 ? 0 : formats.length === 1 ? formats[0] : (formats[i] ?? 0);
  return f === 1 ? 1 : 0;
}

/** A column of unknown type: sent as text, as DuckDB prints it. */
const UNKNOWN = { typeId: DuckDBTypeId.INVALID } as unknown as DuckDBType;

/** A result's column types, when the result object knows them without a chunk read. */
function declaredTypes(result: ChunkSource): DuckDBType[] | undefined {
  const r = (result.materialized ?? result) as { columnTypes?: () => DuckDBType[] };
  return typeof r.columnTypes === 'function' ? r.columnTypes() : undefined;
}

export class RunningQuery {
  private chunks: AsyncIterator<DuckDBDataChunk> | undefined;
  /** A chunk read but not all sent: its encoded columns and the next row to send. */
  private pending: { columns: EncodedColumn[]; rows: number; next: number } | undefined;
  private peeked: DuckDBDataChunk | null | undefined;
  private encoders: ReturnType<typeof columnEncoder>[] = [];
  private done = false;
  /** Rows sent so far, for the CommandComplete tag. */
  sent = 0;

  private constructor(
    private readonly open: OpenQuery,
    private readonly ctx: ExecutorContext,
    readonly fields: Field[],
    private readonly release: () => void,
  ) {}

  static async start(
    sql: string,
    ctx: ExecutorContext,
    signal: AbortSignal,
    formats: number[],
    /** Types of the statement as prepared, for a result that turns out empty. */
    fallbackTypes: () => Promise<DuckDBType[] | undefined>,
  ): Promise<RunningQuery> {
    // A turn like POST /query's; the wait counts against the query's deadline.
    const turn = await ctx.admission.enter(ctx.timeoutMs, signal);
    const release = turn.release;
    const own = { ...ctx, timeoutMs: Math.max(1, Math.round(ctx.timeoutMs - turn.waitedMs)) };
    const open = await openQuery(sql, own, signal).catch((err: unknown) => {
      release();
      throw err;
    });
    try {
      const chunks = releasingChunks(chunksOf(open.result))[Symbol.asyncIterator]();
      let types = declaredTypes(open.result);
      let peeked: DuckDBDataChunk | null | undefined;
      if (!types) {
        // A result streamed from a container carries its types in its chunks.
        const first = await chunks.next();
        peeked = first.done ? null : first.value;
        types = peeked
          ? Array.from(
              { length: peeked.columnCount },
              (_, i) => peeked?.getColumnVector(i).type as DuckDBType,
            )
          : await fallbackTypes();
      }
      const names = open.result.deduplicatedColumnNames();
      const typeOf = (i: number) => types?.[i] ?? UNKNOWN;
      const fields = names.map((name, i) => ({
        name,
        type: pgTypeOf(typeOf(i)),
        format: formatOf(formats, i),
      }));
      const query = new RunningQuery(open, own, fields, release);
      query.chunks = chunks;
      query.peeked = peeked;
      query.encoders = names.map((_, i) => columnEncoder(typeOf(i), formatOf(formats, i)));
      return query;
    } catch (err) {
      open.close();
      release();
      throw err;
    }
  }

  private async nextChunk(): Promise<DuckDBDataChunk | undefined> {
    if (this.peeked !== undefined) {
      const chunk = this.peeked ?? undefined;
      this.peeked = undefined;
      return chunk;
    }
    const next = await (this.chunks as AsyncIterator<DuckDBDataChunk>).next();
    return next.done ? undefined : next.value;
  }

  /**
   * Sends up to `maxRows` rows (0: all) through `send`, awaiting it between chunks (the
   * socket's backpressure). True when the result has more rows.
   */
  async sendRows(maxRows: number, send: (rows: Buffer) => Promise<void>): Promise<boolean> {
    let budget = maxRows > 0 ? maxRows : Number.POSITIVE_INFINITY;
    try {
      while (budget > 0) {
        if (!this.pending) {
          const chunk = this.done ? undefined : await this.nextChunk();
          if (!chunk || chunk.rowCount === 0) {
            this.done = true;
            return false;
          }
          const columns = this.encoders.map((encode, c) => encode(chunk, c));
          this.pending = { columns, rows: chunk.rowCount, next: 0 };
        }
        const { columns, rows, next } = this.pending;
        const to = Math.min(rows, next + budget);
        await send(dataRows(columns, next, to));
        budget -= to - next;
        this.sent += to - next;
        this.pending = to < rows ? { columns, rows, next: to } : undefined;
      }
      if (this.pending) return true;
      const more = await this.nextChunk();
      this.peeked = more ?? null;
      if (!more || more.rowCount === 0) this.done = true;
      return !this.done;
    } catch (err) {
      throw this.open.timedOut() ? timeoutError(this.ctx.timeoutMs) : duckdbErrorToQueryError(err);
    }
  }

  close(): void {
    this.open.close();
    this.release();
  }
}
