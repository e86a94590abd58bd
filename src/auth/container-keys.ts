/**
 * The API key the coordinator presents to each data container it reaches over HTTP:
 * config.json's `api_key` for the table, else the variable its `api_key_env` names, else the
 * coordinator's own first key (one key for the whole deployment), else none.
 */
import type { ClusterConfig } from '../config.js';
import type { ApiKeys } from './api-keys.js';

/** `config` with each table's `api_key` set to the key to send (absent: send none). */
export function withContainerKeys(
  config: ClusterConfig,
  own: ApiKeys | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ClusterConfig {
  const tables: ClusterConfig['tables'] = {};
  for (const [name, entry] of Object.entries(config.tables)) {
    if (entry.api_key !== undefined && entry.api_key_env !== undefined) {
      throw new Error(`config.json table ${name} has both api_key and api_key_env: keep one`);
    }
    let key = entry.api_key;
    if (entry.api_key_env !== undefined) {
      key = env[entry.api_key_env] || undefined;
      if (key === undefined) {
        throw new Error(
          `config.json table ${name} takes its API key from $${entry.api_key_env}, which is not set: export it, or drop api_key_env`,
        );
      }
    }
    tables[name] = { ...entry, api_key: key ?? own?.first };
  }
  return { ...config, tables };
}

/** What a 401 from a data container means for the coordinator, and how to fix it. */
export function containerRefusedKey(url: string, sentKey: boolean): string {
  return sentKey
    ? `${url} refused the coordinator's API key (401): set the table's "api_key" or "api_key_env" in config.json to a key the data container accepts`
    : `${url} needs an API key (401): set the table's "api_key" or "api_key_env" in config.json, or give the coordinator --api-keys / API_KEYS with a key the data container accepts`;
}
