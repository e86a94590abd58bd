/**
 * The coordinator's Postgres port (`--pg-port`). pg-gateway negotiates TLS (SSLRequest) when
 * a certificate is given and parses the startup message; then it is detached and the
 * session reads the messages that follow: pg-gateway 0.2.4 slices the second and later
 * messages of one read wrongly (`subarray(start, length)`), and drivers pipeline
 * Parse/Bind/Describe/Execute/Sync in one write. A CancelRequest arrives on a connection of
 * its own and is matched to its session by the key sent at startup.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { PostgresConnection } from 'pg-gateway';
import type { Logger } from '../../log.js';
import type { ExecutorContext } from '../execute/query.js';
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

/** Calls `onMessage` with each whole message (type byte, length, body) of the byte stream. */
function framer(onMessage: (message: Buffer) => void): (data: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (data) => {
    pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
    while (pending.length >= 5) {
      const end = 1 + pending.readUInt32BE(1);
      if (pending.length < end) break;
      onMessage(pending.subarray(0, end));
      pending = pending.subarray(end);
    }
  };
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
      return false;
    },
    onStartup(state) {
      const current = connection.detach();
      const started = new PgSession(() => current, ctx, opts.log, opts.verifyPassword);
      session = started;
      sessions.set(started.processId, started);
      current.on(
        'data',
        framer((message) => started.receive(readFrontendMessage(message))),
      );
      started.start(state.clientInfo?.parameters ?? { user: '' });
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
