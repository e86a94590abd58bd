/**
 * When each step of a scan happened, in ms from the start of the query's gather: the request
 * left, the keys followed (a reduced scan asked at once), the schema frame came, the first data
 * frame came, the end frame came. Side by side, the scans' timelines show what waited for what
 * (a chain of reduced scans, a queue on the query's connection).
 */
import type { Frame } from '../../protocol/frames.js';
import { roundMs } from '../../timing.js';

export interface ScanTimeline {
  requested: number;
  schema?: number;
  keys_sent?: number;
  /** A scan holding its rows (two-way semi-join): its keys came, and the keys narrowing its rows went. */
  held?: number;
  held_keys_sent?: number;
  first_rows?: number;
  end?: number;
}

type Step = Exclude<keyof ScanTimeline, 'requested'>;

/** Records one scan's timeline; `origin` is the gather's start (a performance.now() reading). */
export class TimelineRecorder {
  readonly timeline: ScanTimeline;

  constructor(private readonly origin: number) {
    this.timeline = { requested: this.now() };
  }

  private now(): number {
    return roundMs(performance.now() - this.origin);
  }

  /** Marks `step` the first time it happens. */
  mark(step: Step): void {
    this.timeline[step] ??= this.now();
  }

  /** Marks what `frame` tells: the schema, the first rows, the end. */
  frame(frame: Frame): void {
    if (frame.type === 'schema') this.mark('schema');
    else if (frame.type === 'held') this.mark('held');
    else if (frame.type === 'data') this.mark('first_rows');
    else if (frame.type === 'end') this.mark('end');
  }
}

/** A split table's timeline from its parts': the first part's start of each step, the last part's end. */
export function mergedTimeline(timelines: ScanTimeline[]): ScanTimeline | undefined {
  if (timelines.length === 0) return undefined;
  const earliest = (step: keyof ScanTimeline) => {
    const times = timelines.map((t) => t[step]).filter((t) => t !== undefined);
    return times.length > 0 ? Math.min(...times) : undefined;
  };
  const ends = timelines.map((t) => t.end);
  const merged: ScanTimeline = { requested: earliest('requested') as number };
  for (const step of ['keys_sent', 'schema', 'held', 'held_keys_sent', 'first_rows'] as const) {
    const at = earliest(step);
    if (at !== undefined) merged[step] = at;
  }
  if (ends.every((t) => t !== undefined)) merged.end = Math.max(...ends);
  return merged;
}

/** The timeline as a line of EXPLAIN ANALYZE. */
export function timelineText(t: ScanTimeline): string {
  const steps: [string, number | undefined][] = [
    ['requested', t.requested],
    ['schema', t.schema],
    ['keys sent', t.keys_sent],
    ['held', t.held],
    ['held keys sent', t.held_keys_sent],
    ['first rows', t.first_rows],
    ['end', t.end],
  ];
  return `${steps
    .filter(([, at]) => at !== undefined)
    .map(([name, at]) => `${name} ${at}`)
    .join(', ')} ms`;
}
