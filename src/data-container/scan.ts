/** Runs one scan request over a loaded table and emits its frames (being written). */
import type { Encoding } from '../protocol/codec.js';
import type { Frame, ParsedScanRequest } from '../protocol/frames.js';
import type { LoadedTable } from './table.js';

/** Where frames go. `send` resolves when the next frame may follow (flow control lives here). */
export interface FrameSink {
  send(frame: Frame): Promise<void>;
}

/**
 * Sends schema, data…, end — or an error frame — to `sink`. Never throws; stops sending at
 * once when `signal` aborts (the receiver went away or cancelled).
 */
export async function executeScan(
  _table: LoadedTable,
  _request: ParsedScanRequest,
  _encoding: Encoding,
  _sink: FrameSink,
  _signal: AbortSignal,
): Promise<void> {
  throw new Error('not implemented yet');
}
