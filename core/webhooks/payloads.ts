/**
 * What the routes accept and how a stored body becomes typed values. The same functions run at
 * the door (to answer 4xx naming the field) and in the processor (to build warehouse rows), so a
 * stream frame and a `/uw` POST of the same event are one thing.
 */
import { hash } from 'node:crypto';
import { z } from 'zod';

// ---------- coercion ----------

/** A number, a numeric string ("7.15"), or "" / null (→ null). */
export const looseNumber = z.preprocess((v) => {
  if (v === '' || v === null || v === undefined) return null;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return v;
}, z.number({ error: 'expected a number or a numeric string' }).finite().nullable());

/** Epoch seconds / milliseconds / microseconds / nanoseconds (number or numeric string) or an ISO time. */
export function toEpochMs(v: unknown): number | null {
  const ms = epochMsOf(v);
  // Past year 9999 (or before 1970) is no time a provider means, and the warehouse's TIMESTAMP could not hold it.
  return ms !== null && ms > 0 && ms <= MAX_EPOCH_MS ? ms : null;
}
const MAX_EPOCH_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function epochMsOf(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number' || (typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v))) {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) return null;
    if (n < 1e11) return Math.round(n * 1000);
    if (n < 1e14) return Math.round(n);
    if (n < 1e17) return Math.round(n / 1000);
    return Math.round(n / 1e6);
  }
  if (typeof v === 'string') {
    // A date-time without an offset is UTC (Date.parse would read it in this machine's time zone).
    const zoneless = ZONELESS_DATE_TIME.exec(v.trim());
    const t = Date.parse(zoneless ? `${zoneless[1]}T${zoneless[2]}Z` : v);
    return Number.isFinite(t) ? t : null;
  }
  return null;
}
const ZONELESS_DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)$/;

export const looseTime = z.preprocess(
  // A number that is no time (0, negative, past year 9999) must fail the check, not pass through as itself.
  (v) => (v === '' || v === null || v === undefined ? null : (toEpochMs(v) ?? (typeof v === 'number' ? Number.NaN : v))),
  z.number({ error: 'expected epoch ms/seconds or an ISO time such as 2025-11-04T14:35:00Z' }).nullable(),
);

const idLike = z
  .union([z.string().min(1).max(200), z.number()], { error: 'expected a string or number id' })
  .transform((v) => String(v));
const text = z.string({ error: 'expected a string' }).max(10_000);
const tickerField = z
  .string({ error: 'expected a ticker string' })
  .trim()
  .min(1, 'expected a ticker')
  .max(32)
  .transform((s) => s.toUpperCase());

/** One-shot hash: a third of createHash's cost per call, which matters on the webhook ack path. */
export function sha256(data: string | Buffer): string {
  return hash('sha256', data, 'hex');
}

// ---------- issues ----------

export interface FieldIssue {
  path: (string | number)[];
  message: string;
  hint?: string;
}

export function zodIssues(issues: readonly z.core.$ZodIssue[], prefix: (string | number)[] = []): FieldIssue[] {
  return issues.slice(0, 20).map((i) => {
    const path = [...prefix, ...i.path.map((p) => (typeof p === 'number' ? p : String(p)))];
    const where = path.length > 0 ? path.join('.') : 'the body';
    let hint: string;
    switch (i.code) {
      case 'invalid_type':
        // Our own messages say what is accepted ("expected epoch ms/seconds or an ISO time…"); zod's only name a type.
        hint = i.message.startsWith('expected ')
          ? `send ${where} as ${i.message.slice('expected '.length)}`
          : `send ${i.expected} for ${where}`;
        break;
      case 'too_small':
      case 'too_big':
        hint = sizeHint(i, where);
        break;
      case 'unrecognized_keys':
        hint = 'remove the unknown fields';
        break;
      default:
        hint = `fix ${where}: ${i.message}`;
    }
    return { path, message: i.message, hint };
  });
}

function sizeHint(i: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, where: string): string {
  const small = i.code === 'too_small';
  const bound = small ? (i as z.core.$ZodIssueTooSmall).minimum : (i as z.core.$ZodIssueTooBig).maximum;
  const unit = i.origin === 'string' ? ' characters' : i.origin === 'array' || i.origin === 'set' ? ' items' : '';
  if (unit) return `${where} needs ${small ? 'at least' : 'at most'} ${String(bound)}${unit}`;
  return `${where} must be ${small ? '≥' : '≤'} ${String(bound)}`;
}

// ---------- Unusual Whales ----------

export const UW_TOPICS = ['option_trades', 'flow-alerts', 'gex', 'gex_strike', 'gex_strike_expiry', 'price', 'news'] as const;
export type UwKnownTopic = (typeof UW_TOPICS)[number];

const TOPIC_ALIASES: Record<string, string> = {
  option_trade: 'option_trades',
  'option-trades': 'option_trades',
  optiontrades: 'option_trades',
  flow_alerts: 'flow-alerts',
  flow_alert: 'flow-alerts',
  'flow-alert': 'flow-alerts',
  'gex-strike': 'gex_strike',
  'gex-strike-expiry': 'gex_strike_expiry',
  prices: 'price',
};

export function normaliseTopic(raw: string): { topic: string; channelTicker: string | null } {
  const [head, ...rest] = raw.trim().split(':');
  const lower = head.toLowerCase();
  // Own keys only: a topic named `constructor` or `__proto__` is just another unknown topic.
  const topic = Object.hasOwn(TOPIC_ALIASES, lower) ? TOPIC_ALIASES[lower] : lower;
  const suffix = rest.join(':').trim();
  return { topic, channelTicker: suffix ? suffix.toUpperCase() : null };
}

export const uwOptionTradeSchema = z
  .object({
    id: idLike.optional(),
    option_symbol: z.string().min(1).max(64).optional(),
    option_chain_id: z.string().min(1).max(64).optional(),
    option_chain: z.string().min(1).max(64).optional(),
    underlying_symbol: tickerField.optional(),
    ticker: tickerField.optional(),
    strike: looseNumber.optional(),
    expiry: z.string().max(32).nullish(),
    option_type: z.string().max(16).nullish(),
    price: looseNumber.optional(),
    size: looseNumber.optional(),
    premium: looseNumber.optional(),
    underlying_price: looseNumber.optional(),
    nbbo_bid: looseNumber.optional(),
    nbbo_ask: looseNumber.optional(),
    executed_at: looseTime,
    tags: z.array(z.string()).nullish(),
    exchange: z.string().max(32).nullish(),
    open_interest: looseNumber.optional(),
    volume: looseNumber.optional(),
    implied_volatility: looseNumber.optional(),
    delta: looseNumber.optional(),
    gamma: looseNumber.optional(),
    theta: looseNumber.optional(),
    vega: looseNumber.optional(),
  })
  .loose()
  .superRefine((v, ctx) => {
    if (!v.option_symbol && !v.option_chain_id && !v.option_chain) {
      ctx.addIssue({
        code: 'custom',
        path: ['option_symbol'],
        message: 'expected option_symbol (or option_chain_id / option_chain)',
      });
    }
    if (v.executed_at === null)
      ctx.addIssue({ code: 'custom', path: ['executed_at'], message: 'expected executed_at (epoch ms or ISO time)' });
  });

export const uwFlowAlertSchema = z
  .object({
    id: idLike.optional(),
    // Required, but it may come from the channel (flow-alerts:TSLA) or the contract: checked in resolveUw.
    ticker: tickerField.optional(),
    option_chain: z.string().max(64).nullish(),
    rule_id: z.string().max(200).nullish(),
    rule_name: z.string().max(200).nullish(),
    executed_at: looseTime.optional(),
    start_time: looseTime.optional(),
    end_time: looseTime.optional(),
    price: looseNumber.optional(),
    underlying_price: looseNumber.optional(),
    bid: looseNumber.optional(),
    ask: looseNumber.optional(),
    total_premium: looseNumber.optional(),
    total_size: looseNumber.optional(),
    total_ask_side_prem: looseNumber.optional(),
    total_bid_side_prem: looseNumber.optional(),
    volume: looseNumber.optional(),
    open_interest: looseNumber.optional(),
    trade_count: looseNumber.optional(),
    has_sweep: z.boolean().nullish(),
    has_floor: z.boolean().nullish(),
    has_multileg: z.boolean().nullish(),
  })
  .loose();

export const uwGexSchema = z
  .object({
    ticker: tickerField.optional(),
    timestamp: looseTime.refine((v) => v !== null, 'expected timestamp (epoch ms)'),
    price: looseNumber.optional(),
  })
  .loose();

export const uwGexStrikeSchema = z
  .object({
    ticker: tickerField.optional(),
    timestamp: looseTime.refine((v) => v !== null, 'expected timestamp (epoch ms)'),
    strike: looseNumber.refine((v) => v !== null, 'expected the strike'),
    expiry: z.string().max(32).nullish(),
    price: looseNumber.optional(),
  })
  .loose();

/** UW's `price:<TICKER>` channel sends `{close, time, vol}`; bridges often send `{ticker, price, timestamp}`. */
export const uwPriceSchema = z
  .object({
    ticker: tickerField.optional(),
    price: looseNumber.optional(),
    close: looseNumber.optional(),
    timestamp: looseTime.optional(),
    time: looseTime.optional(),
  })
  .loose();

export const uwNewsSchema = z
  .object({ id: idLike.optional(), headline: text.optional(), timestamp: looseTime.optional(), created_at: looseTime.optional() })
  .loose();

export const UW_SCHEMAS: Record<UwKnownTopic, z.ZodType> = {
  option_trades: uwOptionTradeSchema,
  'flow-alerts': uwFlowAlertSchema,
  gex: uwGexSchema,
  gex_strike: uwGexStrikeSchema,
  gex_strike_expiry: uwGexStrikeSchema.superRefine((v, ctx) => {
    if (!(v as { expiry?: string | null }).expiry)
      ctx.addIssue({ code: 'custom', path: ['expiry'], message: 'expected expiry (YYYY-MM-DD)' });
  }),
  price: uwPriceSchema,
  news: uwNewsSchema,
};

export interface UwEvent {
  topic: string;
  /** Channel as sent (e.g. gex_strike:SPY), or the topic. */
  channel: string;
  ticker: string | null;
  /** The payload as parsed by the topic's schema (numbers coerced), or the raw payload for other topics. */
  data: Record<string, unknown>;
  /** The raw payload object (for storage and hashing). */
  raw: unknown;
  known: boolean;
}

export type UwResolve =
  | { ok: true; event: UwEvent }
  | { ok: false; status: 400 | 422; code: string; message: string; issues: FieldIssue[] };

/**
 * Accepts `[channel, payload]` (the stream's frame), `{channel|topic|type, payload|data: {...}}`,
 * or a bare payload with `topic`/`type`. Unknown topics are kept generically.
 */
export function resolveUw(value: unknown): UwResolve {
  let channel: string | undefined;
  let payload: unknown;
  let prefix: (string | number)[] = [];
  if (Array.isArray(value)) {
    if (value.length !== 2 || typeof value[0] !== 'string') {
      return invalid(422, 'bad_frame', 'expected a [channel, payload] frame', [
        { path: [0], message: 'expected [channel, payload] with a channel string', hint: 'send ["option_trades", {...}]' },
      ]);
    }
    channel = value[0];
    payload = value[1];
    prefix = [1];
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const wrapped = obj.payload ?? obj.data;
    const name = obj.topic ?? obj.channel ?? obj.type;
    if (typeof name !== 'string' || name.trim() === '') {
      return invalid(422, 'topic_missing', 'expected a topic', [
        {
          path: ['topic'],
          message: 'expected a topic (or type/channel) string',
          hint: 'add "topic": "option_trades", or send a [channel, payload] frame',
        },
      ]);
    }
    channel = name;
    if (
      wrapped !== null &&
      typeof wrapped === 'object' &&
      !Array.isArray(wrapped) &&
      (obj.payload !== undefined || obj.data !== undefined) &&
      Object.keys(obj).length <= 3
    ) {
      payload = wrapped;
      prefix = [obj.payload !== undefined ? 'payload' : 'data'];
    } else {
      // Only the key that named the topic goes: a flow alert's own "type": "call" is data, and the same event must
      // hash the same whether it came as a frame or as a bare payload.
      const key = obj.topic != null ? 'topic' : obj.channel != null ? 'channel' : 'type';
      const { [key]: _named, ...rest } = obj;
      payload = rest;
    }
  } else {
    return invalid(422, 'bad_payload', 'expected a JSON object or a [channel, payload] array', [
      { path: [], message: 'expected a JSON object or array', hint: 'send {"topic": "...", ...} or ["channel", {...}]' },
    ]);
  }
  if (channel.length > 200)
    return invalid(422, 'bad_topic', 'topic is too long', [
      { path: prefix.length ? [0] : ['topic'], message: 'at most 200 characters' },
    ]);
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    return invalid(422, 'bad_payload', 'the payload must be a JSON object', [
      { path: prefix, message: 'expected an object', hint: 'the payload of a frame is a JSON object' },
    ]);
  }
  const { topic, channelTicker } = normaliseTopic(channel);
  const schema = Object.hasOwn(UW_SCHEMAS, topic) ? (UW_SCHEMAS as Record<string, z.ZodType>)[topic] : undefined;
  let data = payload as Record<string, unknown>;
  if (schema) {
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      return invalid(422, 'invalid_payload', `invalid ${topic} payload`, zodIssues(parsed.error.issues, prefix));
    }
    data = parsed.data as Record<string, unknown>;
  }
  const tickerRaw = data.ticker ?? data.underlying_symbol ?? data.symbol ?? channelTicker ?? occRoot(data);
  const ticker = typeof tickerRaw === 'string' && tickerRaw.trim() ? tickerRaw.trim().toUpperCase().slice(0, 32) : null;
  if (topic === 'flow-alerts' && ticker === null) {
    return invalid(422, 'invalid_payload', 'invalid flow-alerts payload', [
      {
        path: [...prefix, 'ticker'],
        message: 'expected the ticker',
        hint: 'add "ticker", send on a flow-alerts:<TICKER> channel, or give the contract as option_chain',
      },
    ]);
  }
  return { ok: true, event: { topic, channel, ticker, data, raw: payload, known: schema !== undefined } };
}

function invalid(status: 400 | 422, code: string, message: string, issues: FieldIssue[]): UwResolve {
  return { ok: false, status, code, message, issues };
}

/** Dedupe key: provider id, or ticker+expiry+strike+timestamp for GEX rows, else the content. */
export function uwDedupeKey(e: UwEvent, contentHash: string, signedId?: string): string {
  const d = e.data;
  const ts = typeof d.timestamp === 'number' ? d.timestamp : null;
  if (e.topic === 'gex_strike' || e.topic === 'gex_strike_expiry') {
    return `uw:${e.topic}:${e.ticker ?? ''}:${String(d.expiry ?? '')}:${String(d.strike)}:${ts}`;
  }
  if (e.topic === 'gex' && ts !== null) return `uw:gex:${e.ticker ?? ''}:${ts}`;
  if (d.id !== undefined && d.id !== null && d.id !== '') return `uw:${e.topic}:id:${String(d.id)}`;
  if (signedId) return `sw:${signedId}`;
  return `uw:${e.topic}:h:${contentHash}`;
}

/** An option trade or alert that names only its contract: the underlying is the OCC symbol's root. */
function occRoot(data: Record<string, unknown>): string | undefined {
  const sym = data.option_symbol ?? data.option_chain_id ?? data.option_chain;
  return typeof sym === 'string' ? parseOccSymbol(sym)?.root : undefined;
}

/** OCC symbol (TSLA251121C00460000) → root, expiry, type, strike. */
export function parseOccSymbol(sym: string): { root: string; expiry: string; type: 'call' | 'put'; strike: number } | null {
  const m = /^([A-Z.]{1,6}\d?)(\d{2})(\d{2})(\d{2})([CP])(\d{8})$/.exec(sym.replace(/\s+/g, '').toUpperCase());
  if (!m) return null;
  return { root: m[1], expiry: `20${m[2]}-${m[3]}-${m[4]}`, type: m[5] === 'C' ? 'call' : 'put', strike: Number(m[6]) / 1000 };
}

// ---------- TradingView ----------

export const TV_SECRET_FIELDS = ['secret', 'passphrase', 'key'] as const;

export type TradingViewBody = { format: 'json'; json: Record<string, unknown> } | { format: 'text'; text: string };

/**
 * JSON when the body is a JSON object; anything else (free text, a|b|c, broken template, JSON nested deeper than
 * MAX_JSON_DEPTH) is text. Integers beyond 2^53 (order ids) keep their digits: they are read as raw JSON, which
 * JSON.stringify writes back unchanged.
 */
export function parseTradingView(body: string): TradingViewBody {
  const t = body.trim();
  if (t.startsWith('{') && !jsonNestingExceeds(t)) {
    try {
      const json = JSON.parse(t, keepBigIntegers);
      if (json && typeof json === 'object' && !Array.isArray(json)) return { format: 'json', json };
    } catch {
      // a broken template: stored as text
    }
  }
  return { format: 'text', text: body };
}

function keepBigIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source)) {
    return JSON_WITH_RAW.rawJSON(context.source);
  }
  return value;
}

/** The digits of a number kept as raw JSON (see `parseTradingView`), or the value as it is. */
export function rawNumberText(v: unknown): unknown {
  return v !== null && typeof v === 'object' && JSON_WITH_RAW.isRawJSON(v) ? (v as { rawJSON: string }).rawJSON : v;
}

/** JSON.rawJSON / isRawJSON (V8 11.4+, Node 22) are not in TypeScript's lib yet. */
const JSON_WITH_RAW = JSON as JSON & { rawJSON(text: string): unknown; isRawJSON(v: unknown): boolean };

/** Deeper than this, a JSON body is refused (and a TradingView one kept as text): serialising it would overflow the stack. */
export const MAX_JSON_DEPTH = 64;

/** Whether JSON text nests objects/arrays deeper than `max` (a scan of the text, strings skipped). */
export function jsonNestingExceeds(text: string, max = MAX_JSON_DEPTH): boolean {
  if (text.length <= 2 * max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/** `NASDAQ:AAPL` → exchange NASDAQ, ticker AAPL; a plain ticker has no exchange. Upper case. */
export function splitTicker(value: string): { exchange: string | null; ticker: string } {
  const t = value.trim().toUpperCase();
  const m = EXCHANGE_PREFIXED.exec(t);
  return m ? { exchange: m[1], ticker: m[2] } : { exchange: null, ticker: t };
}
const EXCHANGE_PREFIXED = /^([A-Z][A-Z0-9_]{1,15}):(\S{1,32})$/;

export const tradingViewAlertSchema = z
  .object({
    ticker: z
      .preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string().max(64))
      .optional()
      .catch(undefined),
    exchange: z.string().max(32).optional().catch(undefined),
    interval: z
      .preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string().max(16))
      .optional()
      .catch(undefined),
    time: looseTime.optional().catch(null),
    timenow: looseTime.optional().catch(null),
    price: looseNumber.optional().catch(null),
    close: looseNumber.optional().catch(null),
    action: z.string().max(32).optional().catch(undefined),
    order_id: z
      .preprocess((v) => {
        const raw = rawNumberText(v);
        return typeof raw === 'number' ? String(raw) : raw;
      }, z.string().max(128))
      .optional()
      .catch(undefined),
    position_size: looseNumber.optional().catch(null),
    market_position: z.string().max(32).optional().catch(undefined),
    prev_market_position: z.string().max(32).optional().catch(undefined),
    contracts: looseNumber.optional().catch(null),
    message: z.string().max(10_000).optional().catch(undefined),
  })
  .loose();

/** `NASDAQ:TSLA`, `CME_MINI:ES1!`, `BINANCE:BTCUSDT.P` inside free text. */
const EXCHANGE_TICKER = /\b([A-Z][A-Z0-9_]{1,15}):([A-Z0-9][A-Z0-9.!_]{0,19})(?![A-Za-z0-9.!_])/;
/** `ticker=TSLA`, `symbol: TSLA`, `"ticker": "TSLA"` (a broken JSON template), `price = 452.31`, `action=buy`. */
const KEY_VALUE = /["']?\b(ticker|symbol|action|side|price|close)["']?\s*[=:]\s*["']?([A-Za-z0-9.:!_-]+)/gi;
const TICKER_FIELD = /^[A-Z][A-Z0-9]{0,5}(\.[A-Z])?$/;
const ACTION_WORDS = new Set(['buy', 'sell', 'long', 'short', 'exit', 'close', 'cover', 'flat']);
const ORDER_SENTENCE_WORDS = 8;
/** `@ 187.5` in an order sentence. */
const AT_PRICE = /@\s*\$?(\d+(?:\.\d+)?)(?![\d.])/;

export interface TextAlertFields {
  exchange: string | null;
  ticker: string | null;
  action: string | null;
  price: number | null;
}

/**
 * Best-effort fields of a text alert, for the feed and the alerts table (the text itself is always kept):
 * key=value pairs first, then `NASDAQ:TSLA`, then the fields of a|b|c / a,b,c bot formats — the ticker is
 * the first all-capitals field that is not an action word, the action the first buy/sell/long/short/… field.
 */
export function textAlertFields(text: string): TextAlertFields {
  const kv = new Map<string, string>();
  for (const m of text.matchAll(KEY_VALUE)) {
    const key = m[1].toLowerCase();
    if (!kv.has(key)) kv.set(key, m[2]);
  }
  const fields = text.split(/[|,;\t\n]/).map((f) => f.trim());
  let exchange: string | null = null;
  let ticker: string | null = null;
  const named = kv.get('ticker') ?? kv.get('symbol');
  const pair = EXCHANGE_TICKER.exec(named ?? text);
  if (pair) [exchange, ticker] = [pair[1], pair[2].replace(/\.+$/, '')];
  else if (named) ticker = named.toUpperCase().slice(0, 32);
  else ticker = fields.find((f) => TICKER_FIELD.test(f) && !ACTION_WORDS.has(f.toLowerCase())) ?? null;
  let action = kv.get('action') ?? kv.get('side') ?? fields.find((f) => ACTION_WORDS.has(f.toLowerCase())) ?? null;
  // A short order sentence ("BUY AAPL @ 187.5", "Short NVDA"): words, not fields. Only when an action word
  // is there, so that prose ("Price crossed above VWAP") does not turn a capitalised word into a ticker.
  const words = text.trim().split(/\s+/);
  const wordAction = words.length <= ORDER_SENTENCE_WORDS ? words.find((w) => ACTION_WORDS.has(w.toLowerCase())) : undefined;
  if (wordAction) {
    action ??= wordAction;
    ticker ??= words.find((w) => TICKER_FIELD.test(w) && !ACTION_WORDS.has(w.toLowerCase())) ?? null;
  }
  const price = Number(kv.get('price') ?? kv.get('close') ?? AT_PRICE.exec(text)?.[1] ?? Number.NaN);
  return { exchange, ticker, action: action?.toLowerCase().slice(0, 32) ?? null, price: Number.isFinite(price) ? price : null };
}
