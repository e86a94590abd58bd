import type { ScanCommandOptions } from '../config.js';

export async function runScanCommand(_opts: ScanCommandOptions): Promise<void> {
  throw new Error('not implemented yet');
}
