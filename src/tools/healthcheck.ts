/**
 * The images' HEALTHCHECK (node:20-slim has no curl): exit 0 when the server's /health
 * answers 200. `HEALTHCHECK_URL` overrides http://127.0.0.1:8000/health.
 */
const url = process.env.HEALTHCHECK_URL || 'http://127.0.0.1:8000/health';

fetch(url, { signal: AbortSignal.timeout(3_000) }).then(
  (res) => process.exit(res.status === 200 ? 0 : 1),
  () => process.exit(1),
);
