/**
 * HTTP API keys (`--api-keys FILE`, one key per line, or `API_KEYS`, comma-separated), and
 * their check, which knows nothing of fastify: the Postgres port takes a key as its password.
 * A key is known by its id, a short hash, wherever it is logged; the key itself never is.
 * Keys are compared as SHA-256 digests with timingSafeEqual, against every key in turn, so the
 * time taken says nothing about how much of a key was right, nor which key it nearly was.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** Enough that guessing is hopeless; `openssl rand -hex 32` makes a good one. */
export const MIN_KEY_LENGTH = 16;
/** Printable ASCII without spaces: a key travels in a header (and as a Postgres password). */
const KEY_PATTERN = /^[\x21-\x7e]+$/;
const GENERATE_HINT = 'make one with `openssl rand -hex 32`';

export interface VerifiedKey {
  /** A short hash of the key, fit for logs and audit lines. */
  keyId: string;
}

export interface ApiKeys {
  /** The key's id when it is one of ours, else undefined. */
  verify(key: string): VerifiedKey | undefined;
  /** The first key given: what this process presents to the servers it calls. */
  readonly first: string;
  readonly count: number;
}

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** The id under which a key appears in logs: 12 hex digits of its SHA-256. */
export function keyIdOf(key: string): string {
  return digest(key).toString('hex').slice(0, 12);
}

/** Checks and holds `keys`; `source` names where they came from in error messages. */
export function apiKeysFrom(keys: string[], source: string): ApiKeys {
  if (keys.length === 0) {
    throw new Error(
      `${source} holds no API key: put one key per line (${GENERATE_HINT}), or leave it out to run without keys`,
    );
  }
  keys.forEach((key, i) => {
    if (!KEY_PATTERN.test(key)) {
      throw new Error(
        `API key ${i + 1} of ${source} has spaces or characters outside printable ASCII: ${GENERATE_HINT}`,
      );
    }
    if (key.length < MIN_KEY_LENGTH) {
      throw new Error(
        `API key ${i + 1} of ${source} is shorter than ${MIN_KEY_LENGTH} characters: ${GENERATE_HINT}`,
      );
    }
  });
  const digests = keys.map(digest);
  return {
    verify(key) {
      const presented = digest(key);
      let match = -1;
      for (const [i, known] of digests.entries())
        if (timingSafeEqual(presented, known) && match < 0) match = i;
      return match < 0 ? undefined : { keyId: presented.toString('hex').slice(0, 12) };
    },
    first: keys[0],
    count: keys.length,
  };
}

/** One key per line; blank lines and lines starting with `#` are skipped. */
export function parseKeyFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * The keys of `--api-keys FILE`, else of `API_KEYS` (comma-separated), else undefined: the
 * server then runs without keys. A file or variable that is given but holds no valid key fails.
 */
export async function loadApiKeys(
  file: string | undefined,
  env: string | undefined = process.env.API_KEYS,
): Promise<ApiKeys | undefined> {
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the API key file ${file} (--api-keys): ${(err as Error).message}`);
    }
    return apiKeysFrom(parseKeyFile(text), `the API key file ${file} (--api-keys)`);
  }
  if (env === undefined || env.trim() === '') return undefined;
  const keys = env
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean);
  return apiKeysFrom(keys, 'API_KEYS');
}

/** The key in an `Authorization: Bearer <key>` header, or undefined. */
export function bearerKey(header: string | undefined): string | undefined {
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** The header a client sends with `key`. */
export function bearerHeader(key: string | undefined): Record<string, string> {
  return key === undefined ? {} : { authorization: `Bearer ${key}` };
}
