/** NATS URLs as they may be shown in logs and answers (no NATS client imported: plain HTTP containers use it too). */

/** `nats://user:***@host:4222`; a token (`nats://TOKEN@host`) as `nats://***@host:4222`. */
export function redactNatsUrl(url: string): string {
  return url.replace(
    /(^|,)(\s*(?:[a-z]+:\/\/)?)([^@/,\s]*)@/gi,
    (_all, start: string, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      return `${start}${scheme}${colon < 0 ? '***' : `${userinfo.slice(0, colon)}:***`}@`;
    },
  );
}
