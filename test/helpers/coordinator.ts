/** POST /query to a coordinator, JSON answer. */
import type { ManagedProcess } from '../../src/tools/local-cluster.js';

export interface QueryAnswer<Stats = unknown> {
  status: number;
  results: unknown[];
  columns: string[];
  message?: string;
  stats: Stats;
}

export async function askCoordinator<Stats = unknown>(
  coordinator: ManagedProcess,
  sql: string,
): Promise<QueryAnswer<Stats>> {
  const response = await fetch(`${coordinator.url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: sql }),
  });
  return { status: response.status, ...((await response.json()) as Omit<QueryAnswer<Stats>, 'status'>) };
}
