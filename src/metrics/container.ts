/** What a data container counts: scans in flight and done, rows and bytes sent, its table's size and load time. */
import { Counter, Gauge } from 'prom-client';

const inFlight = new Gauge({
  name: 'duckdb_s3_scans_in_flight',
  help: 'Scans this container is running now',
  labelNames: ['table'],
});

const scans = new Counter({
  name: 'duckdb_s3_scans_total',
  help: 'Scans run, by table and status (ok, error, cancelled)',
  labelNames: ['table', 'status'],
});

const rowsSent = new Counter({
  name: 'duckdb_s3_scan_rows_total',
  help: 'Rows sent by scans, by table',
  labelNames: ['table'],
});

const bytesSent = new Counter({
  name: 'duckdb_s3_scan_bytes_total',
  help: 'Payload bytes of data frames sent by scans, by table',
  labelNames: ['table'],
});

const tableRows = new Gauge({
  name: 'duckdb_s3_table_rows',
  help: 'Rows of the loaded table',
  labelNames: ['table'],
});

const loadSeconds = new Gauge({
  name: 'duckdb_s3_table_load_seconds',
  help: 'Time the table took to load from S3',
  labelNames: ['table'],
});

export function observeTableLoaded(table: string, rows: number, loadTimeMs: number): void {
  tableRows.set({ table }, rows);
  loadSeconds.set({ table }, loadTimeMs / 1000);
}

/** One scan: `ok()` once its end frame is sent, `done()` when it stops, whatever the way. */
export function observeScan(table: string): {
  ok(rows: number, bytes: number): void;
  done(aborted: boolean): void;
} {
  inFlight.inc({ table });
  let ended = false;
  return {
    ok(rows, bytes) {
      ended = true;
      rowsSent.inc({ table }, rows);
      bytesSent.inc({ table }, bytes);
    },
    done(aborted) {
      inFlight.dec({ table });
      scans.inc({ table, status: ended ? 'ok' : aborted ? 'cancelled' : 'error' });
    },
  };
}
