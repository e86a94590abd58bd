/** `--threads`: DuckDB's worker threads of the coordinator, validated where the options are read. */
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { CoordinatorOptionsSchema, ServeOptionsSchema } from '../../src/config.js';
import { CoordinatorEngine } from '../../src/coordinator/execute/engine.js';
import { withSharedMachineThreads } from '../../src/tools/shared-machine.js';

const spill = { tempDirectory: tmpdir(), maxTempDirectorySize: '1GiB' };

async function threadsOf(engine: CoordinatorEngine): Promise<number> {
  const con = await engine.connect();
  try {
    return Number((await con.runAndReadAll(`SELECT current_setting('threads')`)).getRows()[0][0]);
  } finally {
    con.closeSync();
  }
}

describe('DuckDB threads', () => {
  it('the coordinator runs DuckDB with the threads it is given, else one per core', async () => {
    const one = await CoordinatorEngine.create({ threads: 1, spill });
    const cores = await CoordinatorEngine.create({ spill });
    try {
      expect(await threadsOf(one)).toBe(1);
      expect(await threadsOf(cores)).toBeGreaterThanOrEqual(1);
    } finally {
      await one.close();
      await cores.close();
    }
  });

  it('takes a whole number of at least 1 for both commands, and says so otherwise', () => {
    const serve = { urls: ['s3://b/t.csv.gz'], tableName: 't' };
    expect(CoordinatorOptionsSchema.parse({ threads: '3' }).threads).toBe(3);
    expect(ServeOptionsSchema.parse({ ...serve, threads: '2' }).threads).toBe(2);
    expect(ServeOptionsSchema.parse(serve).threads).toBeUndefined();
    for (const bad of ['0', '1.5', 'many']) {
      const parsed = CoordinatorOptionsSchema.safeParse({ threads: bad });
      expect(parsed.success).toBe(false);
      expect(JSON.stringify(parsed.error?.issues)).toMatch(/threads/);
    }
  });

  it('one machine for the whole cluster: the coordinator gets half the cores, unless told', () => {
    const args = withSharedMachineThreads(['--nats', 'nats://x']);
    const threads = Number(args[args.indexOf('--threads') + 1]);
    expect(threads).toBeGreaterThanOrEqual(1);
    expect(withSharedMachineThreads(['--threads', '4'])).toEqual(['--threads', '4']);
  });
});
