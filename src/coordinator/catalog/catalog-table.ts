/**
 * A catalog entry, and how the data containers found on NATS for one table become one: a
 * whole table served by replicas, or a table split into parts (protocol/shards.ts), each part
 * served by replicas. A table whose containers do not add up to one consistent table (they
 * disagree on the number of parts, replicas hold different data, a part is missing, parts
 * disagree on columns, two parts hold the same objects) gets an `error` instead of a wrong
 * answer: the executor answers 503 with it.
 */
import { type ColumnRange, partSubject } from '../../protocol/shards.js';
import { subjectFor } from '../../protocol/subjects.js';
import { columnsDifference, type TableColumn } from '../../protocol/table-metadata.js';
import type { DiscoveredInstance, DiscoveredTable } from '../../scan-client/discovery.js';

export type Transport = 'nats' | 'http';

export interface CatalogTable {
  /** The name queries use. */
  name: string;
  columns: TableColumn[];
  rowCount: number;
  transport: Transport;
  /** The container's base URL (http), scan subject (nats), or its parts' (`duckdb.<t>.{0..N-1}.scan`). */
  location: string;
  /** The table's name inside its container (config.json's `table_name`). */
  remoteName: string;
  /** NATS instances serving it (every replica of every part), 1 for HTTP. */
  instances: number;
  /** The API key sent to its HTTP data container (config.json, src/auth/container-keys.ts). */
  apiKey?: string;
  /** Why it cannot be queried now (the executor answers 503 with it). */
  error?: string;
  /** For a table split into parts (NATS only): every part, in index order. */
  parts?: CatalogPart[];
  /** An unsplit table's data version (its replicas agree, or it has an `error`); '' when unknown. */
  version?: string;
}

/** One part of a split table (protocol/shards.ts). */
export interface CatalogPart {
  index: number;
  /** Its scan subject, `duckdb.<table>.<I>.scan`. */
  subject: string;
  /** Live replicas serving it. */
  instances: number;
  rowCount: number;
  /** The replicas' data version (they agree, or the table is refused). */
  version: string;
  /** Per column, its range in this part, for pruning; a column left out has no known range. */
  columnRanges: Record<string, ColumnRange | null>;
}

/** One part of a split table as a table of its own: its subject, replicas, rows and version. */
export function partAsTable(table: CatalogTable, part: CatalogPart): CatalogTable {
  return {
    ...table,
    location: part.subject,
    instances: part.instances,
    rowCount: part.rowCount,
    version: part.version,
    parts: undefined,
  };
}

/** Instances named in a message at most; the rest are counted. */
const NAMED_INSTANCES = 4;

function instancesText(instances: DiscoveredInstance[]): string {
  const ids = instances.slice(0, NAMED_INSTANCES).map((i) => i.id);
  const more = instances.length - ids.length;
  return `${instances.length === 1 ? 'instance' : 'instances'} ${ids.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

function versionText(version: string): string {
  return version === ''
    ? 'no version'
    : `version ${version.length > 16 ? `${version.slice(0, 16)}…` : version}`;
}

function groupBy<K, V>(values: V[], key: (v: V) => K): Map<K, V[]> {
  const groups = new Map<K, V[]>();
  for (const v of values) groups.set(key(v), [...(groups.get(key(v)) ?? []), v]);
  return groups;
}

/** The location of a split table in messages and listings: `duckdb.<t>.{0..N-1}.scan`. */
export function partsLocation(table: string, count: number): string {
  return `duckdb.${table}.{0..${count - 1}}.scan`;
}

function countDisagreement(counts: Map<number, DiscoveredInstance[]>): string {
  const said = [...counts]
    .sort(([a], [b]) => a - b)
    .map(([count, instances]) => {
      const parts = count === 1 ? 'whole (not split)' : `split into ${count} parts`;
      return `${instancesText(instances)} ${instances.length === 1 ? 'says' : 'say'} it is ${parts}`;
    });
  return (
    `its data containers disagree on how many parts it is split into: ${said.join('; ')}. ` +
    'Serve every part with the same N (--shard I/N), or stop the containers of the old layout'
  );
}

/** Why the replicas of one part (or of a whole table) cannot be used together, or undefined. */
function replicaDisagreement(replicas: DiscoveredInstance[], what: string): string | undefined {
  const versions = groupBy(replicas, (i) => i.version);
  if (versions.size > 1) {
    const said = [...versions].map(([v, instances]) => `${versionText(v)} on ${instancesText(instances)}`);
    return (
      `the replicas of ${what} hold different data (${said.join('; ')}): they loaded different objects ` +
      '(or other versions of them). Serve the same URLs on every replica and restart the stale ones'
    );
  }
  const first = replicas[0];
  for (const other of replicas.slice(1)) {
    const difference = columnsDifference(
      { name: `instance ${first.id}`, columns: first.columns },
      { name: `instance ${other.id}`, columns: other.columns },
    );
    if (difference) return `the replicas of ${what} disagree on its columns: ${difference}`;
  }
  return undefined;
}

/** The rules across the parts of a split table, each part given by its first replica. */
/**
 * The parts whose columns must agree: those with rows (an empty part is never asked, and its
 * columns are a guess), or all when none has rows. The first one's columns are the table's.
 */
function columnVoters(parts: DiscoveredInstance[][]): { index: number; first: DiscoveredInstance }[] {
  const present = parts.map((replicas, index) => ({ index, first: replicas[0] })).filter((p) => p.first);
  const withRows = present.filter((p) => p.first.rowCount > 0);
  return withRows.length > 0 ? withRows : present;
}

function partsDisagreement(parts: DiscoveredInstance[][]): string[] {
  const errors: string[] = [];
  const present = parts.map((replicas, index) => ({ index, first: replicas[0] })).filter((p) => p.first);
  const [reference, ...others] = columnVoters(parts);
  for (const { index, first } of others) {
    const difference = columnsDifference(
      { name: `part ${reference.index}`, columns: reference.first.columns },
      { name: `part ${index}`, columns: first.columns },
    );
    if (difference) errors.push(`its parts disagree on its columns: ${difference}`);
  }
  // The same objects loaded by two parts would count their rows twice.
  const withRows = present.filter((p) => p.first.version !== '' && p.first.rowCount > 0);
  for (const [version, same] of groupBy(withRows, (p) => p.first.version)) {
    if (same.length < 2) continue;
    errors.push(
      `parts ${same.map((p) => p.index).join(' and ')} hold the same data (${versionText(version)}): ` +
        'they loaded the same objects, and their rows would be counted twice. Give every part the ' +
        'same URLs (the parts share the objects out among themselves), or each part its own objects',
    );
  }
  return errors;
}

/** The catalog entry of a table found on NATS. */
export function natsCatalogTable(found: DiscoveredTable): CatalogTable {
  const base = {
    name: found.name,
    columns: found.columns,
    rowCount: found.rowCount,
    transport: 'nats' as const,
    remoteName: found.name,
    instances: found.instances.length,
  };
  const counts = groupBy(found.instances, (i) => i.shard.count);
  if (counts.size > 1) {
    return { ...base, location: subjectFor(found.name, 'scan'), error: countDisagreement(counts) };
  }
  const count = found.instances[0]?.shard.count ?? 1;
  if (count === 1) {
    const error = replicaDisagreement(found.instances, 'the table');
    const version = found.instances[0]?.version ?? '';
    return { ...base, location: subjectFor(found.name, 'scan'), version, ...(error ? { error } : {}) };
  }
  const byPart = groupBy(found.instances, (i) => i.shard.index);
  const replicas = Array.from({ length: count }, (_, index) => byPart.get(index) ?? []);
  const errors: string[] = [];
  const parts: CatalogPart[] = [];
  for (const [index, instances] of replicas.entries()) {
    const subject = partSubject(found.name, index, 'scan');
    if (instances.length === 0) {
      errors.push(
        `part ${index} of ${count} has no live replica (nothing answers on ${subject}): start a data ` +
          `container with --shard ${index}/${count}; the table answers again once one is up`,
      );
      continue;
    }
    const disagreement = replicaDisagreement(instances, `part ${index} (${subject})`);
    if (disagreement) errors.push(disagreement);
    const first = instances[0];
    parts.push({
      index,
      subject,
      instances: instances.length,
      rowCount: first.rowCount,
      version: first.version,
      columnRanges: first.columnRanges,
    });
  }
  errors.push(...partsDisagreement(replicas));
  return {
    ...base,
    columns: columnVoters(replicas)[0]?.first.columns ?? base.columns,
    location: partsLocation(found.name, count),
    parts,
    ...(errors.length ? { error: errors.join('; ') } : {}),
  };
}
