/**
 * Where a DuckDB instance may spill, and how much: without this, an in-memory instance
 * spills into `.tmp` of the working directory, up to 90% of that disk. Each process gets a
 * directory of its own (DuckDB's temp file names would collide between processes), named
 * under --temp-directory or the OS temp dir, and removed when the process exits. DuckDB makes
 * it on its first spill: a process that never spills, or is killed, leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral } from './sql.js';

export interface SpillLimits {
  /** The directory under which this process's own is made (default: the OS temp dir). */
  tempDirectory?: string;
  /** DuckDB's max_temp_directory_size, e.g. 10GiB. */
  maxTempDirectorySize: string;
}

let ownDirectory: string | undefined;

/** This process's spill directory under `base` (DuckDB makes it when it spills), removed at exit. */
function spillDirectory(base: string): string {
  if (ownDirectory) return ownDirectory;
  const dir = join(base, `duckdb-s3-query-spill-${process.pid}-${randomBytes(6).toString('hex')}`);
  ownDirectory = dir;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Sets temp_directory and max_temp_directory_size; before lockDown, which freezes settings. */
export async function limitSpill(con: DuckDBConnection, limits: SpillLimits): Promise<void> {
  const dir = spillDirectory(limits.tempDirectory ?? tmpdir());
  await con.run(`SET temp_directory = ${quoteLiteral(dir)}`);
  await con.run(`SET max_temp_directory_size = ${quoteLiteral(limits.maxTempDirectorySize)}`);
}
