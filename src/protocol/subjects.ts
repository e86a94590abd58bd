/** NATS names shared by data containers and their clients (DESIGN.md, NATS section). */
export const SERVICE_NAME = 'duckdb-table';
export const SERVICE_VERSION = '0.1.0';
export const QUEUE_GROUP = 'q';

export type EndpointName = 'scan' | 'metadata' | 'query';

export function subjectFor(table: string, endpoint: EndpointName): string {
  return `duckdb.${table}.${endpoint}`;
}

/** Table names become NATS subject tokens and SQL identifiers: keep them to a safe alphabet. */
export const TABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function isValidTableName(name: string): boolean {
  return TABLE_NAME_PATTERN.test(name);
}

/**
 * Where the receiver of scan `id` sends acks, cancel and a dynamic filter. Under `duckdb.>`
 * like every subject of the system, so NATS permissions can confine it.
 */
export function controlSubject(table: string, id: string): string {
  return `duckdb.${table}.control.${id}`;
}
