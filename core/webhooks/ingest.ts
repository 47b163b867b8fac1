/**
 * The door after authentication: validates a request's payload for its route, derives the topic,
 * symbol, dedupe key and content hash, and appends it to the inbox. Used by the HTTP routes and
 * by the Unusual Whales stream connector (same code path as `POST /uw`).
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { classicToRows, gexClassicSnapshotSchema } from '../gex';
import { AppError, secretEquals } from '../platform';
import type { InboxAppendResult, WebhookInbox } from './inbox';
import { checkPublicUrl } from './net';
import { gexCategory } from './normalise';
import {
  type FieldIssue,
  parseTradingView,
  resolveUw,
  sha256,
  splitTicker,
  textAlertFields,
  uwDedupeKey,
  zodIssues,
} from './payloads';

/** TradingView JSON fields never stored, whatever they hold. */
const TV_STRIPPED_FIELDS = new Set(['secret', 'passphrase']);

export class IngestError extends AppError {
  readonly issues: FieldIssue[];
  constructor(status: number, code: string, message: string, issues: FieldIssue[] = []) {
    super(code, message, { status, details: { issues } });
    this.issues = issues;
  }
}

export interface IngestMeta {
  source: string;
  route: string;
  headers: Record<string, string>;
  contentType: string | null;
  receivedAt: number;
  /** webhook-id of a verified Standard Webhooks signature (the idempotency key). */
  signedId?: string;
  /** WEBHOOK_SECRET: removed from what is stored wherever it appears in a TradingView body. */
  secret?: string;
}

export interface IngestSettings {
  dedupeWindowMs: number;
  allowPrivateUrls: boolean;
}

export type IngestResult = InboxAppendResult & { topic: string | null; symbol: string | null };

export class WebhookIngest {
  constructor(
    private readonly inbox: WebhookInbox,
    private readonly settings: () => IngestSettings,
    private readonly enqueueImport: (input: { url: string; category: string; source: string }) => {
      job: { id: string };
      created: boolean;
    },
    private readonly resolveHost?: (host: string) => Promise<string[]>,
  ) {}

  /** `/uw` and the stream: a `[channel, payload]` frame or a bare payload with a topic. */
  async uw(value: unknown, rawBody: string, meta: IngestMeta): Promise<IngestResult> {
    const r = resolveUw(value);
    if (!r.ok) throw new IngestError(r.status, r.code, r.message, r.issues);
    const e = r.event;
    const contentHash = sha256(JSON.stringify(e.raw));
    const dedupeKey = uwDedupeKey(e, contentHash, meta.signedId);
    const res = await this.inbox.append({
      source: meta.source,
      route: meta.route,
      topic: e.topic,
      symbol: e.ticker,
      headers: meta.headers,
      contentType: meta.contentType,
      body: rawBody,
      receivedAt: meta.receivedAt,
      dedupeKey,
      contentHash,
      sameContent: (stored) => {
        const before = resolveUw(parseJson(stored));
        return before.ok && isDeepStrictEqual(before.event.raw, e.raw);
      },
    });
    return { ...res, topic: e.topic, symbol: e.ticker };
  }

  /** TradingView: JSON (secrets already checked by the route, stripped here) or text, never refused for content. */
  async tradingView(rawBody: string, meta: IngestMeta): Promise<IngestResult> {
    const parsed = parseTradingView(rawBody);
    let body = rawBody;
    let symbol: string | null;
    if (parsed.format === 'json') {
      const json = parsed.json;
      // `secret`/`passphrase` fields go (ours or another system's), and so does any field holding our secret
      // (`key`, `token`…); otherwise the body is kept byte for byte.
      const secretFields = Object.keys(json).filter(
        (k) => TV_STRIPPED_FIELDS.has(k.toLowerCase()) || (meta.secret !== undefined && secretEquals(json[k], meta.secret)),
      );
      if (secretFields.length > 0) {
        for (const f of secretFields) delete json[f];
        body = JSON.stringify(json);
      }
      const t = json.ticker ?? json.symbol;
      symbol = typeof t === 'string' || typeof t === 'number' ? splitTicker(String(t)).ticker.slice(0, 32) : null;
    } else {
      symbol = textAlertFields(rawBody).ticker;
    }
    // Anywhere else (`passphrase=… BUY AAPL`, a nested field), the secret is masked.
    if (meta.secret && body.includes(meta.secret)) body = body.split(meta.secret).join('********');
    const contentHash = sha256(body);
    const res = await this.inbox.append({
      source: meta.source,
      route: meta.route,
      topic: 'alert',
      symbol,
      headers: meta.headers,
      contentType: meta.contentType,
      body,
      receivedAt: meta.receivedAt,
      dedupeKey: meta.signedId ? `sw:${meta.signedId}` : `tv:${contentHash}:${meta.receivedAt}:${randomUUID()}`,
      contentHash,
      windowMs: meta.signedId ? undefined : this.settings().dedupeWindowMs,
      uniqueKey: !meta.signedId,
    });
    return { ...res, topic: 'alert', symbol };
  }

  /** `/gex`: one classic snapshot. */
  async gex(value: unknown, rawBody: string, meta: IngestMeta): Promise<IngestResult> {
    const parsed = gexClassicSnapshotSchema.safeParse(value);
    if (!parsed.success)
      throw new IngestError(422, 'invalid_payload', 'not a gexbot classic GEX snapshot', zodIssues(parsed.error.issues));
    const category = gexCategory(meta.route, value);
    const bundle = classicToRows(parsed.data, { source: 'gexbot', category });
    // Of the value, not the bytes: the same snapshot re-sent with other whitespace is a duplicate, not a 409.
    const contentHash = sha256(JSON.stringify(value));
    const res = await this.inbox.append({
      source: meta.source,
      route: meta.route,
      topic: 'snapshot',
      symbol: bundle.snapshot.ticker,
      headers: meta.headers,
      contentType: meta.contentType,
      body: rawBody,
      receivedAt: meta.receivedAt,
      dedupeKey: `gex:${bundle.snapshot.ticker}:${category}:${bundle.snapshot.tsMs}`,
      contentHash,
      sameContent: (stored) => isDeepStrictEqual(parseJson(stored), value),
    });
    return { ...res, topic: 'snapshot', symbol: bundle.snapshot.ticker };
  }

  /** `/gex_history_url`: queue a history import for a public http(s) URL. */
  async historyUrl(value: unknown, rawBody: string, meta: IngestMeta): Promise<IngestResult> {
    const input = typeof value === 'string' ? { url: value.trim() } : value;
    const parsed = historyRequestSchema.safeParse(input);
    if (!parsed.success)
      throw new IngestError(422, 'invalid_payload', 'expected {"url": "https://…"}', zodIssues(parsed.error.issues));
    const check = await checkPublicUrl(parsed.data.url, {
      allowPrivate: this.settings().allowPrivateUrls,
      resolve: this.resolveHost,
    });
    if (!check.ok) {
      throw new IngestError(422, 'url_refused', `URL refused: ${check.message}`, [
        { path: ['url'], message: check.message, hint: 'use a public http(s) URL' },
      ]);
    }
    const url = check.url.toString();
    const category = parsed.data.category ?? gexCategory(meta.route, null);
    const res = await this.inbox.append({
      source: meta.source,
      route: meta.route,
      topic: 'history_url',
      symbol: parsed.data.ticker ?? null,
      headers: meta.headers,
      contentType: meta.contentType,
      body: rawBody,
      receivedAt: meta.receivedAt,
      // Every request is kept; the import queue itself is idempotent by URL (an active job is reused).
      dedupeKey: `gexurl:${sha256(url)}:${meta.receivedAt}:${randomUUID()}`,
      contentHash: sha256(url),
      uniqueKey: true,
      withinCommit: () => {
        const { job, created } = this.enqueueImport({ url, category, source: 'webhook' });
        return { jobId: job.id, created };
      },
    });
    return { ...res, topic: 'history_url', symbol: parsed.data.ticker ?? null };
  }
}

/** A stored body as JSON, or undefined when it is not (then it is not the same event). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const historyRequestSchema = z
  .object({
    url: z.string({ error: 'expected the URL as a string' }).min(8).max(4096),
    ticker: z
      .string()
      .trim()
      .min(1)
      .max(16)
      .transform((s) => s.toUpperCase())
      .optional(),
    category: z.string().max(16).optional(),
    package: z.string().max(32).optional(),
  })
  .loose();
