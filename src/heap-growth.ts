/**
 * V8 sets the old generation's next GC limit at the live heap times a factor it derives from
 * GC speed. Our processes keep a small heap (~20 MB: the data lives in DuckDB), and the
 * factor it chose left ~29 MB above it: less than the new space a scavenge may promote
 * (two 16 MB semi-spaces), so V8 began a major GC at once, after nearly every query. That
 * cost the coordinator ~35 ms of marking CPU per 1%-selective join (60–75 ms in all, 30–38
 * with this) and each data container ~12. A fixed factor of 4 keeps the limit clear of it;
 * `--max-old-space-size` still caps the heap. V8 reads the flag at each limit update, so
 * setting it at start-up takes effect (it is not one NODE_OPTIONS accepts).
 */
import { setFlagsFromString } from 'node:v8';

export function steadyHeapGrowth(): void {
  setFlagsFromString('--heap-growing-percent=300');
}
