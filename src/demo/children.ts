/**
 * Child processes of the demo: each in its own process group (so that a terminal's Ctrl-C
 * reaches only the demo, which then stops them in order), output forwarded line by line with
 * the child's name in front, the last lines kept for error messages.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const TAIL_LINES = 40;
const STOP_GRACE_MS = 5_000;

export interface Child {
  name: string;
  pid: number;
  /** Resolves when the process has exited, with a description like "exit code 1" or "signal SIGKILL". */
  exited: Promise<string>;
  /** The last lines it wrote to stdout and stderr. */
  tail(): string;
  /** SIGTERM to its process group, SIGKILL after a grace period; resolves when it has exited. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Where forwarded output goes (default: stderr). */
  output?: NodeJS.WritableStream;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

export function spawnChild(options: SpawnOptions): Promise<Child> {
  const { name } = options;
  const output = options.output ?? process.stderr;
  const child: ChildProcess = spawn(options.command, options.args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
      output.write(`[${name}] ${line}\n`);
    });
  }
  let done = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(signal ? `signal ${signal}` : `exit code ${code}`);
    });
  });
  return new Promise((resolve, reject) => {
    child.once('error', (err) =>
      reject(new Error(`cannot start ${name} (${options.command}): ${err.message}`)),
    );
    child.once('spawn', () => {
      const pid = child.pid!;
      resolve({
        name,
        pid,
        exited,
        tail: () => lines.join('\n'),
        stop: async () => {
          if (!done) {
            signalGroup(pid, 'SIGTERM');
            const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), STOP_GRACE_MS);
            await exited;
            clearTimeout(timer);
          }
          // Anything the child started in its group and left behind.
          signalGroup(pid, 'SIGKILL');
        },
      });
    });
  });
}
