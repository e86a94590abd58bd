/**
 * What the data generators' commands (generate-data, tpch) share: `--out`, `--upload` and
 * `--s3-endpoint`, progress in the log, and the upload. Credentials and region come from the
 * AWS SDK's usual environment.
 */
import { Command } from 'commander';
import { createLogger } from '../log.js';
import { createS3Client, ensureBucket, parseS3Prefix, uploadFiles } from './s3-upload.js';

export interface GeneratorOptions {
  out: string;
  upload?: string;
  s3Endpoint?: string;
}

export interface GeneratedData {
  files: Record<string, string>;
  rows: Record<string, number>;
}

export function generatorCommand(name: string, description: string, defaultOut: string): Command {
  return new Command()
    .name(name)
    .description(description)
    .option('--out <dir>', 'output directory', defaultOut)
    .option(
      '--upload <s3-url>',
      'also upload the files to s3://bucket[/prefix] (the bucket is created if missing)',
    )
    .option(
      '--s3-endpoint <url>',
      'S3-compatible endpoint (default: $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL)',
      process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined,
    );
}

/** Parses the command line, generates `tables`, uploads them when asked; exits 1 with the reason on failure. */
export function runGenerator<O extends GeneratorOptions>(
  command: Command,
  tables: readonly string[],
  generate: (options: O) => Promise<GeneratedData>,
): void {
  const name = command.name();
  const log = createLogger(name);
  const main = async () => {
    const o = command.parse().opts<O>();
    // Checked before the (long) generation so that a typo fails at once.
    const target = o.upload ? parseS3Prefix(o.upload) : undefined;
    const started = performance.now();
    const data = await generate(o);
    for (const table of tables) log.info('wrote', { table, rows: data.rows[table], file: data.files[table] });
    log.info('generated', { ms: Math.round(performance.now() - started) });
    if (!target) return;
    const client = createS3Client({ endpoint: o.s3Endpoint });
    await ensureBucket(client, target.bucket);
    const urls = await uploadFiles(
      client,
      target,
      tables.map((t) => data.files[t]),
    );
    for (const url of urls) log.info('uploaded', { url, endpoint: o.s3Endpoint ?? 'AWS S3' });
  };
  main().catch((err: unknown) => {
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
