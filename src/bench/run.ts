/**
 * `npm run bench`: every figure the issues ask for, each beside its baseline measured in the
 * same run on the same machine. `npm run bench -- load|scan|coordinator|trust|pg|arrow|formats|shards` runs one part;
 * `npm run bench -- tpch [--sf 1]` (not run by default: minutes at SF 1) the TPC-H queries.
 */
import { cpus, totalmem } from 'node:os';
import { steadyHeapGrowth } from '../heap-growth.js';
import { runArrowAnswerBench } from './arrow-answer.js';
import { runCoordinatorBench } from './coordinator-bench.js';
import { runLoadBench } from './load-bench.js';
import { runPgBench } from './pg-bench.js';
import { runScanBench } from './scan-bench.js';
import { runScanFormats } from './scan-formats.js';
import { runShardsBench } from './shards-bench.js';
import { runTpchBench } from './tpch-bench.js';
import { runTrustBench } from './trust-bench.js';

/** Parts, then options (`--sf 1`) for the parts that take them. */
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('--'));
const options = firstOption < 0 ? [] : args.slice(firstOption);

const PARTS: Record<string, () => Promise<unknown>> = {
  load: () => runLoadBench(),
  scan: () => runScanBench(),
  coordinator: () => runCoordinatorBench(),
  trust: () => runTrustBench(),
  tpch: () => runTpchBench(options),
  pg: () => runPgBench(),
  arrow: () => runArrowAnswerBench(),
  formats: () => runScanFormats(),
  shards: () => runShardsBench(),
};
const ON_REQUEST = new Set(['tpch']);

async function main(): Promise<void> {
  // As in the processes measured, so that single-node's side (here) meets the same GC.
  steadyHeapGrowth();
  const wanted = firstOption < 0 ? args : args.slice(0, firstOption);
  const parts = wanted.length > 0 ? wanted : Object.keys(PARTS).filter((p) => !ON_REQUEST.has(p));
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
  );
  for (const part of parts) {
    const run = PARTS[part];
    if (!run) throw new Error(`unknown bench part "${part}"; parts: ${Object.keys(PARTS).join(', ')}`);
    console.log(`\n# ${part}`);
    await run();
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
