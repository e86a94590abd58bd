/**
 * The sender side of the scan benchmark, run as its own process:
 *   node dist/bench/bench-server.js --nats URL --table NAME --rows N [--http-port P] [--grouped] [--shard I/N]
 * A data container over a generated table (BIGINT, BIGINT, VARCHAR; with --grouped the shards
 * benchmark's table, with a group column): the NATS service, and with --http-port its HTTP app
 * (POST /query, POST /scan, /metrics). With --shard it is part I of N of the grouped table's
 * N rows (a contiguous range). It also answers RAW_SUBJECT with
 * plain 1 MiB messages (raw-nats.ts). Prints one
 * JSON line `{"ready": true, ...}` on stdout once it serves.
 */
import { parseArgs } from 'node:util';
import { createHttpApp } from '../data-container/http.js';
import { startTableService } from '../data-container/nats-service.js';
import { steadyHeapGrowth } from '../heap-growth.js';
import { createLogger } from '../log.js';
import { connectNats } from '../nats/connect.js';
import { parseShard, UNSPLIT } from '../protocol/shards.js';
import { benchTableSql, generatedTable, groupedTableSql, partRange } from './generated-table.js';
import { RAW_SUBJECT, sendRaw } from './raw-nats.js';

async function main(): Promise<void> {
  steadyHeapGrowth();
  const { values } = parseArgs({
    options: {
      nats: { type: 'string' },
      table: { type: 'string', default: 'bench' },
      rows: { type: 'string', default: '5000000' },
      'http-port': { type: 'string' },
      grouped: { type: 'boolean', default: false },
      shard: { type: 'string' },
    },
  });
  if (!values.nats) throw new Error('--nats URL is required');
  const log = createLogger('bench-server');
  const rows = Number(values.rows);
  const shard = values.shard ? parseShard(values.shard) : UNSPLIT;
  const select = values.grouped
    ? groupedTableSql(...partRange(rows, shard.index, shard.count))
    : benchTableSql(rows);
  const table = await generatedTable(values.table, select, shard);
  const nats = { url: values.nats };
  const service = await startTableService(table, nats, log);
  await service.ready;
  if (values['http-port']) {
    const app = await createHttpApp(table, () => table, log);
    await app.listen({ port: Number(values['http-port']), host: '127.0.0.1' });
  }
  const nc = await connectNats(nats, { role: 'bench', name: 'bench raw sender', log });
  nc.subscribe(RAW_SUBJECT, { callback: (_err, msg) => void sendRaw(nc, msg) });
  await nc.flush();
  process.stdout.write(`${JSON.stringify({ ready: true, rows: table.rowCount })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-server: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
