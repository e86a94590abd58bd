/** What the demo prints once everything answers: what runs where, and commands to try. */
import { curlExamples, natsExamples } from './examples.js';

export interface BannerRow {
  what: string;
  where: string;
  pid: number;
  note: string;
}

export interface BannerInfo {
  seconds: number;
  transport: string;
  rows: BannerRow[];
  coordinator: string;
  labels: string;
  nats?: string;
  /** Where the coordinator and data containers listen. */
  host: string;
  /** Instead of the sample tables' examples (TPC-H has its own). */
  examples?: string[];
  /** How the tables are served, when split or replicated. */
  layout?: string;
  /** The tables are split: direct NATS scans go to a part's subject. */
  splitTables?: boolean;
}

/** Who can reach the demo: it has no API keys, so say so when it is open beyond this machine. */
function reach(host: string): string {
  if (host === '127.0.0.1' || host === 'localhost' || host === '::1') {
    return `Listening on ${host} only: nothing outside this machine can reach the demo (--host 0.0.0.0 opens it, without API keys).`;
  }
  return `Listening on ${host}: anyone who reaches it can query the demo, which has no API keys.`;
}

function table(rows: BannerRow[]): string {
  const header: BannerRow = { what: 'process', where: 'address', pid: 0, note: '' };
  const all = [header, ...rows];
  const width = (key: 'what' | 'where') => Math.max(...all.map((r) => r[key].length));
  return all
    .map((r) =>
      [
        r.what.padEnd(width('what')),
        r.where.padEnd(width('where')),
        String(r.pid || 'pid').padStart(7),
        r.note,
      ]
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `  ${line}`)
    .join('\n');
}

export function banner(info: BannerInfo): string {
  const examples = info.examples ?? [
    ...curlExamples({ coordinator: info.coordinator, labels: info.labels }),
    ...(info.nats ? natsExamples(info.nats, info.splitTables ? 0 : undefined) : []),
  ];
  return [
    '',
    `duckdb-s3-query demo ready in ${info.seconds.toFixed(1)} s, ${info.transport}`,
    '',
    table(info.rows),
    '',
    ...(info.layout ? [info.layout, ''] : []),
    reach(info.host),
    '',
    `Console: http://${info.coordinator}/ui    API docs: http://${info.coordinator}/docs`,
    '',
    'Try:',
    '',
    examples.join('\n\n'),
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}
