/**
 * Writes the 8 TPC-H tables as gzipped CSV and optionally uploads them:
 *
 *   node dist/tools/tpch.js --sf 1 --out ./tpch \
 *     [--upload s3://bucket/prefix --s3-endpoint http://127.0.0.1:9000]
 *
 * Credentials and region come from the AWS SDK's usual environment.
 */
import { Command } from 'commander';
import { createLogger } from '../log.js';
import { createS3Client, ensureBucket, parseS3Prefix, uploadFiles } from './s3-upload.js';
import { TPCH_TABLES, writeTpchData } from './tpch/generate.js';

function scaleFactor(value: string): number {
  const sf = Number(value);
  if (!(sf > 0 && sf <= 1000)) throw new Error(`expected a scale factor in (0, 1000], got "${value}"`);
  return sf;
}

async function main(): Promise<void> {
  const log = createLogger('tpch');
  const o = new Command()
    .name('tpch')
    .description(`writes the TPC-H tables ${TPCH_TABLES.join(', ')} as <out>/<table>.csv.gz`)
    .option('--sf <n>', 'scale factor (1: 6M lineitem rows, about 1 GB of CSV)', scaleFactor, 1)
    .option('--out <dir>', 'output directory', './tpch')
    .option(
      '--upload <s3-url>',
      'also upload the files to s3://bucket[/prefix] (the bucket is created if missing)',
    )
    .option(
      '--s3-endpoint <url>',
      'S3-compatible endpoint (default: $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL)',
      process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined,
    )
    .parse()
    .opts();
  // Checked before the (long) generation so that a typo fails at once.
  const target = o.upload ? parseS3Prefix(o.upload) : undefined;
  const started = performance.now();
  const data = await writeTpchData(o.out, o.sf);
  for (const table of TPCH_TABLES)
    log.info('wrote', { table, rows: data.rows[table], file: data.files[table] });
  log.info('generated', { sf: o.sf, ms: Math.round(performance.now() - started) });
  if (!target) return;
  const client = createS3Client({ endpoint: o.s3Endpoint });
  await ensureBucket(client, target.bucket);
  const urls = await uploadFiles(
    client,
    target,
    TPCH_TABLES.map((t) => data.files[t]),
  );
  for (const url of urls) log.info('uploaded', { url, endpoint: o.s3Endpoint ?? 'AWS S3' });
}

main().catch((err: unknown) => {
  process.stderr.write(`tpch: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
