/**
 * The coordinator's Postgres port (`--pg-port`). pg-gateway reads the byte stream into
 * messages, negotiates TLS (SSLRequest) when a certificate is given and parses the startup
 * message; a PgSession answers everything after it. A CancelRequest arrives on a
 * connection of its own and is matched to its session by the key sent at startup.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { PostgresConnection } from 'pg-gateway';
import type { Logger } from '../../log.js';
import type { ExecutorContext } from '../execute.js';
import { readCancelRequest, readFrontendMessage } from './messages.js';
import { type PasswordVerifier, PgSession } from './session.js';

export interface PgServerOptions {
  port: number;
  host: string;
  /** PEM certificate and key: clients may then switch to TLS (sslmode=require). */
  tls?: { cert: Buffer; key: Buffer };
  /** When set, clients must send a password it accepts (the HTTP API keys). */
  verifyPassword?: PasswordVerifier;
  log: Logger;
}

export interface PgServer {
  port: number;
  close(): Promise<void>;
}

function serve(
  socket: Socket,
  ctx: ExecutorContext,
  opts: PgServerOptions,
  sessions: Map<number, PgSession>,
) {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  let session: PgSession | undefined;
  const connection: PostgresConnection = new PostgresConnection(socket, {
    authMode: 'none',
    ...(opts.tls && { tls: opts.tls }),
    onMessage(data, state) {
      if (!state.hasStarted) {
        const cancel = readCancelRequest(data);
        if (!cancel) return false;
        sessions.get(cancel.processId)?.cancel(cancel.secret);
        socket.end();
        return true;
      }
      session?.receive(readFrontendMessage(data));
      return true;
    },
    onStartup(state) {
      session = new PgSession(() => connection.socket, ctx, opts.log, opts.verifyPassword);
      sessions.set(session.processId, session);
      session.start(state.clientInfo?.parameters ?? { user: '' });
      return true;
    },
  });
  socket.on('close', () => {
    if (!session) return;
    session.end();
    sessions.delete(session.processId);
  });
}

export async function startPgServer(ctx: ExecutorContext, opts: PgServerOptions): Promise<PgServer> {
  const sessions = new Map<number, PgSession>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serve(socket, ctx, opts, sessions);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : opts.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
