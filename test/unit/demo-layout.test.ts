/** The demo's containers with --shards and --replicas (src/demo/layout.ts). */
import { describe, expect, it } from 'vitest';
import {
  checkLayout,
  demoContainers,
  layoutSummary,
  objectsPerTable,
  UNSPLIT_LAYOUT,
} from '../../src/demo/layout.js';

describe('demo layout', () => {
  it('runs one container per table by default, named as the table', () => {
    expect(demoContainers(['labels', 'label_urls'], UNSPLIT_LAYOUT)).toEqual([
      { name: 'labels', table: 'labels', shard: undefined },
      { name: 'label_urls', table: 'label_urls', shard: undefined },
    ]);
    expect(objectsPerTable(UNSPLIT_LAYOUT)).toBe(1);
    expect(layoutSummary(UNSPLIT_LAYOUT)).toBeUndefined();
  });

  it('runs every replica of every part of every table, each knowing its part', () => {
    const containers = demoContainers(['labels', 'label_urls'], { shards: 2, replicas: 2 });
    expect(containers.map((c) => c.name)).toEqual([
      'labels 0/2 #1',
      'labels 0/2 #2',
      'labels 1/2 #1',
      'labels 1/2 #2',
      'label_urls 0/2 #1',
      'label_urls 0/2 #2',
      'label_urls 1/2 #1',
      'label_urls 1/2 #2',
    ]);
    expect(containers[2].shard).toEqual({ index: 1, count: 2 });
    // Several objects per part, as a real table's prefix has.
    expect(objectsPerTable({ shards: 2, replicas: 2 })).toBe(4);
    expect(layoutSummary({ shards: 2, replicas: 2 })).toMatch(/2 parts .*--shard I\/2.*2 replicas/);
  });

  it('replicates unsplit tables too', () => {
    const containers = demoContainers(['labels'], { shards: 1, replicas: 3 });
    expect(containers.map((c) => [c.name, c.shard])).toEqual([
      ['labels #1', undefined],
      ['labels #2', undefined],
      ['labels #3', undefined],
    ]);
    expect(layoutSummary({ shards: 1, replicas: 3 })).toMatch(/3 replicas/);
  });

  it('refuses layouts it cannot run, saying which flag', () => {
    expect(() => checkLayout({ shards: 0, replicas: 1 })).toThrow(/--shards/);
    expect(() => checkLayout({ shards: 1.5, replicas: 1 })).toThrow(/--shards/);
    expect(() => checkLayout({ shards: 2, replicas: 0 })).toThrow(/--replicas/);
    expect(() => checkLayout({ shards: 16, replicas: 8 })).toThrow(/128 containers per table/);
    expect(() => checkLayout({ shards: 4, replicas: 2 })).not.toThrow();
  });
});
