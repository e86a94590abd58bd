/**
 * A data container in a process of its own (dist/bench/bench-server.js: a generated table of
 * id, amount, name), for tests that kill it; `cleanup` gets its SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { freePort } from './processes.js';

export interface BenchServer {
  child: ChildProcess;
  /** Its HTTP app (POST /query, POST /scan). */
  httpUrl: string;
}

/** `args`: more of its flags, e.g. `--grouped --shard 0/3`. */
export async function startBenchServer(
  natsUrl: string,
  table: string,
  rows: number,
  cleanup: (() => Promise<unknown>)[],
  args: string[] = [],
): Promise<BenchServer> {
  const script = new URL('../../dist/bench/bench-server.js', import.meta.url).pathname;
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      script,
      '--nats',
      natsUrl,
      '--table',
      table,
      '--rows',
      String(rows),
      '--http-port',
      String(port),
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'silent' } },
  );
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
  for await (const line of createInterface({ input: child.stdout! })) if (line.includes('"ready"')) break;
  return { child, httpUrl: `http://127.0.0.1:${port}` };
}
