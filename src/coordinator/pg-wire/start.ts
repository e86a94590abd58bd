/** The Postgres port as the coordinator's options ask for it: none, plain, or with TLS. */
import { readFile } from 'node:fs/promises';
import type { CoordinatorOptions } from '../../config.js';
import type { Logger } from '../../log.js';
import type { ExecutorContext } from '../execute/query.js';
import { type PgServer, type PgServerOptions, startPgServer } from './server.js';

async function pemFile(path: string, flag: string): Promise<Buffer> {
  return readFile(path).catch((err: Error) => {
    throw new Error(`cannot read ${flag} ${path}: ${err.message}`);
  });
}

export async function startPgPort(
  ctx: ExecutorContext,
  opts: CoordinatorOptions,
  log: Logger,
  verifyPassword?: PgServerOptions['verifyPassword'],
): Promise<PgServer | undefined> {
  if (opts.pgPort === undefined) return undefined;
  if ((opts.pgTlsCert === undefined) !== (opts.pgTlsKey === undefined)) {
    throw new Error('give both --pg-tls-cert and --pg-tls-key (PG_TLS_CERT, PG_TLS_KEY), or neither');
  }
  const tls =
    opts.pgTlsCert && opts.pgTlsKey
      ? {
          cert: await pemFile(opts.pgTlsCert, '--pg-tls-cert'),
          key: await pemFile(opts.pgTlsKey, '--pg-tls-key'),
        }
      : undefined;
  const server = await startPgServer(ctx, {
    port: opts.pgPort,
    host: opts.host,
    ...(tls && { tls }),
    ...(verifyPassword && { verifyPassword }),
    log: log.child('pg'),
  }).catch((err: Error) => {
    throw new Error(
      `cannot open the Postgres port ${opts.pgPort}: ${err.message}; pick another with --pg-port`,
    );
  });
  log.info('postgres wire protocol listening', {
    url: `postgres://${opts.host}:${server.port}`,
    tls: tls !== undefined,
    passwords: verifyPassword !== undefined,
  });
  return server;
}
