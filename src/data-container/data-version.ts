/**
 * A part's data version (protocol/shards.ts): replicas of one part must have loaded the same
 * objects, so it hashes what each loaded: keys, ETags and sizes, sorted, independent of the
 * listing order. A part that loaded no object has the empty version.
 */
import { createHash } from 'node:crypto';
import type { S3Object } from './s3-source.js';

export function dataVersion(objects: S3Object[]): string {
  if (objects.length === 0) return '';
  const lines = objects.map((o) => `${o.url}\t${o.etag ?? ''}\t${o.size}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
}
