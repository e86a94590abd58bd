/**
 * Secrets out of text that may be logged or printed: the credentials of a URL
 * (`nats://user:pass@host`, `nats://token@host`, `http://key:secret@host`), secret query
 * parameters (S3 presigned signatures, `token=`), and bearer tokens. The logger applies it to
 * every line; call it yourself where a URL goes anywhere else (stderr, an error message).
 */

export const REDACTED = '[redacted]';

/** `scheme://` then userinfo up to `@` (no `/`, whitespace or `@` inside it). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@]+)@/gi;
const SECRET_PARAMS =
  /([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|token|access_token|password|passwd|secret|api_key|apikey)=)[^&#\s"']+/gi;
const BEARER = /\b(bearer\s+)[^\s"',;]+/gi;

/** `user:pass` keeps the user; a lone userinfo (a NATS token) is all secret. */
function redactUserinfo(userinfo: string): string {
  const colon = userinfo.indexOf(':');
  return colon < 0 ? REDACTED : `${userinfo.slice(0, colon)}:${REDACTED}`;
}

/** `text` with every URL credential, secret query parameter and bearer token replaced. */
export function redactSecrets(text: string): string {
  if (!text.includes('://') && !text.includes('=') && !/bearer/i.test(text)) return text;
  return text
    .replace(
      URL_USERINFO,
      (_match, scheme: string, userinfo: string) => `${scheme}${redactUserinfo(userinfo)}@`,
    )
    .replace(SECRET_PARAMS, `$1${REDACTED}`)
    .replace(BEARER, `$1${REDACTED}`);
}

/** `host`-first userinfo of a scheme-less NATS server (`user:pass@host:4222`). */
const BARE_USERINFO = /^(\s*)([^\s/@:]+(?::[^\s/@]*)?)@/;

/** A URL (or a comma-separated list of them, as NATS takes, with or without a scheme) fit to log. */
export function redactUrl(url: string): string;
export function redactUrl(url: string | undefined): string | undefined;
export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  return url
    .split(',')
    .map((part) =>
      part.includes('://')
        ? redactSecrets(part)
        : part.replace(
            BARE_USERINFO,
            (_m, space: string, userinfo: string) => `${space}${redactUserinfo(userinfo)}@`,
          ),
    )
    .join(',');
}
