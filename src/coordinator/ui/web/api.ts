/**
 * The coordinator's HTTP API as the console uses it. An API key, when the server asks for one
 * (401), is kept for this tab only (sessionStorage) and sent as a bearer token.
 */
const KEY_STORAGE = 'duckdb-s3-query.api-key';

export class Unauthorized extends Error {}

export interface QueryError {
  error: string;
  message: string;
}

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function setApiKey(key: string): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const key = apiKey();
  if (key) headers.set('authorization', `Bearer ${key}`);
  const response = await fetch(path, { ...init, headers });
  if (response.status === 401) throw new Unauthorized('this coordinator needs an API key');
  return response;
}

/** The error body of a failed answer, whatever the server managed to say. */
export async function errorOf(response: Response): Promise<QueryError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as Partial<QueryError>;
    if (body.message) return { error: body.error ?? `HTTP ${response.status}`, message: body.message };
  } catch {
    // not JSON: fall through
  }
  return { error: `HTTP ${response.status}`, message: text || response.statusText };
}

export function postQuery(sql: string, accept: string, signal?: AbortSignal, extra: object = {}) {
  return call('/query', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept },
    body: JSON.stringify({ query: sql, ...extra }),
    signal,
  });
}

export interface TableInfo {
  name: string;
  columns: { name: string; type: string }[];
  row_count?: number;
  transport?: string;
  source?: string;
  /** A split table's parts: how many replicas serve each. */
  parts?: { index: number; replicas: number; row_count: number }[];
  error?: string;
}

export async function listTables(): Promise<TableInfo[]> {
  const response = await call('/');
  if (!response.ok) throw new Error((await errorOf(response)).message);
  return ((await response.json()) as { tables: TableInfo[] }).tables;
}

/** Asks the coordinator to cancel a running query (its scans included); best effort. */
export async function cancelQuery(id: string): Promise<void> {
  await call(`/queries/${encodeURIComponent(id)}`, { method: 'DELETE' }).catch(() => undefined);
}
