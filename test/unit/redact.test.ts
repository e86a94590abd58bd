import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../src/redact.js';

describe('redactSecrets', () => {
  it.each([
    ['nats://alice:s3cret@nats.internal:4222', 'nats://alice:[redacted]@nats.internal:4222'],
    ['nats://s3cret@nats.internal:4222', 'nats://[redacted]@nats.internal:4222'],
    [
      'servers nats://a:s3cret@h1:4222,nats://b:s3cret@h2:4222',
      'servers nats://a:[redacted]@h1:4222,nats://b:[redacted]@h2:4222',
    ],
    [
      'http://AKIA:s3cret@127.0.0.1:9000 did not answer',
      'http://AKIA:[redacted]@127.0.0.1:9000 did not answer',
    ],
    [
      'GET https://b.s3.amazonaws.com/k?X-Amz-Credential=s3cret&X-Amz-Signature=s3cret&x=1',
      'GET https://b.s3.amazonaws.com/k?X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&x=1',
    ],
    ['/query?token=s3cret', '/query?token=[redacted]'],
    ['Authorization: Bearer s3cret', 'Authorization: Bearer [redacted]'],
  ])('%s', (text, redacted) => {
    expect(redactSecrets(text)).toBe(redacted);
    expect(redactSecrets(text)).not.toContain('s3cret');
  });

  it('leaves text without secrets alone', () => {
    for (const text of [
      's3://bucket/dir/*.csv.gz',
      'http://127.0.0.1:8001/metadata',
      'a = b',
      'user@example.com',
    ]) {
      expect(redactSecrets(text)).toBe(text);
    }
  });
});
