/**
 * TPC-H data kept between runs in the temp dir: one folder per scale factor, DuckDB build and
 * generator text (a hash of them), so that a changed generator never serves stale files.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { version } from '@duckdb/node-api';
import { type TpchData, tpchGeneratorSql, writeTpchData } from './generate.js';

/** Written last: a folder without it was cut short and is written again. */
const COMPLETE = 'complete.json';

export function tpchCacheDir(sf: number): string {
  const key = createHash('sha256')
    .update(`${version()}\n${tpchGeneratorSql(sf)}`)
    .digest('hex')
    .slice(0, 12);
  return join(tmpdir(), `duckdb-s3-query-tpch-sf${sf}-${key}`);
}

/** The data at `sf`, generated unless an earlier run left it complete; `fresh` says which. */
export async function cachedTpchData(sf: number): Promise<{ data: TpchData; fresh: boolean }> {
  const dir = tpchCacheDir(sf);
  try {
    return { data: JSON.parse(await readFile(join(dir, COMPLETE), 'utf8')) as TpchData, fresh: false };
  } catch {
    await rm(dir, { recursive: true, force: true });
    const data = await writeTpchData(dir, sf);
    await writeFile(join(dir, COMPLETE), JSON.stringify(data));
    return { data, fresh: true };
  }
}
