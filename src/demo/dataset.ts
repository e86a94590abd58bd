/** What the demo serves: the sample tables (`--rows`), or TPC-H at a scale factor (`--tpch SF`). */
import { SAMPLE_TABLES, writeSampleData } from '../tools/sample-data.js';
import { TPCH_TABLES, writeTpchData } from '../tools/tpch/generate.js';

export interface DemoDataset {
  /** Rows in labels (the sample tables), when `tpch` is absent. */
  rows: number;
  /** The TPC-H scale factor, instead of the sample tables. */
  tpch?: number;
}

export interface DemoData {
  files: Record<string, string>;
  rows: Record<string, number>;
}

export function checkDataset(d: DemoDataset): void {
  if (d.tpch !== undefined && !(d.tpch > 0 && d.tpch <= 100))
    throw new Error(`--tpch must be a scale factor in (0, 100], e.g. 0.1; got ${d.tpch}`);
  if (!Number.isSafeInteger(d.rows) || d.rows < 1) throw new Error('--rows must be a positive integer');
}

export function datasetTables(d: DemoDataset): readonly string[] {
  return d.tpch === undefined ? SAMPLE_TABLES : TPCH_TABLES;
}

export function writeDataset(dir: string, d: DemoDataset): Promise<DemoData> {
  return d.tpch === undefined ? writeSampleData(dir, { labels: d.rows }) : writeTpchData(dir, d.tpch);
}
