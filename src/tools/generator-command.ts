/**
 * What the data generators' commands (generate-data, tpch) share: `--out`, `--objects`,
 * `--upload` and `--s3-endpoint`, progress in the log, and the upload. Credentials and region
 * come from the AWS SDK's usual environment.
 */
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { createLogger } from '../log.js';
import { createS3Client, ensureBucket, parseS3Prefix, type S3Prefix, uploadFiles } from './s3-upload.js';
import { equalWeights, splitIntoObjects } from './split-objects.js';

export interface GeneratorOptions {
  out: string;
  /** Each table as this many objects under `<table>/` instead of one file. */
  objects: number;
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
      '--objects <n>',
      'write each table as N objects <out>/<table>/part-K.csv.gz (a prefix to serve with <table>/*.csv.gz, e.g. split with --shard) instead of <out>/<table>.csv.gz',
      (value: string) => equalWeights(Number(value)).length,
      1,
    )
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

/** Each table's files: its one file, or (`objects` > 1) the objects it was split into, in place of it. */
async function asObjects(
  data: GeneratedData,
  tables: readonly string[],
  objects: number,
): Promise<Record<string, string[]>> {
  const written: Record<string, string[]> = {};
  for (const table of tables) {
    const file = data.files[table];
    if (objects === 1) written[table] = [file];
    else {
      written[table] = await splitIntoObjects(file, join(dirname(file), table), equalWeights(objects));
      await rm(file);
    }
  }
  return written;
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
    const written = await asObjects(data, tables, o.objects);
    for (const table of tables) log.info('wrote', { table, rows: data.rows[table], files: written[table] });
    log.info('generated', { ms: Math.round(performance.now() - started) });
    if (!target) return;
    const client = createS3Client({ endpoint: o.s3Endpoint });
    await ensureBucket(client, target.bucket);
    for (const table of tables) {
      // Split tables keep their objects under the table's own prefix.
      const prefix: S3Prefix = o.objects > 1 ? { ...target, prefix: `${target.prefix}${table}/` } : target;
      const urls = await uploadFiles(client, prefix, written[table]);
      for (const url of urls) log.info('uploaded', { url, endpoint: o.s3Endpoint ?? 'AWS S3' });
    }
  };
  main().catch((err: unknown) => {
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
