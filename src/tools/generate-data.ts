/**
 * Writes the sample tables as gzipped CSV and optionally uploads them:
 *
 *   node dist/tools/generate-data.js --labels 1000000 --out ./data \
 *     [--upload s3://bucket/prefix --s3-endpoint http://127.0.0.1:9000]
 */
import { type GeneratorOptions, generatorCommand, runGenerator } from './generator-command.js';
import { SAMPLE_TABLES, writeSampleData } from './sample-data.js';

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`expected a positive integer, got "${value}"`);
  return n;
}

const command = generatorCommand(
  'generate-data',
  `writes ${SAMPLE_TABLES.join(', ')} as <out>/<table>.csv.gz (child tables get 5x the rows)`,
  './data',
)
  .option('--labels <n>', 'rows in labels', positiveInteger, 1_000_000)
  .option('--seed <n>', 'seed of the pseudo-random values', Number, 42);

runGenerator<GeneratorOptions & { labels: number; seed: number }>(command, SAMPLE_TABLES, (o) =>
  writeSampleData(o.out, { labels: o.labels, seed: o.seed }),
);
