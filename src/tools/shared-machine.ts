import { availableParallelism } from 'node:os';

/**
 * The coordinator's DuckDB threads where the whole cluster shares one machine (the demo, the
 * benchmarks, the tests): half the cores, at least one, unless `args` set them. Its joins run
 * while the containers' scans do, on the same cores, and threads beyond its share only wait
 * for them (docs/performance.md: TPC-H on 2 cores with one thread against two).
 */
export function withSharedMachineThreads(args: readonly string[]): string[] {
  if (args.includes('--threads')) return [...args];
  return [...args, '--threads', String(Math.max(1, Math.floor(availableParallelism() / 2)))];
}
