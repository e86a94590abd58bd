/**
 * A scan over HTTP (`POST <baseUrl>/scan`), receiver side, with the same contract as
 * openNatsScan. The response body is read only as fast as the consumer takes frames, so TCP
 * backpressure slows the sender; leaving early aborts the request, which stops the scan.
 */
import { bearerHeader } from '../auth/api-keys.js';
import { containerRefusedKey } from '../auth/container-keys.js';
import { QueryError } from '../errors.js';
import { encode } from '../protocol/codec.js';
import { FRAME_STREAM_CONTENT_TYPE, FrameSplitter } from '../protocol/frame-stream.js';
import type { Frame, ScanRequest } from '../protocol/frames.js';
import { FrameSequence, type ScanStreamOptions, withDeadline, withIdleTimeout } from './scan-stream.js';

export async function* openHttpScan(
  baseUrl: string,
  request: ScanRequest,
  options: ScanStreamOptions & { apiKey?: string },
): AsyncGenerator<Frame> {
  const encoding = options.encoding ?? 'msgpack';
  const url = `${baseUrl.replace(/\/+$/, '')}/scan`;
  const controller = new AbortController();
  const stop = () => controller.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  const sequence = new FrameSequence(url, encoding);
  const idle = () =>
    new QueryError(
      'unavailable',
      `${url} sent nothing for ${options.idleTimeoutMs} ms; the data container may have stopped`,
    );
  const wait = <T>(next: Promise<T>) => withIdleTimeout(next, options.idleTimeoutMs, options.signal, idle);
  try {
    const response = await wait(
      fetch(url, {
        method: 'POST',
        headers: {
          'content-type': encoding === 'json' ? 'application/json' : 'application/x-msgpack',
          ...bearerHeader(options.apiKey),
        },
        body: encode(withDeadline(request, options.deadline), encoding),
        signal: controller.signal,
      }),
    ).catch((err: unknown) => {
      if (err instanceof QueryError) throw err;
      const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new QueryError('unavailable', `cannot reach ${url}: ${cause}`);
    });
    if (response.status === 401)
      throw new QueryError('unavailable', containerRefusedKey(url, !!options.apiKey));
    if (!response.body || !response.headers.get('content-type')?.startsWith(FRAME_STREAM_CONTENT_TYPE)) {
      const text = (await response.text().catch(() => '')).slice(0, 300);
      throw new QueryError(
        response.status >= 500 || response.status === 404 ? 'unavailable' : 'protocol_error',
        `${url} answered ${response.status} without scan frames: ${text}`,
      );
    }
    const reader = response.body.getReader();
    const splitter = new FrameSplitter();
    for (;;) {
      const chunk = await wait(reader.read()).catch((err: unknown) => {
        if (err instanceof QueryError) throw err;
        throw new QueryError('unavailable', `the scan stream from ${url} broke: ${(err as Error).message}`);
      });
      if (chunk.done) {
        throw new QueryError('unavailable', `the scan stream from ${url} ended before its end frame`);
      }
      for (const bytes of splitter.push(chunk.value)) {
        const frame = sequence.accept(bytes);
        if (!frame) continue;
        yield frame;
        if (frame.type === 'end') return;
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    controller.abort();
  }
}
