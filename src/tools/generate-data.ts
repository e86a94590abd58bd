/**
 * Writes the sample tables as gzipped CSV and optionally uploads them:
 *
 *   node dist/tools/generate-data.js --labels 1000000 --out ./data \
 *     [--upload s3://bucket/prefix --s3-endpoint http://127.0.0.1:9000]
 *
 * Credentials and region come from the AWS SDK's usual environment.
 */
import { Command } from 'commander';
import { createLogger } from '../log.js';
import { createS3Client, ensureBucket, parseS3Prefix, uploadFiles } from './s3-upload.js';
import { SAMPLE_TABLES, writeSampleData } from './sample-data.js';

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`expected a positive integer, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const log = createLogger('generate-data');
  const o = new Command()
    .name('generate-data')
    .description(`writes ${SAMPLE_TABLES.join(', ')} as <out>/<table>.csv.gz (child tables get 5x the rows)`)
    .option('--labels <n>', 'rows in labels', positiveInteger, 1_000_000)
    .option('--seed <n>', 'seed of the pseudo-random values', Number, 42)
    .option('--out <dir>', 'output directory', './data')
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
  const data = await writeSampleData(o.out, { labels: o.labels, seed: o.seed });
  for (const table of SAMPLE_TABLES)
    log.info('wrote', { table, rows: data.rows[table], file: data.files[table] });
  log.info('generated', { ms: Math.round(performance.now() - started) });
  if (!target) return;
  const client = createS3Client({ endpoint: o.s3Endpoint });
  await ensureBucket(client, target.bucket);
  const urls = await uploadFiles(
    client,
    target,
    SAMPLE_TABLES.map((t) => data.files[t]),
  );
  for (const url of urls) log.info('uploaded', { url, endpoint: o.s3Endpoint ?? 'AWS S3' });
}

main().catch((err: unknown) => {
  process.stderr.write(`generate-data: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
