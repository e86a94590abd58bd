/**
 * DuckDB's binder as an oracle for names and types, without data: a query tree is prepared
 * (never run) over empty stand-ins of the tables it reads — a CTE of the table's name with its
 * columns and types — and the prepared statement says its column names and types.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { parseTreeText, serializedSql } from '../../../duckdb/parse-tree.js';
import { quoteIdent } from '../../../duckdb/sql.js';
import { isJsonObject, type JsonObject } from '../../../json-object.js';
import { withoutLocations } from '../../plan/analyze/print.js';
import { treeKey } from '../../plan/analyze/trees.js';
import { Decline } from './single-table-query.js';

export interface Relation {
  name: string;
  columns: string[];
  types: string[];
}

export interface Described {
  names: string[];
  /** DuckDB's text of each column's type, e.g. DECIMAL(38,2). */
  types: string[];
}

/** Type texts come from the catalog: refuse what could end or comment out the CTE around them. */
const SAFE_TYPE = /^[A-Za-z0-9_ ,()[\]"]+$/;

export class TypedProbe {
  private readonly ctes = new Map<string, Promise<unknown>>();

  constructor(private readonly con: DuckDBConnection) {}

  /**
   * Column names and types of `node` reading `relation` (or each of several: its FROM names
   * them bare), and the SQL text of each of `more` (printed in the same call; see `checkPrinted`).
   */
  async describe(
    node: JsonObject,
    relation: Relation | Relation[],
    more: JsonObject[] = [],
  ): Promise<Described & { texts: string[] }> {
    const maps = await Promise.all([relation].flat().map((r) => this.cteMap(r)));
    const cteMap = maps.length === 1 ? maps[0] : { map: maps.flatMap((m) => (m as { map: unknown[] }).map) };
    const [sql, ...texts] = await this.texts([{ ...node, cte_map: cteMap }, ...more]);
    let prepared: Awaited<ReturnType<DuckDBConnection['prepare']>>;
    try {
      prepared = await this.con.prepare(sql);
    } catch (err) {
      throw new Decline(`DuckDB does not bind it: ${(err as Error).message.split('\n')[0]}`);
    }
    try {
      const n = prepared.columnCount;
      return {
        names: Array.from({ length: n }, (_, i) => prepared.columnName(i)),
        types: Array.from({ length: n }, (_, i) => prepared.columnType(i).toString()),
        texts,
      };
    } finally {
      prepared.destroySync();
    }
  }

  /** Each printed text parses back to the tree it was printed from (nothing lost in printing). */
  async checkPrinted(printed: { node: JsonObject; sql: string }[]): Promise<void> {
    const params = printed.map((_, i) => `json_serialize_sql($${i + 1}::VARCHAR)`).join(', ');
    const reader = await this.con.runAndReadAll(
      `SELECT ${params}`,
      printed.map((p) => p.sql),
    );
    const row = reader.getRows()[0];
    printed.forEach((p, i) => {
      const again = nodeOf(parseTreeText(String(row[i])));
      if (treeKey(again) !== treeKey(p.node))
        throw new Decline('the rewritten query does not print back to itself');
    });
  }

  /** `cast_type` trees of DuckDB type texts. */
  async castTypes(types: string[]): Promise<JsonObject[]> {
    const parsed = types.filter((t) => simpleCastType(t) === undefined);
    for (const t of parsed) if (!SAFE_TYPE.test(t)) throw new Decline(`an unusual type ${t}`);
    const list =
      parsed.length === 0
        ? []
        : await this.selectList(`SELECT ${parsed.map((t) => `CAST(NULL AS ${t})`).join(', ')}`);
    return types.map((t) => simpleCastType(t) ?? (list[parsed.indexOf(t)]?.cast_type as JsonObject));
  }

  private async texts(nodes: JsonObject[]): Promise<string[]> {
    try {
      const params = nodes.map((_, i) => `json_deserialize_sql($${i + 1}::JSON)`).join(', ');
      const reader = await this.con.runAndReadAll(`SELECT ${params}`, nodes.map(statementJson));
      return reader.getRows()[0].map(String);
    } catch {
      throw new Decline('DuckDB cannot print the rewritten query');
    }
  }

  /** `WITH "name" AS (SELECT CAST(NULL AS type) AS "column", … LIMIT 0)`, as a cte_map. */
  private cteMap(relation: Relation): Promise<unknown> {
    const key = JSON.stringify(relation);
    let map = this.ctes.get(key);
    if (map === undefined) {
      map = this.readCteMap(relation);
      this.ctes.set(key, map);
    }
    return map;
  }

  private async readCteMap(relation: Relation): Promise<unknown> {
    for (const t of relation.types) if (!SAFE_TYPE.test(t)) throw new Decline(`an unusual type ${t}`);
    const columns = relation.columns.map((c, i) => `CAST(NULL AS ${relation.types[i]}) AS ${quoteIdent(c)}`);
    const tree = await serializedSql(
      this.con,
      `WITH ${quoteIdent(relation.name)} AS (SELECT ${columns.join(', ')} LIMIT 0) SELECT 1`,
    );
    const node = nodeOf(tree);
    if (!node) throw new Decline(`the types of ${relation.name} do not parse`);
    return node.cte_map;
  }

  private async selectList(sql: string): Promise<JsonObject[]> {
    const node = nodeOf(await serializedSql(this.con, sql));
    if (!node || !Array.isArray(node.select_list)) throw new Decline('types that do not parse');
    return node.select_list.filter(isJsonObject);
  }
}

/**
 * The cast_type of a one-word type (BIGINT, HUGEINT, DOUBLE, INTERVAL…) or DECIMAL(w,s), as
 * DuckDB's parser writes it; undefined for others (a wrong guess fails the print check).
 */
function simpleCastType(type: string): JsonObject | undefined {
  if (/^[A-Z]+$/.test(type)) return { id: type, type_info: null };
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(type);
  if (!decimal) return undefined;
  const [width, scale] = [Number(decimal[1]), Number(decimal[2])];
  return {
    id: 'DECIMAL',
    type_info: { type: 'DECIMAL_TYPE_INFO', alias: '', extension_info: null, width, scale },
  };
}

function nodeOf(parsed: unknown): JsonObject | undefined {
  const tree = withoutLocations(parsed);
  if (!isJsonObject(tree) || tree.error === true || !Array.isArray(tree.statements)) return undefined;
  const st = tree.statements[0];
  return isJsonObject(st) && isJsonObject(st.node) ? st.node : undefined;
}

const DOUBLE_MARK = '\u0000double:';

/**
 * JSON text of a SELECT tree as a whole statement for json_deserialize_sql. A DOUBLE or FLOAT
 * constant of integral value keeps its decimal point: JSON.parse read `1e9` as 1000000000,
 * which DuckDB reads back as an integer and refuses for a double.
 */
function statementJson(node: JsonObject): string {
  const mark = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(mark);
    if (!isJsonObject(x)) return x;
    const type = isJsonObject(x.type) ? x.type.id : undefined;
    if ((type === 'DOUBLE' || type === 'FLOAT') && typeof x.value === 'number') {
      const text = Object.is(x.value, -0) ? '-0' : String(x.value);
      return { ...x, value: /^-?\d+$/.test(text) ? `${DOUBLE_MARK}${text}.0` : x.value };
    }
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, mark(v)]));
  };
  const tree = { error: false, statements: [{ node: mark(node), named_param_map: [] }] };
  return JSON.stringify(tree).replace(/"\\u0000double:([-0-9.]+)"/g, '$1');
}
