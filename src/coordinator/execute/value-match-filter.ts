/**
 * Value matches at execution (analyze/value-matches.ts): which apply, the columns their
 * sources' frames are read for, and the key sets. Each side's keys go with the value it leads
 * to, coded alike on both sides, so that the scan's container keeps only rows whose two keys
 * lead to equal values (ScanKeys.match). Q5's lineitem takes the order keys with their
 * customer's nation and the supplier keys with theirs: a fifth of the lines the two key sets
 * alone keep.
 *
 * A side's pairs (key, value) are read from its source's frames (pair-collector.ts) or, where
 * the source is in hand whole here (a copy, a side sent at once), from its rows narrowed here
 * (local-reduction.ts); through `via`, the value is looked up in a second source's pairs. A
 * key without a value, or whose value the other side never reaches, joins no row and is left
 * out. Where pairs are not in hand, or a key leads to several values, undefined: the plain
 * keys go.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { columnSchemaFor, wireFrames } from '../../duckdb/columnar.js';
import { integerType } from '../../duckdb/integer-values.js';
import { materializedChunks } from '../../duckdb/json-values.js';
import { quoteIdent } from '../../duckdb/sql.js';
import { MAX_SCAN_KEY_BYTES, type ScanKeys } from '../../protocol/frames.js';
import {
  type SemiJoinReduction,
  scanName,
  type TableScanPlan,
  type ValueMatch,
  type ValueSide,
} from '../plan/analyze/index.js';
import { keysFilter } from './dynamic-filter.js';
import { independentAndIn, type LocalReductions, locallyReduced } from './local-reduction.js';
import { PairCollector, type PairOptions, type Pairs, valuesByKey } from './pair-collector.js';
import type { Serial } from './serial.js';

export interface MatchSources extends LocalReductions {
  con: DuckDBConnection;
  serial: Serial;
  /** `source`'s pairs of `key` and `value` read from its frames, once complete. */
  pairs: (source: string, key: string, value: string) => Pairs | undefined;
}

export interface MatchedKeys {
  /** Both sides' key sets, with their codes; none where a side has no key (`where` is `false`). */
  keys: ScanKeys[];
  where?: 'false';
  /** Bytes the key sets take. */
  bytes: number;
  description: string;
}

/** Whether two reductions narrow the same column by the same source's column. */
export const sameReduction = (a: SemiJoinReduction, b: SemiJoinReduction) =>
  a.column === b.column && a.source === b.source && a.sourceColumn === b.sourceColumn;

/** The value matches whose two sides are both scheduled reductions (`scheduled`) of their scan, by scan. */
export function scheduledMatches(
  matches: readonly ValueMatch[],
  scheduled: readonly SemiJoinReduction[],
): Map<string, ValueMatch> {
  const out = new Map<string, ValueMatch>();
  for (const m of matches)
    if (m.sides.every((s) => scheduled.some((r) => r.table === m.table && sameReduction(r, s))))
      out.set(m.table, m);
  return out;
}

/** The column pairs (key, value) of `scan`'s rows the matches read: its frames are read for them. */
export function pairColumns(matches: ReadonlyMap<string, ValueMatch>, scan: string): [string, string][] {
  return [...matches.values()].flatMap((m) =>
    m.sides.flatMap((s): [string, string][] => [
      ...(s.source === scan ? [[s.sourceColumn, s.via?.column ?? s.value] as [string, string]] : []),
      ...(s.via?.scan === scan ? [[s.via.key, s.value] as [string, string]] : []),
    ]),
  );
}

/**
 * Sets `carried` on the held scans (`held`, by scan) the matches read pairs of: those of their
 * pair columns beside `first` that the scan fetches go in its keys frames too.
 */
export function carryPairs<H extends { first: string[]; carried?: string[] }>(
  held: Map<string, H>,
  matches: ReadonlyMap<string, ValueMatch>,
  plans: readonly { plan: TableScanPlan }[],
): void {
  for (const { plan } of plans) {
    const scan = scanName(plan);
    const holding = held.get(scan);
    const fetched = new Set(plan.columns.map((c) => c.toLowerCase()));
    const carried = pairColumns(matches, scan)
      .flat()
      .filter((c) => fetched.has(c.toLowerCase()) && !holding?.first.includes(c));
    if (holding && carried.length > 0) held.set(scan, { ...holding, carried: [...new Set(carried)] });
  }
}

/**
 * `source`'s pairs of `key` and `value`: from its frames, or from its rows here where it is in
 * hand whole (sent without waiting for keys), the value there computed by `valueSql` (the
 * column `value` itself by default) and the pairs read as `how` says.
 */
export async function pairsOf(
  env: MatchSources,
  source: string,
  key: string,
  value: string,
  valueSql = quoteIdent(value),
  how: PairOptions = {},
): Promise<Pairs | undefined> {
  const framed = env.pairs(source, key, value);
  if (framed) return framed;
  // A source sent without waiting for keys comes whatever this scan does: no wait forms a cycle.
  if (!(await independentAndIn(env.progress(source)))) return undefined;
  const rows = await locallyReduced(source, env);
  const result = await env.serial.first(() =>
    env.con.run(`SELECT ${quoteIdent(key)} AS k, ${valueSql} AS v FROM ${rows.sql}`),
  );
  const columns = result.columnTypes().map((type, i) => columnSchemaFor(i === 0 ? 'k' : 'v', type));
  const collector = PairCollector.of(columns[0], columns[1], how);
  if (!collector) return undefined;
  for (const frame of wireFrames(materializedChunks(result), columns, MAX_SCAN_KEY_BYTES))
    collector.addRows(frame.columns[0], frame.columns[1], frame.rows);
  collector.end(true);
  return collector.pairs();
}

/** A side's keys (its source's) with the values they lead to, by key. */
async function sideValues(env: MatchSources, side: ValueSide): Promise<Pairs | undefined> {
  const direct = await pairsOf(env, side.source, side.sourceColumn, side.via?.column ?? side.value);
  if (!direct || !side.via) return direct;
  // The hop's keys may come after the source's (a source sent at once does not wait for them):
  // awaited, unless it proves too large to wait for. It waits for no later scan's.
  const { ended, large } = env.progress(side.via.scan);
  const keysIn = ended.then(
    () => true,
    () => false,
  );
  if (!(await Promise.race([keysIn, large.then(() => false)]))) return undefined;
  const hop = await pairsOf(env, side.via.scan, side.via.key, side.value);
  if (!hop) return undefined;
  // Still by key: a key whose value the hop has not is left out (it joins no row there).
  const hopValue = valuesByKey(hop);
  const keys = new Float64Array(direct.keys.length);
  const values = new Float64Array(direct.keys.length);
  let n = 0;
  for (let i = 0; i < direct.keys.length; i++) {
    const v = hopValue(direct.values[i]);
    if (v === undefined) continue;
    keys[n] = direct.keys[i];
    values[n++] = v;
  }
  return { keys: keys.subarray(0, n), values: values.subarray(0, n) };
}

/** `values` ascending, each once. */
function distinct(values: Float64Array): Float64Array {
  const sorted = Float64Array.from(values).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (n === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i];
  return sorted.subarray(0, n);
}

/** The values two ascending arrays both hold. */
function common(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(Math.min(a.length, b.length));
  let n = 0;
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i] < b[j]) i++;
    else if (a[i] > b[j]) j++;
    else {
      out[n++] = a[i];
      i++;
      j++;
    }
  }
  return out.subarray(0, n);
}

const described = (s: ValueSide) =>
  s.via ? `${s.via.scan}.${s.value} through ${s.source}.${s.via.column}` : `${s.source}.${s.value}`;

/** What a match compares, for stats and EXPLAIN. */
export const matchedValues = (m: ValueMatch) =>
  `values matched: ${described(m.sides[0])} = ${described(m.sides[1])}`;

/**
 * The key sets of `match`'s two sides with their codes, within `budget` bytes; `typeOf` gives
 * the scan's columns' DuckDB types. Undefined where the plain keys must go instead.
 */
export async function matchedKeys(
  env: MatchSources,
  match: ValueMatch,
  typeOf: (column: string) => string | undefined,
  budget: number,
): Promise<MatchedKeys | undefined> {
  const sides = await Promise.all(match.sides.map((s) => sideValues(env, s)));
  const [a, b] = sides;
  if (!a || !b) return undefined;
  // Codes for the values both sides reach: a key leading to another one joins nothing.
  const shared = common(distinct(a.values), distinct(b.values));
  const codeOf = valuesByKey({ keys: shared, values: Float64Array.from(shared, (_, i) => i) });
  const width = shared.length <= 2 ** 8 ? 1 : shared.length <= 2 ** 16 ? 2 : 4;
  const values = matchedValues(match);
  const keys: ScanKeys[] = [];
  let bytes = 0;
  for (const [i, side] of match.sides.entries()) {
    const type = integerType(typeOf(side.column) ?? '');
    const pairs = sides[i];
    if (!type || !pairs) return undefined;
    const numbers = new Float64Array(pairs.keys.length);
    const coded = new Uint8Array(pairs.keys.length * width);
    const view = new DataView(coded.buffer);
    let n = 0;
    for (let j = 0; j < pairs.keys.length; j++) {
      const k = pairs.keys[j];
      const code = codeOf(pairs.values[j]);
      if (code === undefined || k < type.min || k > type.max) continue;
      numbers[n] = k;
      if (width === 1) view.setUint8(n, code);
      else if (width === 2) view.setUint16(n * 2, code, true);
      else view.setUint32(n * 4, code, true);
      n++;
    }
    if (n === 0)
      return {
        keys: [],
        where: 'false',
        bytes: 0,
        description: `no keys in ${side.source}.${side.sourceColumn} (${values})`,
      };
    const f = keysFilter(
      side,
      { rows: n, numbers: numbers.subarray(0, n), layout: type },
      budget - bytes - n * width,
    );
    if (f?.keys?.encoding !== 'delta') return undefined;
    keys.push({ ...f.keys, match: { group: 0, width, codes: coded.subarray(0, n * width) } });
    bytes += f.keys.values.data.byteLength + n * width;
  }
  const sets = keys.map(
    (k, i) => `IN ${k.rows} keys of ${match.sides[i].source}.${match.sides[i].sourceColumn}`,
  );
  return { keys, bytes, description: `${sets.join(' AND ')}, ${values}` };
}
