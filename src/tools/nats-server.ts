/**
 * A local nats-server child process (tests, benchmarks) on a free port, that can be stopped
 * and started again on the SAME port (so clients reconnect to it), optionally with a small
 * max_payload or max_pending, a permissions file (deploy/nats/permissions.conf) and more
 * config (TLS, other auth). Uses /usr/sbin/nats-server or the one on PATH.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export interface NatsServer {
  url: string;
  port: number;
  start(): Promise<void>;
  /** SIGKILL: connected clients see the connection drop, as in a crash. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the server and removes its config. */
  dispose(): Promise<void>;
}

export interface NatsServerOptions {
  maxPayload?: number;
  /** Bytes the server buffers for one client before it cuts it off as a slow consumer. */
  maxPending?: number;
  /** Leave it stopped (to test clients started while NATS is down). */
  stopped?: boolean;
  /** A config file to include (copied beside the server's own: nats-server includes relative paths only). */
  include?: string;
  /** More config lines, e.g. a `tls {…}` or `authorization {…}` block. */
  config?: string[];
  /** Environment of the server, for `$VARIABLES` of the config (passwords). */
  env?: Record<string, string>;
}

function natsServerBinary(): string {
  for (const candidate of ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server']) {
    if (existsSync(candidate)) return candidate;
  }
  return 'nats-server';
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited: ${output()}`);
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nats-server did not listen on ${port} within 10 s: ${output()}`);
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'nats-server-'));
  const configPath = join(dir, 'nats.conf');
  const lines = [`listen: 127.0.0.1:${port}`];
  if (options.maxPayload) lines.push(`max_payload: ${options.maxPayload}`);
  if (options.maxPending) lines.push(`max_pending: ${options.maxPending}`);
  if (options.include) {
    await copyFile(options.include, join(dir, basename(options.include)));
    lines.push(`include ./${basename(options.include)}`);
  }
  lines.push(...(options.config ?? []));
  await writeFile(configPath, `${lines.join('\n')}\n`);
  let child: ChildProcess | undefined;

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGKILL');
    await exited;
  };
  const start = async () => {
    if (child) return;
    let output = '';
    const spawned = spawn(natsServerBinary(), ['-c', configPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    spawned.stderr?.on('data', (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
    });
    child = spawned;
    await waitForPort(port, spawned, () => output);
  };
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    start,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    dispose: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  if (!options.stopped) await start();
  return server;
}
