/**
 * DuckDB types as Postgres sees them: the type OID, size and modifier a RowDescription
 * carries, and the OID → DuckDB type a typed parameter is cast to. Lists, structs, maps,
 * intervals and other types without a faithful Postgres twin go out as text.
 */
import { type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';

export const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  float4: 700,
  float8: 701,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  timetz: 1266,
  numeric: 1700,
  uuid: 2950,
} as const;

export interface PgType {
  oid: number;
  /** typlen: bytes of a fixed-size type, -1 for variable size. */
  size: number;
  /** atttypmod: DECIMAL(p,s) is ((p << 16) | s) + 4, else -1. */
  modifier: number;
}

const FIXED: Partial<Record<DuckDBTypeId, PgType>> = {
  [DuckDBTypeId.BOOLEAN]: { oid: OID.bool, size: 1, modifier: -1 },
  [DuckDBTypeId.TINYINT]: { oid: OID.int2, size: 2, modifier: -1 },
  [DuckDBTypeId.UTINYINT]: { oid: OID.int2, size: 2, modifier: -1 },
  [DuckDBTypeId.SMALLINT]: { oid: OID.int2, size: 2, modifier: -1 },
  [DuckDBTypeId.USMALLINT]: { oid: OID.int4, size: 4, modifier: -1 },
  [DuckDBTypeId.INTEGER]: { oid: OID.int4, size: 4, modifier: -1 },
  [DuckDBTypeId.UINTEGER]: { oid: OID.int8, size: 8, modifier: -1 },
  [DuckDBTypeId.BIGINT]: { oid: OID.int8, size: 8, modifier: -1 },
  [DuckDBTypeId.UBIGINT]: { oid: OID.numeric, size: -1, modifier: -1 },
  [DuckDBTypeId.HUGEINT]: { oid: OID.numeric, size: -1, modifier: -1 },
  [DuckDBTypeId.UHUGEINT]: { oid: OID.numeric, size: -1, modifier: -1 },
  [DuckDBTypeId.FLOAT]: { oid: OID.float4, size: 4, modifier: -1 },
  [DuckDBTypeId.DOUBLE]: { oid: OID.float8, size: 8, modifier: -1 },
  [DuckDBTypeId.DATE]: { oid: OID.date, size: 4, modifier: -1 },
  [DuckDBTypeId.TIME]: { oid: OID.time, size: 8, modifier: -1 },
  [DuckDBTypeId.TIME_TZ]: { oid: OID.timetz, size: 12, modifier: -1 },
  [DuckDBTypeId.TIMESTAMP]: { oid: OID.timestamp, size: 8, modifier: -1 },
  [DuckDBTypeId.TIMESTAMP_S]: { oid: OID.timestamp, size: 8, modifier: -1 },
  [DuckDBTypeId.TIMESTAMP_MS]: { oid: OID.timestamp, size: 8, modifier: -1 },
  [DuckDBTypeId.TIMESTAMP_NS]: { oid: OID.timestamp, size: 8, modifier: -1 },
  [DuckDBTypeId.TIMESTAMP_TZ]: { oid: OID.timestamptz, size: 8, modifier: -1 },
  [DuckDBTypeId.UUID]: { oid: OID.uuid, size: 16, modifier: -1 },
  [DuckDBTypeId.BLOB]: { oid: OID.bytea, size: -1, modifier: -1 },
};

const TEXT: PgType = { oid: OID.text, size: -1, modifier: -1 };

export function pgTypeOf(type: DuckDBType): PgType {
  if (type.typeId === DuckDBTypeId.DECIMAL) {
    const { width, scale } = type as unknown as { width: number; scale: number };
    return { oid: OID.numeric, size: -1, modifier: ((width << 16) | scale) + 4 };
  }
  return FIXED[type.typeId] ?? TEXT;
}

/** What a parameter declared with this OID is cast to; undefined leaves it an untyped literal. */
const CAST_OF_OID: Record<number, string> = {
  [OID.bool]: 'BOOLEAN',
  [OID.int2]: 'SMALLINT',
  [OID.int4]: 'INTEGER',
  [OID.int8]: 'BIGINT',
  [OID.float4]: 'FLOAT',
  [OID.float8]: 'DOUBLE',
  [OID.text]: 'VARCHAR',
  [OID.varchar]: 'VARCHAR',
  [OID.date]: 'DATE',
  [OID.time]: 'TIME',
  [OID.timestamp]: 'TIMESTAMP',
  [OID.timestamptz]: 'TIMESTAMP WITH TIME ZONE',
  [OID.uuid]: 'UUID',
  [OID.bytea]: 'BLOB',
};

export function castOfOid(oid: number): string | undefined {
  return CAST_OF_OID[oid];
}

/** The OID a parameter DuckDB inferred as `type` is announced with (text when not inferred). */
export function parameterOid(type: DuckDBType | undefined): number {
  if (!type) return OID.text;
  const oid = pgTypeOf(type).oid;
  return castOfOid(oid) || oid === OID.numeric ? oid : OID.text;
}
