/**
 * `scan --format` to a pipe: the CLI's rows per second for each output format, beside the
 * in-process scan of the same table (the transport's speed). One run each; a script to run
 * by hand, not a bench goal:
 *
 *   node dist/bench/scan-formats.js [rows]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { WireColumn } from '../protocol/frames.js';
import { openNatsScan } from '../scan-client/nats-scan.js';
import { type FrameWriter, frameWriter, type ScanFormat } from '../scan-client/scan-output.js';
import { freePort, startNatsServer } from '../tools/nats-server.js';
import { startBenchServer, timeScan } from './scan-bench.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

const byteLength = (pieces: Buffer[]) => pieces.reduce((sum, p) => sum + p.byteLength, 0);

/**
 * The scan command's work in this process: the frames received and written in `format`
 * (output discarded). CPU seconds of this process measure it on a busy machine, where wall
 * time mostly measures the neighbours.
 */
async function timeFormatted(
  nc: NatsConnection,
  format: ScanFormat,
): Promise<{ seconds: number; cpu: number; bytes: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  let writer: FrameWriter | undefined;
  let bytes = 0;
  for await (const frame of openNatsScan(nc, 'bench', { columns: [] }, { idleTimeoutMs: 60_000 })) {
    if (frame.type === 'schema') writer = (await frameWriter(format, frame.columns)).writer;
    else if (frame.type === 'data')
      bytes += byteLength((writer as FrameWriter).data(frame.rows, frame.columns as WireColumn[]));
    else if (frame.type === 'end') bytes += byteLength((writer as FrameWriter).end());
  }
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6, bytes };
}

/** Runs `scan bench --format <format>`, reading its stdout to the end: seconds and bytes. */
async function timeScanCommand(natsUrl: string, format: string): Promise<{ seconds: number; bytes: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'scan', 'bench', '--format', format, '--nats', natsUrl], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let bytes = 0;
  child.stdout.on('data', (d: Buffer) => {
    bytes += d.byteLength;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`scan --format ${format} exited with ${code}`);
  return { seconds: (performance.now() - started) / 1000, bytes };
}

export async function runScanFormats(rows = 5_000_000): Promise<void> {
  const nats = await startNatsServer();
  const child = await startBenchServer(nats.url, rows, await freePort());
  const nc = await connect({ servers: nats.url });
  try {
    const inProcess = await timeScan(nc);
    const rate = (seconds: number) => `${(rows / seconds / 1e6).toFixed(2)} M rows/s`;
    process.stdout.write(
      `in-process scan: ${(inProcess.ms / 1000).toFixed(2)} s, ${rate(inProcess.ms / 1000)}\n`,
    );
    const inProcessCpu = process.cpuUsage();
    await timeScan(nc);
    const scanCpu = process.cpuUsage(inProcessCpu);
    process.stdout.write(
      `in-process scan, CPU of the receiver: ${((scanCpu.user + scanCpu.system) / 1e6).toFixed(2)} s\n`,
    );
    for (const format of ['arrow', 'ndjson', 'csv'] as const) {
      const f = await timeFormatted(nc, format);
      process.stdout.write(
        `received and written as ${format.padEnd(6)}: ${f.seconds.toFixed(2)} s wall, ${f.cpu.toFixed(2)} s CPU, ${rate(f.cpu)} per CPU second, ${(f.bytes / 1e6).toFixed(0)} MB\n`,
      );
    }
    for (const format of ['arrow', 'ndjson', 'csv']) {
      const { seconds, bytes } = await timeScanCommand(nats.url, format);
      process.stdout.write(
        `scan --format ${format.padEnd(6)}: ${seconds.toFixed(2)} s, ${rate(seconds)}, ${(bytes / 1e6).toFixed(0)} MB, ${(seconds / (inProcess.ms / 1000)).toFixed(2)}× the in-process scan\n`,
      );
    }
  } finally {
    await nc.close();
    child.kill();
    await nats.dispose();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runScanFormats(process.argv[2] ? Number(process.argv[2]) : undefined).catch((err: unknown) => {
    process.stderr.write(`scan formats failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
