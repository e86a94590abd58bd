/**
 * `$1`, `$2`… bound without splicing raw text: each parameter node of DuckDB's parse tree is
 * replaced by a constant node holding the value (cast to the type the client declared, or
 * that DuckDB inferred), and DuckDB writes the tree back to SQL, quoting the value itself.
 * The SQL then runs through the same executor as any other query.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { QueryError } from '../../errors.js';
import { castOfOid, OID } from './pg-types.js';

const PG_EPOCH_MS = 946_684_800_000;

function pad(n: number | bigint, width: number): string {
  return String(n).padStart(width, '0');
}

/** Microseconds since 2000-01-01 as `YYYY-MM-DD HH:MM:SS.ffffff`. */
function timestampText(micros: bigint): string {
  const ms = Number(micros / 1000n) + PG_EPOCH_MS;
  const fraction = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const iso = new Date(ms - Number(fraction / 1000n)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${pad(fraction, 6)}`;
}

/** Postgres' binary numeric (base-10000 digits) as decimal text. */
function numericText(b: Buffer): string {
  const digits = b.readInt16BE(0);
  const weight = b.readInt16BE(2);
  const sign = b.readUInt16BE(4);
  const scale = b.readInt16BE(6);
  if (sign === 0xc000) return 'NaN';
  const groups = Array.from({ length: digits }, (_, i) => b.readInt16BE(8 + 2 * i));
  let whole = '';
  for (let w = 0; w <= weight; w++) whole += pad(groups[w] ?? 0, 4);
  let fraction = '';
  for (let w = weight + 1; fraction.length < scale; w++) fraction += pad(w >= 0 ? (groups[w] ?? 0) : 0, 4);
  const text = `${whole.replace(/^0+(?=\d)/, '') || '0'}${scale > 0 ? `.${fraction.slice(0, scale)}` : ''}`;
  return sign === 0x4000 ? `-${text}` : text;
}

function binaryText(value: Buffer, oid: number): string {
  switch (oid) {
    case OID.bool:
      return value[0] ? 'true' : 'false';
    case OID.int2:
      return String(value.readInt16BE(0));
    case OID.int4:
      return String(value.readInt32BE(0));
    case OID.int8:
      return String(value.readBigInt64BE(0));
    case OID.float4:
      return String(value.readFloatBE(0));
    case OID.float8:
      return String(value.readDoubleBE(0));
    case OID.numeric:
      return numericText(value);
    case OID.date:
      return new Date(PG_EPOCH_MS + value.readInt32BE(0) * 86_400_000).toISOString().slice(0, 10);
    case OID.timestamp:
      return timestampText(value.readBigInt64BE(0));
    case OID.timestamptz:
      return `${timestampText(value.readBigInt64BE(0))}+00`;
    case OID.uuid: {
      const hex = value.toString('hex');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    case OID.bytea:
      return [...value].map((byte) => `\\x${byte.toString(16).padStart(2, '0')}`).join('');
    default:
      return value.toString('utf8');
  }
}

/** A bound parameter's value as text (what a cast reads), or null. */
export function parameterText(value: Buffer | null, format: number, oid: number): string | null {
  if (value === null) return null;
  if (format === 1) return binaryText(value, oid);
  const text = value.toString('utf8');
  // bytea's text form is `\x0102`; DuckDB's BLOB literal wants `\x01\x02`.
  if (oid === OID.bytea && text.startsWith('\\x')) return binaryText(Buffer.from(text.slice(2), 'hex'), oid);
  return text;
}

type Node = { [key: string]: unknown };

function constant(text: string | null, cast: string | undefined): Node {
  const value: Node = {
    class: 'CONSTANT',
    type: 'VALUE_CONSTANT',
    alias: '',
    value: {
      type: { id: 'VARCHAR', type_info: null },
      is_null: text === null,
      ...(text !== null && { value: text }),
    },
  };
  if (!cast) return value;
  return {
    class: 'CAST',
    type: 'OPERATOR_CAST',
    alias: '',
    child: value,
    cast_type: { id: cast, type_info: null },
    try_cast: false,
  };
}

function substitute(node: unknown, values: (string | null)[], casts: (string | undefined)[]): unknown {
  if (Array.isArray(node)) return node.map((n) => substitute(n, values, casts));
  if (!node || typeof node !== 'object') return node;
  const n = node as Node;
  if (n.class === 'PARAMETER') {
    const index = Number(n.identifier) - 1;
    if (!(index >= 0 && index < values.length)) {
      throw new QueryError(
        'bad_request',
        `parameter $${String(n.identifier)} has no value: ${values.length} were bound`,
      );
    }
    // The parameter's alias (`$1 AS s`) stays the column's name.
    return { ...constant(values[index], casts[index]), alias: n.alias ?? '' };
  }
  const out: Node = {};
  // query_location is a uint64 that JSON numbers cannot carry back; DuckDB does without it.
  for (const [key, value] of Object.entries(n))
    if (key !== 'query_location') out[key] = substitute(value, values, casts);
  return out;
}

/**
 * `tree` (json_serialize_sql of one SELECT with `$n` parameters) with every `$n` replaced by
 * `values[n-1]`, cast to `casts[n-1]` when given, written back to SQL by DuckDB.
 */
export async function bindParameters(
  con: DuckDBConnection,
  tree: unknown,
  values: (string | null)[],
  casts: (string | undefined)[],
): Promise<string> {
  const bound = substitute(tree, values, casts) as { statements: Node[] };
  for (const statement of bound.statements) statement.named_param_map = [];
  const reader = await con.runAndReadAll('SELECT json_deserialize_sql($1::JSON)', [JSON.stringify(bound)]);
  return String(reader.getRows()[0][0]);
}

/** The cast of a parameter: the type the client declared, else the one DuckDB inferred. */
export function parameterCast(declaredOid: number | undefined, inferredOid: number): string | undefined {
  return castOfOid(declaredOid || inferredOid);
}
