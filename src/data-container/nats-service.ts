/** Registers a loaded table as a NATS micro service (owned by the NATS work; stub for now). */
import type { Logger } from '../log.js';
import type { LoadedTable } from './table.js';

export interface TableService {
  stop(): Promise<void>;
}

export async function startTableService(_table: LoadedTable, _natsUrl: string, _log: Logger): Promise<TableService> {
  throw new Error('NATS service not implemented yet');
}
