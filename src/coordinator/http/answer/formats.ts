/**
 * Which answer format a request's `Accept` header asks for. JSON unless the client names
 * another format we make; a header that names only formats we do not make gets 406 with the
 * list of those we do, rather than JSON it did not ask for.
 */
import { ARROW_STREAM_TYPE } from '../../../arrow/arrow-stream.js';
import { QueryError } from '../../../errors.js';

export type AnswerFormat = 'json' | 'ndjson' | 'csv' | 'arrow';

const MEDIA_TYPES: Record<string, AnswerFormat> = {
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'text/csv': 'csv',
  [ARROW_STREAM_TYPE]: 'arrow',
  'application/*': 'json',
  'text/*': 'csv',
  '*/*': 'json',
};

const NAMED = ['application/json', 'application/x-ndjson', 'text/csv', ARROW_STREAM_TYPE];

interface MediaRange {
  type: string;
  q: number;
  order: number;
}

function mediaRanges(accept: string): MediaRange[] {
  return accept.split(',').flatMap((part, order) => {
    const [type, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (!type) return [];
    const q = params.find((p) => p.startsWith('q='));
    return [{ type, q: q ? Number(q.slice(2)) : 1, order }];
  });
}

/** The format for `accept` (none or empty: JSON); throws 406 `not_acceptable` when none of its types is ours. */
export function answerFormat(accept: string | undefined): AnswerFormat {
  if (!accept?.trim()) return 'json';
  const wanted = mediaRanges(accept)
    .filter((r) => r.q > 0 && MEDIA_TYPES[r.type])
    .sort((a, b) => b.q - a.q || a.order - b.order);
  if (wanted.length > 0) return MEDIA_TYPES[wanted[0].type];
  throw new QueryError(
    'not_acceptable',
    `cannot answer as ${accept}; ask with Accept: ${NAMED.join(', ')} (or */* for JSON)`,
  );
}
