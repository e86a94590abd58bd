import { describe, expect, it } from 'vitest';
import { dataVersion } from '../../src/data-container/data-version.js';
import type { S3Object } from '../../src/data-container/s3-source.js';
import { assignObjects, splitsListing } from '../../src/data-container/shard-objects.js';
import { seededRandom } from '../../src/seeded-random.js';

const GLOB = ['s3://b/dir/*.csv.gz'];

function object(key: string, size: number, etag = `"${key}"`): S3Object {
  return { bucket: 'b', key, url: `s3://b/${key}`, size, etag };
}

function shuffled<T>(items: T[], next: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/** Each part's object URLs, sorted. */
function parts(listed: S3Object[], count: number, urls = GLOB): string[][] {
  return Array.from({ length: count }, (_, index) =>
    assignObjects(listed, urls, { index, count })
      .objects.map((o) => o.url)
      .sort(),
  );
}

describe('assignObjects', () => {
  const next = seededRandom(16);
  // Sizes spread over three orders of magnitude, with repeats (ties broken by key).
  const listing = Array.from({ length: 60 }, (_, i) =>
    object(`dir/part-${String(i).padStart(3, '0')}.csv.gz`, i % 7 === 0 ? 1000 : Math.floor(next() * 1e6)),
  );

  it.each([1, 2, 3, 4, 7])('gives the same parts whatever the listing order (%i parts)', (count) => {
    const expected = parts(listing, count);
    for (let round = 0; round < 20; round++) {
      expect(parts(shuffled(listing, next), count)).toEqual(expected);
    }
  });

  it.each([2, 3, 4, 7, 13])('puts every object in exactly one part (%i parts)', (count) => {
    const all = parts(listing, count).flat();
    expect(all.length).toBe(listing.length);
    expect(new Set(all)).toEqual(new Set(listing.map((o) => o.url)));
  });

  it.each([2, 3, 4, 7])('balances bytes within the largest object (%i parts)', (count) => {
    const bytes = Array.from(
      { length: count },
      (_, index) => assignObjects(listing, GLOB, { index, count }).bytes,
    );
    const largest = Math.max(...listing.map((o) => o.size));
    expect(Math.max(...bytes) - Math.min(...bytes)).toBeLessThanOrEqual(largest);
    expect(bytes.reduce((a, b) => a + b, 0)).toBe(listing.reduce((a, o) => a + o.size, 0));
    expect(assignObjects(listing, GLOB, { index: 0, count }).partBytes).toEqual(bytes);
  });

  it('balances many equal objects evenly', () => {
    const equal = Array.from({ length: 12 }, (_, i) => object(`dir/e${i}.csv`, 100));
    expect(parts(equal, 4).map((p) => p.length)).toEqual([3, 3, 3, 3]);
    expect(parts(equal, 5).map((p) => p.length)).toEqual([3, 3, 2, 2, 2]);
  });

  it('leaves parts beyond the objects empty', () => {
    const two = [object('dir/small.csv', 10), object('dir/large.csv', 500)];
    expect(parts(two, 4)).toEqual([['s3://b/dir/large.csv'], ['s3://b/dir/small.csv'], [], []]);
    expect(assignObjects(two, GLOB, { index: 3, count: 4 }).bytes).toBe(0);
  });

  it('splits several exact URLs like a glob', () => {
    const three = [object('a.csv', 3), object('b.csv', 2), object('c.csv', 1)];
    const urls = three.map((o) => o.url);
    expect(splitsListing(urls)).toBe(true);
    expect(parts(three, 2, urls)).toEqual([['s3://b/a.csv'], ['s3://b/b.csv', 's3://b/c.csv']]);
  });

  it("gives a single exact URL's object to the part it is given to", () => {
    const own = [object('part-2.csv.gz', 42)];
    expect(splitsListing([own[0].url])).toBe(false);
    const part = assignObjects(own, [own[0].url], { index: 2, count: 3 });
    expect(part.objects).toEqual(own);
    expect(part.bytes).toBe(42);
  });

  it('gives an unsplit table every object', () => {
    expect(assignObjects(listing, GLOB, { index: 0, count: 1 }).objects).toEqual(listing);
  });
});

describe('dataVersion', () => {
  const objects = [object('a.csv', 1), object('b.csv', 2), object('c.csv', 3)];

  it('does not depend on the listing order', () => {
    expect(dataVersion([...objects].reverse())).toBe(dataVersion(objects));
  });

  it('changes with any object, ETag or size', () => {
    const version = dataVersion(objects);
    expect(dataVersion(objects.slice(1))).not.toBe(version);
    expect(dataVersion([object('a.csv', 1, '"other"'), ...objects.slice(1)])).not.toBe(version);
    expect(dataVersion([object('a.csv', 9), ...objects.slice(1)])).not.toBe(version);
  });

  it('is empty for a part that loaded nothing', () => {
    expect(dataVersion([])).toBe('');
  });
});
