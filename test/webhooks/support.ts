/** Helpers for webhook tests: real HTTP to the real listener on 127.0.0.1, fixtures, signatures. */
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import type { Workstation } from '../../core/workstation';

export const FIXTURES = '/work/shared/fixtures/webhooks';

const cache = new Map<string, string>();

export function fixture(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(`${FIXTURES}/${name}`, 'utf8');
    cache.set(name, text);
  }
  return text;
}

export function fixtureJson<T = unknown>(name: string): T {
  return JSON.parse(fixture(name)) as T;
}

export interface Answer {
  status: number;
  json: {
    ok?: boolean;
    id?: number;
    duplicate?: boolean;
    jobId?: string;
    error?: { code: string; message: string; issues: { path: (string | number)[]; message: string; hint?: string }[] };
  };
  headers: Headers;
}

export function listenerUrl(ws: Workstation): string {
  const url = ws.webhooks.url();
  if (!url) throw new Error(`webhook listener is not listening: ${ws.webhooks.status().lastError}`);
  return url;
}

export async function post(
  ws: Workstation | string,
  path: string,
  body: string | Buffer,
  options: { contentType?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const base = typeof ws === 'string' ? ws : listenerUrl(ws);
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  const ct = options.contentType === undefined ? 'application/json' : options.contentType;
  if (ct !== null) headers['content-type'] = ct;
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  const text = await res.text();
  let json: Answer['json'] = {};
  try {
    json = JSON.parse(text);
  } catch {
    json = {};
  }
  return { status: res.status, json, headers: res.headers };
}

/** Standard Webhooks headers made with the reference `standardwebhooks` package. */
export function signedHeaders(secret: string, body: string, options: { id?: string; at?: Date } = {}): Record<string, string> {
  const wh = new Webhook(secret, { format: 'raw' });
  const id = options.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  const at = options.at ?? new Date();
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': wh.sign(id, at, body),
  };
}

export async function count(ws: Workstation, table: string, where = ''): Promise<number> {
  const rows = await ws.stores.warehouse.rows<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM ${table} ${where}`);
  return rows[0].n;
}

export function inboxCount(ws: Workstation, where = ''): number {
  return (ws.stores.journal.db.prepare(`SELECT count(*) AS n FROM webhook_inbox ${where}`).get() as { n: number }).n;
}

export async function call<T = unknown>(ws: Workstation, method: string, input: unknown): Promise<T> {
  const res = await ws.dispatcher.call(method, input);
  if (!res.ok) throw new Error(`${method} failed: ${res.error.message}`);
  return res.result as T;
}

export const SECRET = 'test-secret-7f3a9c2e5b1d';
export const BASE_ENV = { WEBHOOK_PORT: '0', WEBHOOK_SECRET: SECRET };
