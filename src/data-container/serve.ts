import type { ServeOptions } from '../config.js';

export async function runServe(_opts: ServeOptions): Promise<void> {
  throw new Error('not implemented yet');
}
