/**
 * The web console at /ui: an SQL editor (CodeMirror), the tables and their columns, results
 * streamed into a virtualized grid, per-table stats, the distributed plan (EXPLAIN), cancel,
 * and downloads. `/ui?q=<sql>` runs the query when the page opens, so links can be shared.
 */
import { type SQLConfig, sql } from '@codemirror/lang-sql';
import { Compartment, EditorState } from '@codemirror/state';
import { keymap } from '@codemirror/view';
import { basicSetup, EditorView } from 'codemirror';
import {
  apiKey,
  cancelQuery,
  errorOf,
  listTables,
  postQuery,
  setApiKey,
  type TableInfo,
  Unauthorized,
} from './api.js';
import { readNdjson } from './ndjson.js';
import { ResultsGrid } from './results-grid.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const DEFAULT_SQL = 'SELECT * FROM labels LIMIT 100';
const language = new Compartment();
const grid = new ResultsGrid($('results'));
const status = $<HTMLSpanElement>('status');
const runButton = $<HTMLButtonElement>('run');
const cancelButton = $<HTMLButtonElement>('cancel');

let running: { controller: AbortController; id: string | null } | undefined;

function setStatus(text: string, kind: 'idle' | 'running' | 'ok' | 'error' = 'idle'): void {
  status.textContent = text;
  status.dataset.kind = kind;
}

function showTab(name: 'results' | 'plan' | 'stats'): void {
  for (const tab of document.querySelectorAll<HTMLElement>('[data-tab]')) {
    tab.classList.toggle('active', tab.dataset.tab === name);
  }
  for (const pane of document.querySelectorAll<HTMLElement>('[data-pane]')) {
    pane.hidden = pane.dataset.pane !== name;
  }
}

function currentSql(): string {
  const { main } = editor.state.selection;
  const selected = editor.state.sliceDoc(main.from, main.to).trim();
  return selected || editor.state.doc.toString().trim();
}

function askForKey(): void {
  const key = window.prompt(
    'This coordinator needs an API key (Authorization: Bearer). Key:',
    apiKey() ?? '',
  );
  if (key !== null) setApiKey(key.trim());
}

function renderStats(stats: unknown, elapsedMs: number, rows: number): void {
  const pane = $('stats');
  const tables = (stats as { tables?: Record<string, unknown>[] } | null)?.tables ?? [];
  const keys = [...new Set(tables.flatMap((t) => Object.keys(t)))];
  const head = `<tr>${keys.map((k) => `<th>${k}</th>`).join('')}</tr>`;
  const body = tables
    .map((t) => `<tr>${keys.map((k) => `<td>${escapeHtml(format(t[k]))}</td>`).join('')}</tr>`)
    .join('');
  pane.innerHTML =
    `<p>${rows.toLocaleString()} rows in ${elapsedMs.toFixed(1)} ms (until the last row reached this page)</p>` +
    (tables.length ? `<table class="stats">${head}${body}</table>` : '<p>No table was scanned.</p>');
}

function format(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function shareInUrl(text: string): void {
  const url = new URL(window.location.href);
  url.searchParams.set('q', text);
  window.history.replaceState(null, '', url);
}

async function run(): Promise<void> {
  const text = currentSql();
  if (!text || running) return;
  shareInUrl(text);
  const controller = new AbortController();
  running = { controller, id: null };
  runButton.disabled = true;
  cancelButton.disabled = false;
  grid.reset();
  showTab('results');
  setStatus('running…', 'running');
  const started = performance.now();
  try {
    const response = await postQuery(text, 'application/x-ndjson', controller.signal);
    if (!response.ok || !response.body) {
      const err = await errorOf(response);
      throw new Error(`${err.error}: ${err.message}`);
    }
    running.id = response.headers.get('x-query-id');
    const columns = response.headers.get('x-query-columns');
    grid.reset(columns ? (JSON.parse(columns) as string[]) : []);
    const stats = JSON.parse(response.headers.get('x-query-stats') ?? 'null') as unknown;
    let lastPaint = 0;
    await readNdjson(response.body, (rows) => {
      grid.append(rows);
      const now = performance.now();
      if (now - lastPaint > 100) {
        lastPaint = now;
        setStatus(`running… ${grid.rowCount.toLocaleString()} rows`, 'running');
      }
    });
    const elapsed = performance.now() - started;
    setStatus(`${grid.rowCount.toLocaleString()} rows in ${elapsed.toFixed(1)} ms`, 'ok');
    renderStats(stats, elapsed, grid.rowCount);
  } catch (err) {
    if (controller.signal.aborted)
      setStatus(`cancelled after ${grid.rowCount.toLocaleString()} rows`, 'error');
    else if (err instanceof Unauthorized) {
      setStatus(err.message, 'error');
      askForKey();
    } else if (err instanceof TypeError) {
      // fetch's own failure: the connection broke, or the server cut a failing stream.
      setStatus(`the answer was cut after ${grid.rowCount.toLocaleString()} rows: the query failed`, 'error');
    } else setStatus((err as Error).message, 'error');
  } finally {
    running = undefined;
    runButton.disabled = false;
    cancelButton.disabled = true;
  }
}

function cancel(): void {
  if (!running) return;
  if (running.id) void cancelQuery(running.id);
  running.controller.abort();
}

async function explain(): Promise<void> {
  const text = currentSql();
  if (!text) return;
  showTab('plan');
  const pane = $('plan');
  pane.textContent = 'planning…';
  try {
    const response = await postQuery(text, 'application/json', undefined, { explain: true });
    const body = response.ok ? await response.json() : await errorOf(response);
    pane.textContent = JSON.stringify(body, null, 2);
  } catch (err) {
    pane.textContent = (err as Error).message;
    if (err instanceof Unauthorized) askForKey();
  }
}

async function download(accept: string, extension: string): Promise<void> {
  const text = currentSql();
  if (!text) return;
  setStatus(`preparing ${extension}…`, 'running');
  try {
    const response = await postQuery(text, accept);
    if (!response.ok) {
      const err = await errorOf(response);
      throw new Error(`${err.error}: ${err.message}`);
    }
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = `result.${extension}`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setStatus(`downloaded result.${extension}`, 'ok');
  } catch (err) {
    setStatus((err as Error).message, 'error');
    if (err instanceof Unauthorized) askForKey();
  }
}

function renderTables(tables: TableInfo[]): void {
  const list = $('tables');
  list.replaceChildren(
    ...tables.map((t) => {
      const item = document.createElement('details');
      item.className = 'table';
      const summary = item.appendChild(document.createElement('summary'));
      summary.textContent = t.name;
      const parts =
        t.parts && `${t.parts.length} parts (replicas ${t.parts.map((p) => p.replicas).join(', ')})`;
      summary.title = [
        t.row_count !== undefined ? `${t.row_count} rows` : '',
        t.transport,
        t.source,
        parts,
        t.error,
      ]
        .filter(Boolean)
        .join(' · ');
      if (t.error) summary.classList.add('unavailable');
      summary.addEventListener('dblclick', () => insert(t.name));
      for (const c of t.columns) {
        const column = item.appendChild(document.createElement('div'));
        column.className = 'column';
        column.innerHTML = `<span>${escapeHtml(c.name)}</span><span class="type">${escapeHtml(c.type)}</span>`;
        column.addEventListener('dblclick', () => insert(c.name));
      }
      return item;
    }),
  );
  const schema: SQLConfig['schema'] = Object.fromEntries(
    tables.map((t) => [t.name, t.columns.map((c) => c.name)]),
  );
  editor.dispatch({ effects: language.reconfigure(sql({ schema, upperCaseKeywords: true })) });
}

function insert(text: string): void {
  editor.dispatch(editor.state.replaceSelection(text));
  editor.focus();
}

async function loadTables(): Promise<void> {
  try {
    renderTables(await listTables());
  } catch (err) {
    $('tables').textContent = (err as Error).message;
    if (err instanceof Unauthorized) {
      askForKey();
      if (apiKey()) await loadTables();
    }
  }
}

function runFromKey(): boolean {
  void run();
  return true;
}

const runKeys = keymap.of([
  { key: 'Mod-Enter', run: runFromKey, preventDefault: true },
  { key: 'Shift-Enter', run: runFromKey, preventDefault: true },
]);

const initial = new URL(window.location.href).searchParams.get('q');
const editor = new EditorView({
  parent: $('editor'),
  state: EditorState.create({
    doc: initial ?? DEFAULT_SQL,
    extensions: [runKeys, basicSetup, EditorView.lineWrapping, language.of(sql({ upperCaseKeywords: true }))],
  }),
});

runButton.addEventListener('click', () => void run());
cancelButton.addEventListener('click', cancel);
$('explain').addEventListener('click', () => void explain());
$('download-csv').addEventListener('click', () => void download('text/csv', 'csv'));
$('download-arrow').addEventListener(
  'click',
  () => void download('application/vnd.apache.arrow.stream', 'arrow'),
);
$('key').addEventListener('click', askForKey);
for (const tab of document.querySelectorAll<HTMLElement>('[data-tab]')) {
  tab.addEventListener('click', () => showTab(tab.dataset.tab as 'results' | 'plan' | 'stats'));
}
void loadTables().then(() => {
  if (initial) void run();
});
