/**
 * Writes the 8 TPC-H tables as gzipped CSV and optionally uploads them:
 *
 *   node dist/tools/tpch.js --sf 1 --out ./tpch \
 *     [--upload s3://bucket/prefix --s3-endpoint http://127.0.0.1:9000]
 */
import { type GeneratorOptions, generatorCommand, runGenerator } from './generator-command.js';
import { TPCH_TABLES, writeTpchData } from './tpch/generate.js';

function scaleFactor(value: string): number {
  const sf = Number(value);
  if (!(sf > 0 && sf <= 1000)) throw new Error(`expected a scale factor in (0, 1000], got "${value}"`);
  return sf;
}

const command = generatorCommand(
  'tpch',
  `writes the TPC-H tables ${TPCH_TABLES.join(', ')} as <out>/<table>.csv.gz`,
  './tpch',
).option('--sf <n>', 'scale factor (1: 6M lineitem rows, about 1 GB of CSV)', scaleFactor, 1);

runGenerator<GeneratorOptions & { sf: number }>(command, TPCH_TABLES, (o) => writeTpchData(o.out, o.sf));
