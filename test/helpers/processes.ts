/**
 * Child processes for integration tests: the real CLI (`node dist/cli.js ...`, so run
 * `npm run build` first) and other node scripts. Every child is tracked; call
 * `killChildren()` in afterAll.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitHealthy as waitUntilHealthy } from '../../src/tools/local-cluster.js';
import { freePort } from '../../src/tools/nats-server.js';

export { freePort };

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

const children = new Set<ChildProcess>();

export interface Child {
  process: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** The exit code, or null when a signal ended it. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it is gone. */
  stop(): Promise<void>;
}

/** The environment a child gets: ours without AWS settings that would leak into a test. */
function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const key of Object.keys(base)) if (key.startsWith('AWS_') || key === 'NODE_OPTIONS') delete base[key];
  return { ...base, ...env };
}

export function spawnNode(args: string[], env: NodeJS.ProcessEnv = {}, nodeFlags: string[] = []): Child {
  const child = spawn(process.execPath, [...nodeFlags, ...args], {
    env: childEnv(env),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    });
  });
  return {
    process: child,
    stderr: () => stderr,
    exited,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function killChildren(): Promise<void> {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds a process has used (user + system), from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds `pid` uses over the next `ms`. */
export async function cpuOver(pid: number, ms: number): Promise<number> {
  const before = cpuSeconds(pid);
  await sleep(ms);
  return cpuSeconds(pid) - before;
}

/** Resolves once the child's stderr matches `pattern`; throws if it exits first. */
export async function waitForStderr(
  child: Child,
  pattern: RegExp,
  timeoutMs = 20_000,
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = pattern.exec(child.stderr());
    if (match) return match;
    if (child.process.exitCode !== null) {
      throw new Error(`exited (${child.process.exitCode}) before printing ${pattern}: ${child.stderr()}`);
    }
    await sleep(20);
  }
  throw new Error(`no ${pattern} within ${timeoutMs} ms: ${child.stderr()}`);
}

export interface ServeProcess extends Child {
  url: string;
  port: number;
}

/** `node dist/cli.js serve <args> --port <free> --host 127.0.0.1`, not waited for. */
export async function spawnServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const port = await freePort();
  const child = spawnNode([CLI, 'serve', ...args, '--port', String(port), '--host', '127.0.0.1'], env);
  return { ...child, url: `http://127.0.0.1:${port}`, port };
}

/** Resolves when /health answers 200; throws with the child's stderr if it exits first. */
export function waitHealthy(serve: ServeProcess, timeoutMs = 60_000): Promise<void> {
  return waitUntilHealthy({ child: serve.process, url: serve.url, output: serve.stderr }, timeoutMs);
}

/** A serve process that is loaded and ready. */
export async function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const serve = await spawnServe(args, env);
  await waitHealthy(serve);
  return serve;
}

/** Runs serve until it exits (a failing load); its exit code and stderr. */
export async function serveUntilExit(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 30_000,
): Promise<{ code: number | null; stderr: string }> {
  const serve = await spawnServe(args, env);
  const timer = setTimeout(() => serve.process.kill('SIGKILL'), timeoutMs);
  const code = await serve.exited;
  clearTimeout(timer);
  return { code, stderr: serve.stderr() };
}
