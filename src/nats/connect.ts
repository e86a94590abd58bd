/**
 * The one way every process connects to NATS (DESIGN.md, Security options): credentials in
 * the URL, a token, a creds file, an nkey seed file, TLS with a CA and a client certificate,
 * an inbox prefix per role (so that NATS permissions can confine who reads and writes whose
 * replies), and reconnect settings. Secrets never reach a log line or an error message:
 * show a URL only through redactUrl().
 */
import { readFile } from 'node:fs/promises';
import {
  type Authenticator,
  connect,
  createInbox,
  credsAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
  nkeyAuthenticator,
} from '@nats-io/transport-node';
import type { NatsOptions } from '../config.js';
import type { Logger } from '../log.js';
import { redactUrl } from '../redact.js';

/** Who connects: its inbox prefix is `_INBOX_<role>` unless the options name another. */
export type NatsRole = 'coordinator' | 'serve' | 'scan' | 'bench';

export interface ConnectNatsOptions {
  role: NatsRole;
  /** The client name the server shows in /connz. */
  name: string;
  /** Gets permission violations and other asynchronous errors the server reports. */
  log?: Logger;
  /** Reconnect settings and the like; never credentials (those come from `nats`). */
  connection?: Pick<
    NodeConnectionOptions,
    'maxReconnectAttempts' | 'reconnectTimeWait' | 'waitOnFirstConnect' | 'timeout'
  >;
}

/** The options themselves are wrong (a file missing, half a TLS pair, a bad URL): trying again cannot help. */
export class NatsOptionsError extends Error {}

/** The inbox prefix of each connection made here, for newInbox(). */
const inboxPrefixes = new WeakMap<NatsConnection, string>();

export function inboxPrefixFor(nats: Pick<NatsOptions, 'inboxPrefix'>, role: NatsRole): string {
  return nats.inboxPrefix ?? `_INBOX_${role}`;
}

/** A fresh reply subject under the connection's own inbox prefix (what nc.request uses). */
export function newInbox(nc: NatsConnection): string {
  return createInbox(inboxPrefixes.get(nc));
}

export async function connectNats(nats: NatsOptions, options: ConnectNatsOptions): Promise<NatsConnection> {
  const inboxPrefix = inboxPrefixFor(nats, options.role);
  const settings = await connectionOptions(nats);
  const nc = await connect({
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    ...options.connection,
    ...settings,
    name: options.name,
    inboxPrefix,
  }).catch((err: Error) => {
    throw new Error(`cannot connect to NATS at ${redactUrl(nats.url)}: ${redactUrl(err.message)}`);
  });
  inboxPrefixes.set(nc, inboxPrefix);
  if (options.log) reportErrors(nc, options.log);
  return nc;
}

/** Servers, credentials and TLS settings for nats.js, from the URL and the secret files. */
export async function connectionOptions(nats: NatsOptions): Promise<NodeConnectionOptions> {
  const { servers, user, pass } = parseNatsUrl(nats.url);
  const authenticators: Authenticator[] = [];
  if (nats.creds)
    authenticators.push(credsAuthenticator(await readSecret(nats.creds, '--nats-creds', 'NATS_CREDS')));
  if (nats.nkey) {
    const seed = new TextDecoder().decode(await readSecret(nats.nkey, '--nats-nkey', 'NATS_NKEY')).trim();
    if (!/^SU[A-Z2-7]+$/.test(seed)) {
      throw new NatsOptionsError(
        `--nats-nkey ${nats.nkey} holds no user nkey seed (a line starting SU…); make one with nk -gen user`,
      );
    }
    authenticators.push(nkeyAuthenticator(new TextEncoder().encode(seed)));
  }
  if (nats.tlsCert && !nats.tlsKey)
    throw new NatsOptionsError('--nats-tls-cert needs --nats-tls-key (NATS_TLS_KEY) too');
  if (nats.tlsKey && !nats.tlsCert)
    throw new NatsOptionsError('--nats-tls-key needs --nats-tls-cert (NATS_TLS_CERT) too');
  const wantsTls = nats.tlsCa || nats.tlsCert || servers.some((s) => s.startsWith('tls://'));
  return {
    servers,
    ...(user !== undefined && pass !== undefined ? { user, pass } : {}),
    // `nats://TOKEN@host` carries a token, as the nats CLI reads it.
    ...(user !== undefined && pass === undefined ? { token: user } : {}),
    ...(nats.token ? { token: nats.token } : {}),
    ...(authenticators.length > 0 ? { authenticator: authenticators } : {}),
    ...(wantsTls
      ? {
          tls: {
            ...(nats.tlsCa ? { caFile: await checkedFile(nats.tlsCa, '--nats-tls-ca', 'NATS_TLS_CA') } : {}),
            ...(nats.tlsCert
              ? { certFile: await checkedFile(nats.tlsCert, '--nats-tls-cert', 'NATS_TLS_CERT') }
              : {}),
            ...(nats.tlsKey
              ? { keyFile: await checkedFile(nats.tlsKey, '--nats-tls-key', 'NATS_TLS_KEY') }
              : {}),
          },
        }
      : {}),
  };
}

/**
 * `nats://user:pass@a:4222,nats://b:4222` → servers without credentials, and the credentials
 * (nats.js itself drops credentials written in a URL). Every server must carry the same ones.
 */
export function parseNatsUrl(url: string): { servers: string[]; user?: string; pass?: string } {
  const servers: string[] = [];
  let credentials: { user?: string; pass?: string } | undefined;
  for (const part of url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    let parsed: URL;
    try {
      parsed = new URL(/^[a-z]+:\/\//i.test(part) ? part : `nats://${part}`);
    } catch {
      throw new NatsOptionsError(
        `${redactUrl(part)} is not a NATS URL; write nats://[user:password@]host:4222`,
      );
    }
    const user = parsed.username ? decodeURIComponent(parsed.username) : undefined;
    const pass = parsed.password ? decodeURIComponent(parsed.password) : undefined;
    if (user !== undefined) {
      if (credentials && (credentials.user !== user || credentials.pass !== pass)) {
        throw new NatsOptionsError(
          'the NATS URLs carry different credentials; give one user for every server',
        );
      }
      credentials = { user, pass };
    }
    servers.push(`${parsed.protocol}//${parsed.host}`);
  }
  if (servers.length === 0) throw new NatsOptionsError('no NATS server given; write nats://host:4222');
  return { servers, ...credentials };
}

function reportErrors(nc: NatsConnection, log: Logger): void {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'error') {
        // A permission violation: the deployment's NATS permissions and this role disagree.
        log.warn('NATS server error', { error: redactUrl(status.error.message) });
      }
    }
  })();
}

async function readSecret(path: string, flag: string, env: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new NatsOptionsError(
      `cannot read ${flag} ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}); fix ${flag} / ${env}`,
    );
  }
}

/** nats.js reads TLS files itself, and later: say now, naming the flag, when one is missing. */
async function checkedFile(path: string, flag: string, env: string): Promise<string> {
  await readSecret(path, flag, env);
  return path;
}
