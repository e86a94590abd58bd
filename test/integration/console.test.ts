/**
 * The web console as a user sees it: the page at /ui in headless Chromium (Debian's package),
 * against a coordinator over real NATS, S3 and data containers. Rows on screen are compared
 * with single-node DuckDB's.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalCluster, type ManagedProcess, startLocalCluster } from '../../src/tools/local-cluster.js';
import { singleNodeDuckDB } from '../../src/tools/single-node.js';
import { oracleAnswer } from '../helpers/oracle.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The flags a sandboxed, offline machine needs (no first-run, no background connections).
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let cluster: LocalCluster;
let coordinator: ManagedProcess;
let oracle: DuckDBConnection;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium`);
  cluster = await startLocalCluster({ labels: 2_000 });
  coordinator = await cluster.startCoordinator();
  oracle = await singleNodeDuckDB(cluster.sample.files);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  oracle?.closeSync();
  await cluster?.stop();
});

async function openConsole(query?: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const url = new URL('/ui', coordinator.url);
  if (query) url.searchParams.set('q', query);
  await page.goto(url.href);
  return page;
}

/** Waits until the query has ended, and says how: ok, error (cancel included). */
async function finished(page: Page): Promise<{ kind: string; text: string }> {
  const status = page.locator('#status');
  await expect.poll(() => status.getAttribute('data-kind'), { timeout: 30_000 }).toMatch(/^(ok|error)$/);
  return { kind: (await status.getAttribute('data-kind')) ?? '', text: (await status.textContent()) ?? '' };
}

async function gridRows(page: Page): Promise<number> {
  return Number(await page.locator('#results').getAttribute('data-rows'));
}

async function rowCells(page: Page, row: number): Promise<string[]> {
  return page.locator(`#results .row[data-row="${row}"] .cell`).allTextContents();
}

it('runs the query in its URL and shows the rows single-node DuckDB gives, in order', async () => {
  const sql =
    'SELECT l.label_id, l.name, count(*) AS urls FROM labels l JOIN label_urls lu ON l.label_id = lu.label_id ' +
    "WHERE l.name LIKE '%test%' GROUP BY ALL ORDER BY urls DESC, l.label_id";
  const expected = await oracleAnswer(oracle, sql);
  const page = await openConsole(sql);
  expect(await finished(page)).toMatchObject({ kind: 'ok' });
  expect(await gridRows(page)).toBe(expected.rows.length);
  expect(await page.locator('#results .grid-header .cell').allTextContents()).toEqual(expected.columns);
  for (const i of [0, 1, 2]) {
    const row = expected.rows[i] as Record<string, unknown>;
    expect(await rowCells(page, i)).toEqual(expected.columns.map((c) => String(row[c])));
  }
  // The tables and their columns are listed beside the editor.
  await expect
    .poll(() => page.locator('#tables summary').allTextContents())
    .toEqual(expect.arrayContaining(['labels', 'label_sublabels', 'label_urls']));
  await page.close();
});

it('keeps 100,000 rows in a virtualized grid: a few dozen in the page, the last one reachable', async () => {
  const page = await openConsole('SELECT range AS i, range * 2 AS twice FROM range(100000) ORDER BY i');
  expect(await finished(page)).toMatchObject({ kind: 'ok' });
  expect(await gridRows(page)).toBe(100_000);
  expect(await page.locator('#results .row').count()).toBeLessThan(200);
  await page.locator('#results .grid-viewport').evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
  await expect.poll(() => rowCells(page, 99_999)).toEqual(['99999', '199998']);
  await page.close();
});

it('runs what is typed with Ctrl-Enter, and shows a bad query’s error as the server words it', async () => {
  const page = await openConsole();
  await page.locator('#tables summary').first().waitFor();
  const editor = page.locator('#editor .cm-content');
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('SELECT count(*) AS n FROM label_sublabels');
  await page.keyboard.press('Control+Enter');
  expect(await finished(page)).toMatchObject({ kind: 'ok' });
  const expected = await oracleAnswer(oracle, 'SELECT count(*) AS n FROM label_sublabels');
  expect(await rowCells(page, 0)).toEqual([String((expected.rows[0] as { n: unknown }).n)]);
  // The query is now in the page's URL, so the link can be shared.
  expect(new URL(page.url()).searchParams.get('q')).toBe('SELECT count(*) AS n FROM label_sublabels');

  await page.keyboard.press('Control+A');
  await page.keyboard.type('SELECT nope FROM labels');
  await page.keyboard.press('Control+Enter');
  const failed = await finished(page);
  expect(failed.kind).toBe('error');
  expect(failed.text).toMatch(/nope/);
  await page.close();
});

it('cancels a running query, and the coordinator answers the next one', async () => {
  const page = await openConsole('SELECT count(*) FROM range(20000000000) a WHERE a.range % 7 = 3');
  await expect.poll(() => page.locator('#status').getAttribute('data-kind')).toBe('running');
  await page.click('#cancel');
  expect(await finished(page)).toMatchObject({ kind: 'error', text: expect.stringMatching(/cancelled/) });
  const response = await fetch(`${coordinator.url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'SELECT 42 AS answer' }),
    signal: AbortSignal.timeout(10_000),
  });
  expect(await response.json()).toMatchObject({ results: [{ answer: 42 }] });
  await page.close();
});

it('shows columns and predicates in any script (they travel in headers)', async () => {
  const sql =
    'SELECT name AS "名前", category FROM labels WHERE name <> \'日本語 ✓\' ORDER BY label_id LIMIT 3';
  const expected = await oracleAnswer(oracle, sql);
  const page = await openConsole(sql);
  expect(await finished(page)).toMatchObject({ kind: 'ok' });
  expect(await page.locator('#results .grid-header .cell').allTextContents()).toEqual(['名前', 'category']);
  expect(await gridRows(page)).toBe(expected.rows.length);
  await page.click('[data-tab="stats"]');
  await expect.poll(() => page.locator('#stats').textContent()).toContain('日本語 ✓');
  await page.close();
});

it('asks for the API key a coordinator wants, then lists its tables and runs queries with it', async () => {
  const key = 'console-test-key-0123456789';
  const keyFile = join(cluster.dir, 'console-api-keys');
  await writeFile(keyFile, `${key}\n`);
  const guarded = await cluster.startCoordinator(['--api-keys', keyFile]);
  const page = await browser.newPage();
  const asked: string[] = [];
  page.on('dialog', (dialog) => {
    asked.push(dialog.message());
    void dialog.accept(key);
  });
  await page.goto(new URL('/ui?q=SELECT%20count(*)%20AS%20n%20FROM%20labels', guarded.url).href);
  await expect.poll(() => page.locator('#tables summary').allTextContents()).toContain('labels');
  expect(asked.join('\n')).toMatch(/API key/);
  expect(await finished(page)).toMatchObject({ kind: 'ok' });
  const expected = await oracleAnswer(oracle, 'SELECT count(*) AS n FROM labels');
  expect(await rowCells(page, 0)).toEqual([String((expected.rows[0] as { n: unknown }).n)]);
  await page.close();
});

it('renders a page with content (a screenshot is not blank)', async () => {
  const page = await openConsole('SELECT * FROM labels ORDER BY label_id LIMIT 50');
  expect(await finished(page)).toMatchObject({ kind: 'ok' });
  const shot = await page.screenshot({ type: 'png' });
  // PNG header: width and height at bytes 16..24.
  expect([shot.readUInt32BE(16), shot.readUInt32BE(20)]).toEqual([1280, 800]);
  const blank = await (await browser.newPage({ viewport: { width: 1280, height: 800 } })).screenshot();
  // A page of text, editor and grid compresses far worse than an empty one.
  expect(shot.byteLength).toBeGreaterThan(blank.byteLength * 5);
  await page.close();
});
