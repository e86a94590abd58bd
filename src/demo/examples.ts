/**
 * The commands the demo prints once it is up. The README shows the same commands for the
 * default ports (a unit test keeps the two in step) and an integration test runs its curl
 * examples against a started demo.
 */
import { partSubject } from '../protocol/shards.js';

/** The seed's example: the 3-way join over labels whose name contains 'test'. */
export const JOIN_QUERY =
  'SELECT l.label_id, l.name, ls.sublabel_name, lu.url FROM labels l ' +
  'JOIN label_sublabels ls ON l.label_id = ls.label_id ' +
  'JOIN label_urls lu ON l.label_id = lu.label_id ' +
  "WHERE l.name LIKE '%test%' ORDER BY l.label_id, ls.sublabel_id, lu.url_id LIMIT 10";

export interface ExampleEndpoints {
  /** host:port of the coordinator. */
  coordinator: string;
  /** host:port of the labels data container. */
  labels: string;
  /** nats:// URL, when the demo runs over NATS. */
  nats?: string;
}

export const DEFAULT_ENDPOINTS: Required<ExampleEndpoints> = {
  coordinator: 'localhost:8000',
  labels: 'localhost:8001',
  nats: 'nats://127.0.0.1:4222',
};

function postQuery(coordinator: string, query: string): string {
  return `curl -s -X POST http://${coordinator}/query -H 'Content-Type: application/json' -d @- <<'EOF'
${JSON.stringify({ query })}
EOF`;
}

/** Shell commands against the HTTP endpoints: the tables, a count, the 3-way join, metadata, docs. */
export function curlExamples(e: ExampleEndpoints): string[] {
  return [
    `curl -s http://${e.coordinator}/`,
    postQuery(e.coordinator, 'SELECT count(*) AS labels FROM labels'),
    postQuery(e.coordinator, JOIN_QUERY),
    `curl -s http://${e.labels}/metadata`,
    `curl -sI http://${e.coordinator}/docs`,
  ];
}

/**
 * Direct scans over NATS: with the nats CLI, and with this project's `scan` command (which
 * reads every part of a split table). `part`: the tables are split, the nats CLI asks that part.
 */
export function natsExamples(nats: string, part?: number): string[] {
  const subject = part === undefined ? 'duckdb.labels.scan' : partSubject('labels', part, 'scan');
  return [
    `nats -s ${nats} micro ls`,
    `nats -s ${nats} req --replies=0 --timeout=2s ${subject} '{"columns":["label_id","name"],"limit":3}'`,
    `node dist/cli.js scan labels --columns label_id,name --where "name LIKE '%test%'" --limit 3 --nats ${nats}`,
  ];
}

/** With `--tpch`: the tables, a count, TPC-H Q3 (3 tables, filters on two), the distributed plan's stats. */
export function tpchCurlExamples(coordinator: string): string[] {
  return [
    `curl -s http://${coordinator}/`,
    postQuery(coordinator, 'SELECT count(*) AS lineitems FROM lineitem'),
    postQuery(
      coordinator,
      'SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate, o_shippriority ' +
        'FROM customer, orders, lineitem ' +
        "WHERE c_mktsegment = 'BUILDING' AND c_custkey = o_custkey AND l_orderkey = o_orderkey " +
        "AND o_orderdate < DATE '1995-03-15' AND l_shipdate > DATE '1995-03-15' " +
        'GROUP BY l_orderkey, o_orderdate, o_shippriority ORDER BY revenue DESC, o_orderdate LIMIT 10',
    ),
  ];
}
