/**
 * Contract for the webhooks capability: the listener's state, the inbox (every accepted event,
 * raw), the rejected log, dead letters, replay, the TradingView setup and the latest GEX snapshot.
 * Times are ISO strings; ids are the inbox row ids (numbers).
 */
import { z } from 'zod';
import { timeInputSchema } from './cache';
import { event, method } from './define';

export const webhookSourceSchema = z.enum(['tradingview', 'uw', 'uw-stream', 'gex', 'gex_history_url', 'test']);
export type WebhookSource = z.infer<typeof webhookSourceSchema>;

/** pending: waiting for the processor; done: in its warehouse table; failed: will be retried; dead: parked. */
export const inboxStatusSchema = z.enum(['pending', 'done', 'failed', 'dead']);
export type InboxStatus = z.infer<typeof inboxStatusSchema>;

export const webhookEventSummarySchema = z.object({
  id: z.number(),
  source: z.string(),
  route: z.string(),
  /** option_trades, flow-alerts, gex, gex_strike, gex_strike_expiry, price, news, alert (TradingView), snapshot (/gex)… */
  topic: z.string().nullable(),
  symbol: z.string().nullable(),
  receivedAt: z.string(),
  status: inboxStatusSchema,
  attempts: z.number(),
  error: z.string().nullable(),
  /** Size of the stored body in bytes. */
  size: z.number(),
});
export type WebhookEventSummary = z.infer<typeof webhookEventSummarySchema>;

export const webhookEventDetailSchema = webhookEventSummarySchema.extend({
  contentType: z.string().nullable(),
  /** Relevant request headers (never Authorization or signatures' secrets). */
  headers: z.record(z.string(), z.string()),
  /** The stored body as text (secrets stripped from TradingView JSON). */
  body: z.string(),
  /** The body parsed as JSON when it is JSON, else null: pretty-print this. */
  json: z.unknown().nullable(),
  dedupeKey: z.string(),
  contentHash: z.string(),
  processedAt: z.string().nullable(),
  /** Warehouse table the processor wrote to (alerts, option_trades, …), when done. */
  table: z.string().nullable(),
});
export type WebhookEventDetail = z.infer<typeof webhookEventDetailSchema>;

export const rejectedRequestSchema = z.object({
  id: z.number(),
  receivedAt: z.string(),
  route: z.string(),
  source: z.string().nullable(),
  remote: z.string().nullable(),
  /** HTTP status answered (400, 401, 409, 413, 415, 422, 429). */
  status: z.number(),
  /** Machine code, e.g. bad_signature, body_too_large, invalid_payload, rate_limited. */
  code: z.string(),
  message: z.string(),
  issues: z.array(
    z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string(), hint: z.string().optional() }),
  ),
  contentType: z.string().nullable(),
  bodySize: z.number(),
  /** First 2 KiB of the body, for diagnosis (secrets masked). */
  bodyExcerpt: z.string(),
});
export type RejectedRequest = z.infer<typeof rejectedRequestSchema>;

/** The Unusual Whales stream connector's state (mirrors UwStreamStatus in core/webhooks/uw-stream). */
export const uwStreamStatusSchema = z.object({
  enabled: z.boolean(),
  /** refused: UW refused the token (401/403); nothing is dialled until the token changes or `webhooks.streamReconnect`. */
  state: z.enum(['disabled', 'connecting', 'open', 'backoff', 'refused', 'stopped']),
  url: z.string(),
  channels: z.array(z.string()),
  joinedChannels: z.array(z.string()),
  framesReceived: z.number(),
  framesAccepted: z.number(),
  framesDuplicate: z.number(),
  framesRejected: z.number(),
  lastFrameAt: z.string().nullable(),
  connectedAt: z.string().nullable(),
  lastError: z.string().nullable(),
  lastErrorAt: z.string().nullable(),
  reconnectAttempts: z.number(),
  nextRetryAt: z.string().nullable(),
});
export type UwStreamStatus = z.infer<typeof uwStreamStatusSchema>;

export const webhookListenerStatusSchema = z.object({
  listening: z.boolean(),
  /** e.g. http://127.0.0.1:8787, null when not listening. */
  url: z.string().nullable(),
  host: z.string(),
  port: z.number().nullable(),
  /** secret: WEBHOOK_SECRET set; loopback-only: no secret, only local un-forwarded requests accepted. */
  authMode: z.enum(['secret', 'loopback-only']),
  eventsPerMinute: z.number(),
  acceptedSinceStart: z.number(),
  duplicatesSinceStart: z.number(),
  rejectedSinceStart: z.number(),
  lastEventAt: z.string().nullable(),
  errors: z.number(),
  lastError: z.string().nullable(),
  inbox: z.object({ pending: z.number(), failed: z.number(), dead: z.number(), done: z.number() }),
  rejectedTotal: z.number(),
  stream: uwStreamStatusSchema.nullable(),
});
export type WebhookListenerStatus = z.infer<typeof webhookListenerStatusSchema>;

export const gexStrikePointSchema = z.object({
  strike: z.number(),
  gexVol: z.number().nullable(),
  gexOi: z.number().nullable(),
});

export const gexSnapshotViewSchema = z.object({
  ticker: z.string(),
  /** full | zero | one (gexbot) or uw (built from Unusual Whales strike rows). */
  category: z.string(),
  source: z.string(),
  ts: z.string(),
  spot: z.number().nullable(),
  zeroGamma: z.number().nullable(),
  majorPosVol: z.number().nullable(),
  majorPosOi: z.number().nullable(),
  majorNegVol: z.number().nullable(),
  majorNegOi: z.number().nullable(),
  strikes: z.array(gexStrikePointSchema),
});
export type GexSnapshotView = z.infer<typeof gexSnapshotViewSchema>;

const page = {
  limit: z.number().int().min(1).max(1000).default(100),
  /** Paging cursor: return rows with id < before (pass the previous page's nextBefore). */
  before: z.number().int().positive().optional(),
};

export const webhooksMethods = {
  'webhooks.status': method(
    'Webhook listener state, inbox counts and UW stream state',
    z.object({}).strict(),
    webhookListenerStatusSchema,
  ),
  'webhooks.events': method(
    'Recent inbox events, newest first, filtered by source/topic/symbol/status/time',
    z
      .object({
        source: z.string().optional(),
        topic: z.string().optional(),
        symbol: z.string().optional(),
        status: inboxStatusSchema.optional(),
        /** ISO time or epoch ms bounds on received_at. */
        from: timeInputSchema.optional(),
        to: timeInputSchema.optional(),
        ...page,
      })
      .strict()
      .refine((v) => v.from === undefined || v.to === undefined || v.from <= v.to, {
        message: '"from" must not be after "to"',
        path: ['from'],
      }),
    z.object({ items: z.array(webhookEventSummarySchema), nextBefore: z.number().nullable() }),
  ),
  'webhooks.event': method(
    'One inbox event with its raw payload',
    z.object({ id: z.number().int().positive() }).strict(),
    webhookEventDetailSchema,
  ),
  'webhooks.rejected': method(
    'Rejected requests (auth, size, content type, schema, rate) with the reason, newest first',
    z.object({ route: z.string().optional(), ...page }).strict(),
    z.object({ items: z.array(rejectedRequestSchema), nextBefore: z.number().nullable() }),
  ),
  'webhooks.deadLetters': method(
    'Events the processor gave up on after retries (raw event kept), newest first',
    z.object({ ...page }).strict(),
    z.object({ items: z.array(webhookEventSummarySchema), nextBefore: z.number().nullable() }),
  ),
  'webhooks.reprocess': method(
    'Re-process stored events (replay) without duplicating rows: given ids, or every dead letter',
    z
      .object({ ids: z.array(z.number().int().positive()).max(10_000).optional(), allDead: z.boolean().optional() })
      .strict()
      .refine((v) => (v.ids?.length ?? 0) > 0 || v.allDead === true, { message: 'give ids or allDead: true' }),
    z.object({ queued: z.number() }),
  ),
  'webhooks.sendTest': method(
    'Send a test event through the real listener (HTTP, auth and all) and report the answer',
    z.object({ kind: z.enum(['tradingview', 'uw', 'gex']).default('tradingview') }).strict(),
    z.object({ status: z.number(), id: z.number().nullable(), duplicate: z.boolean(), message: z.string() }),
  ),
  'webhooks.tradingViewSetup': method(
    'Ready-to-paste TradingView webhook URL and JSON alert message template',
    z.object({ reveal: z.boolean().default(false) }).strict(),
    z.object({
      /** Public base (WEBHOOK_PUBLIC_URL, your tunnel) or the local listener address. */
      baseUrl: z.string(),
      /** The URL to paste into TradingView (token in the path; masked unless reveal). */
      url: z.string(),
      /** JSON alert message template using TradingView placeholders. */
      template: z.string(),
      secretConfigured: z.boolean(),
      notes: z.array(z.string()),
    }),
  ),
  'webhooks.gexTickers': method(
    'Tickers with GEX data and the time of their latest snapshot',
    z.object({}).strict(),
    z.object({ items: z.array(z.object({ ticker: z.string(), category: z.string(), source: z.string(), ts: z.string() })) }),
  ),
  'webhooks.gexLatest': method(
    'Latest GEX snapshot of a ticker: gamma by strike, spot and zero gamma',
    z.object({ ticker: z.string().trim().min(1).max(16), category: z.string().optional() }).strict(),
    z.object({ snapshot: gexSnapshotViewSchema.nullable() }),
  ),
};

export const webhooksEvents = {
  /** Batched per group commit: every event just committed to the inbox (not duplicates). */
  'webhooks.event': event(
    'Events just accepted into the inbox (live feed)',
    z.object({ events: z.array(webhookEventSummarySchema) }),
  ),
  'webhooks.status': event('Listener / inbox state changed (at most about once a second)', webhookListenerStatusSchema),
};

// ---------------------------------------------------------------------------------------------------------------
// Unusual Whales stream connector (issue 4 point 3). Handlers: core/webhooks/uw-stream-service.ts.
// Spread into the contract in contract.ts next to webhooksMethods / webhooksEvents.
// ---------------------------------------------------------------------------------------------------------------

export const uwStreamMethods = {
  'webhooks.streamStatus': method(
    'Unusual Whales stream: state, joined channels, frames, last error, reconnects',
    z.object({}).strict(),
    uwStreamStatusSchema,
  ),
  'webhooks.streamReconnect': method(
    'Unusual Whales stream: dial again now with the current settings (after a refused token, or to skip a backoff wait)',
    z.object({}).strict(),
    uwStreamStatusSchema,
  ),
};

export const uwStreamEvents = {
  /** On every state change at once; counters at most once a second. */
  'webhooks.stream': event('Unusual Whales stream status changed', uwStreamStatusSchema),
};
