/** A split table's timeline from its parts', and the line EXPLAIN ANALYZE shows. */
import { expect, it } from 'vitest';
import { mergedTimeline, timelineText } from '../../src/coordinator/execute/scan-timeline.js';

it('takes the first part to start each step and the last one to end', () => {
  const merged = mergedTimeline([
    { requested: 0.3, schema: 4, keys_sent: 9, first_rows: 12, end: 15 },
    { requested: 0.2, schema: 5, keys_sent: 8.5, first_rows: 11, end: 20.5 },
  ]);
  expect(merged).toEqual({ requested: 0.2, schema: 4, keys_sent: 8.5, first_rows: 11, end: 20.5 });
});

it('has no end while a part has none, and no step no part took', () => {
  expect(
    mergedTimeline([
      { requested: 1, schema: 2, end: 3 },
      { requested: 1, schema: 2 },
    ]),
  ).toEqual({
    requested: 1,
    schema: 2,
  });
  expect(mergedTimeline([])).toBeUndefined();
});

it('reads in the order the steps happen, leaving out those that did not', () => {
  expect(timelineText({ requested: 0.2, schema: 3.1, first_rows: 4, end: 4.2 })).toBe(
    'requested 0.2, schema 3.1, first rows 4, end 4.2 ms',
  );
});
