import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeysFrom, bearerKey, keyIdOf, loadApiKeys, parseKeyFile } from '../../src/auth/api-keys.js';
import { withContainerKeys } from '../../src/auth/container-keys.js';

const A = 'a-key-0123456789abcdef';
const B = 'b-key-0123456789abcdef';

describe('API keys', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'api-keys-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('verifies a key to its id, a short hash that is not the key', () => {
    const keys = apiKeysFrom([A, B], 'test');
    expect(keys.verify(B)).toEqual({ keyId: keyIdOf(B) });
    expect(keyIdOf(B)).toMatch(/^[0-9a-f]{12}$/);
    expect(keyIdOf(A)).not.toBe(keyIdOf(B));
    expect(keys.verify(`${B}x`)).toBeUndefined();
    expect(keys.verify(B.slice(0, -1))).toBeUndefined();
    expect(keys.verify('')).toBeUndefined();
    expect(keys.first).toBe(A);
  });

  it('reads one key per line, skipping blank lines and # comments', async () => {
    expect(parseKeyFile(`# ops keys\n${A}\r\n\n   ${B}  \n  # old one\n`)).toEqual([A, B]);
    const file = join(dir, 'keys');
    await writeFile(file, `# ops\n${A}\n`);
    const keys = await loadApiKeys(file, B);
    expect(keys?.verify(A)).toBeDefined();
    expect(keys?.verify(B)).toBeUndefined(); // the flag wins over API_KEYS
  });

  it('reads API_KEYS comma-separated, and runs without keys when neither is given', async () => {
    const keys = await loadApiKeys(undefined, ` ${A} ,${B},`);
    expect(keys?.count).toBe(2);
    expect(await loadApiKeys(undefined, undefined)).toBeUndefined();
    expect(await loadApiKeys(undefined, '  ')).toBeUndefined();
  });

  it('refuses what would leave the door open or unusable, saying why', async () => {
    await expect(loadApiKeys(join(dir, 'missing'))).rejects.toThrow(/cannot read the API key file .*missing/);
    const empty = join(dir, 'empty');
    await writeFile(empty, '# nothing\n\n');
    await expect(loadApiKeys(empty)).rejects.toThrow(/holds no API key.*openssl rand/);
    await expect(loadApiKeys(undefined, ',')).rejects.toThrow(/API_KEYS holds no API key/);
    await expect(loadApiKeys(undefined, 'short')).rejects.toThrow(/key 1 of API_KEYS is shorter than 16/);
    expect(() => apiKeysFrom([A, 'with space 0123456789'], 'f')).toThrow(/key 2 of f has spaces/);
  });

  it('reads a Bearer header, any case, and nothing else', () => {
    expect(bearerKey(`Bearer ${A}`)).toBe(A);
    expect(bearerKey(`bearer   ${A} `)).toBe(A);
    expect(bearerKey(`Basic ${A}`)).toBeUndefined();
    expect(bearerKey('Bearer')).toBeUndefined();
    expect(bearerKey(`Bearer ${A} ${B}`)).toBeUndefined();
    expect(bearerKey(undefined)).toBeUndefined();
  });
});

describe('the key the coordinator sends each data container', () => {
  const table = { url: 'http://127.0.0.1', port: 8001 };

  it("is the table's api_key, else its api_key_env, else the coordinator's first key", () => {
    const config = {
      tables: {
        inline: { ...table, api_key: A },
        env: { ...table, api_key_env: 'LABELS_KEY' },
        plain: { ...table },
      },
    };
    const own = apiKeysFrom([B, A], 'own');
    const resolved = withContainerKeys(config, own, { LABELS_KEY: B });
    expect(resolved.tables.inline.api_key).toBe(A);
    expect(resolved.tables.env.api_key).toBe(B);
    expect(resolved.tables.plain.api_key).toBe(B);
    expect(withContainerKeys({ tables: { plain: table } }, undefined).tables.plain.api_key).toBeUndefined();
  });

  it('fails at start when api_key_env is not set, or both are given', () => {
    const unset = { tables: { labels: { ...table, api_key_env: 'NOT_SET_ANYWHERE' } } };
    expect(() => withContainerKeys(unset, undefined, {})).toThrow(
      /labels .*\$NOT_SET_ANYWHERE, which is not set/,
    );
    const both = { tables: { labels: { ...table, api_key: A, api_key_env: 'X' } } };
    expect(() => withContainerKeys(both, undefined, { X: B })).toThrow(/both api_key and api_key_env/);
  });
});
