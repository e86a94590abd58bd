/**
 * Which of a split table's objects this part loads (`serve … --shard I/N`). The N containers
 * given the same URLs each compute the same assignment from the listing, whatever order S3
 * lists it in: objects largest first (ties by URL), each onto the part with the fewest bytes
 * so far (ties by lower part number). Every object lands in exactly one part; with fewer
 * objects than parts, some parts are empty. A single exact object URL is the part's own: each
 * part is then given a different URL.
 */
import { isSplit, type ShardSpec } from '../protocol/shards.js';
import { isGlobUrl, type S3Object } from './s3-source.js';

export interface PartObjects {
  /** This part's objects, in listing order. */
  objects: S3Object[];
  /** Their bytes (as listed, compressed). */
  bytes: number;
  /** Bytes per part, by part number: how balanced the split is (for the log). */
  partBytes: number[];
}

/** Whether the URLs' objects are split among the parts (several URLs or a glob). */
export function splitsListing(urls: string[]): boolean {
  return urls.length > 1 || urls.some(isGlobUrl);
}

/** The part of `listed` (every object the URLs name) that part `shard.index` of `shard.count` holds. */
export function assignObjects(listed: S3Object[], urls: string[], shard: ShardSpec): PartObjects {
  const total = listed.reduce((sum, o) => sum + o.size, 0);
  if (!isSplit(shard) || !splitsListing(urls)) return { objects: listed, bytes: total, partBytes: [total] };
  const partOf = new Map<string, number>();
  const partBytes = new Array<number>(shard.count).fill(0);
  const bySize = [...listed].sort((a, b) => b.size - a.size || compareText(a.url, b.url));
  for (const object of bySize) {
    let lightest = 0;
    for (let part = 1; part < shard.count; part++) {
      if (partBytes[part] < partBytes[lightest]) lightest = part;
    }
    partOf.set(object.url, lightest);
    partBytes[lightest] += object.size;
  }
  const objects = listed.filter((o) => partOf.get(o.url) === shard.index);
  return { objects, bytes: partBytes[shard.index], partBytes };
}

/** By code unit, not locale: every container must sort alike. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
