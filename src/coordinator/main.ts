import type { CoordinatorOptions } from '../config.js';

export async function runCoordinator(_opts: CoordinatorOptions): Promise<void> {
  throw new Error('not implemented yet');
}
