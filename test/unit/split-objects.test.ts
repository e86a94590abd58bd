/**
 * A generated table rewritten as several objects (src/tools/split-objects.ts): together the
 * objects hold exactly the file's rows, as the same text in the same order, each object its
 * share, a weight of 0 a header-only object.
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSampleData } from '../../src/tools/sample-data.js';
import { equalWeights, objectBounds, splitIntoObjects } from '../../src/tools/split-objects.js';

const dir = join(tmpdir(), `split-objects-${process.pid}`);
let source: string;

async function lines(file: string): Promise<string[]> {
  return gunzipSync(await readFile(file))
    .toString('utf8')
    .trimEnd()
    .split('\n');
}

beforeAll(async () => {
  source = (await writeSampleData(join(dir, 'data'), { labels: 3_000 })).files.labels;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('objectBounds', () => {
  it('gives each object its share of the rows, covering all of them once', () => {
    expect(objectBounds(10, equalWeights(3))).toEqual([0, 3, 7, 10]);
    expect(objectBounds(100, [0, 8, 1, 1])).toEqual([0, 0, 80, 90, 100]);
    expect(objectBounds(2, equalWeights(4))).toEqual([0, 1, 1, 2, 2]);
  });

  it('refuses weights that cannot share anything out', () => {
    expect(() => objectBounds(10, [])).toThrow(/weights/);
    expect(() => objectBounds(10, [0, 0])).toThrow(/one above 0/);
    expect(() => objectBounds(10, [1, -1])).toThrow(/non-negative/);
    expect(() => equalWeights(0)).toThrow(/positive integer/);
  });
});

describe('splitIntoObjects', () => {
  it("writes the file's rows, as the same text in the same order, across the objects", async () => {
    const weights = [0, 6, 1, 3];
    const objects = await splitIntoObjects(source, join(dir, 'labels'), weights);
    expect(objects.map((o) => o.slice(o.lastIndexOf('/') + 1))).toEqual([
      'part-0.csv.gz',
      'part-1.csv.gz',
      'part-2.csv.gz',
      'part-3.csv.gz',
    ]);
    const [header, ...rows] = await lines(source);
    const parts = await Promise.all(objects.map(lines));
    for (const part of parts) expect(part[0]).toBe(header);
    expect(parts.flatMap((part) => part.slice(1))).toEqual(rows);
    expect(parts.map((part) => part.length - 1)).toEqual([0, 1_800, 300, 900]);
  });
});
