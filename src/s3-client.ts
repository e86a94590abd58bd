/** What every S3 client of the project shares: path-style addressing for S3-compatible stores. */
import type { S3ClientConfig } from '@aws-sdk/client-s3';

export function s3ClientConfig(endpoint: string | undefined): S3ClientConfig {
  // This project runs on Node 20 on purpose; the SDK's upgrade notice would break the
  // one-line failure output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return {
    endpoint,
    forcePathStyle: endpoint !== undefined,
    // With the defaults, S3-compatible stores keep streamed uploads with chunk framing inside.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}
