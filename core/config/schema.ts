/**
 * Every setting Marketdesk knows, with its default and what a valid value looks like.
 * Values arrive as strings (env, .env) or JSON (settings file, UI): each field accepts both.
 * This module is browser-safe: the renderer's Settings page validates with the same schema.
 */
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';

const boolish = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const s = v.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
    return v;
  },
  z.boolean({ error: 'expected true or false' }),
);

const numberish = (schema: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === 'string' && DECIMAL.test(v.trim()) ? Number(v) : v), schema);
/** Decimal numbers only: Number() would also read '0x10', '0b1' and 'Infinity'. */
const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

const port = (what: string) =>
  numberish(
    z
      .number({ error: `expected a port number for ${what}` })
      .int('expected a whole number')
      .min(0)
      .max(65535),
  );

export const SYMBOL_PATTERN = /^[A-Z0-9][A-Z0-9.\-/]{0,14}$/;
export const symbolSchema = z
  .string()
  .trim()
  .toUpperCase()
  .regex(SYMBOL_PATTERN, 'expected a ticker symbol: letters, digits, ".", "-" or "/", no spaces');

/** A comma-separated string (env, .env) or an array (settings file, UI) as an array of trimmed, non-empty entries. */
const commaList = <T extends z.ZodType>(items: T) =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0)
        : v,
    items,
  );

const symbolList = commaList(z.array(symbolSchema).min(1, 'expected at least one symbol, comma-separated (e.g. NVDA,TSLA)'));

/** Each entry of a comma-separated list checked by `valid`; the message names the entry. */
const checkedList = (valid: (entry: string) => boolean, expected: string) =>
  commaList(z.array(z.string().refine(valid, { error: (issue) => `"${String(issue.input)}" is not ${expected}` })));

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** An IPv4/IPv6 address, optionally with a /prefix (browser-safe: no node:net here). */
export function isIpOrCidr(entry: string): boolean {
  const [addr, prefix, ...rest] = entry.split('/');
  if (rest.length > 0) return false;
  const v4 = IPV4.test(addr);
  let v6 = false;
  if (!v4 && addr.includes(':')) {
    try {
      new URL(`http://[${addr}]/`);
      v6 = true;
    } catch {
      v6 = false;
    }
  }
  if (!v4 && !v6) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (v4 ? 32 : 128);
}

/** An Unusual Whales channel: a name, optionally `:TICKER` (flow-alerts, option_trades:TSLA, gex_strike:SPY). */
export const UW_CHANNEL_PATTERN = /^[a-z][a-z0-9_-]*(:[A-Za-z0-9.\-/]{1,16})?$/;

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const CRON_FIELDS = ['minute', 'hour', 'day of month', 'month', 'weekday'] as const;
const MONTHS = 'jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec';
const WEEKDAYS = 'sun|mon|tue|wed|thu|fri|sat';
/**
 * What each field may hold: numbers, `*`, ranges, steps and lists (plus month and weekday names). The parser
 * used for next-run times also takes Jenkins/Quartz extras (`H`, `L`, `W`, `#`, `?`) that node-cron, which
 * fires the schedule, refuses — such an expression would be saved and then never fire.
 */
const CRON_FIELD_SYNTAX = [
  /^[\d*,/-]+$/,
  /^[\d*,/-]+$/,
  /^[\d*,/-]+$/,
  new RegExp(`^([\\d*,/-]|${MONTHS})+$`, 'i'),
  new RegExp(`^([\\d*,/-]|${WEEKDAYS})+$`, 'i'),
];

/** Five fields only (minute hour day-of-month month day-of-week), so the meaning is never ambiguous. */
export function cronProblem(expr: string, tz = 'UTC'): string | null {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return `expected 5 cron fields (minute hour day month weekday), got ${fields.length}`;
  const bad = fields.findIndex((f, i) => !CRON_FIELD_SYNTAX[i].test(f));
  if (bad >= 0)
    return `the ${CRON_FIELDS[bad]} field "${fields[bad]}" may hold only numbers, *, ranges (1-5), steps (*/15) and lists (1,15)${bad === 3 ? ' or names such as jan' : bad === 4 ? ' or names such as mon' : ''}`;
  try {
    CronExpressionParser.parse(expr, { tz });
    return null;
  } catch (err) {
    return `not a valid cron expression (${err instanceof Error ? err.message : String(err)})`;
  }
}

const cronSchema = z.string().superRefine((v, ctx) => {
  const problem = cronProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const timeZoneSchema = z.string().refine(isValidTimeZone, 'expected an IANA time zone such as America/New_York');

/** A DNS name (letters, digits, hyphens; dot-separated labels of at most 63) or an IP literal — what can be bound or dialled. */
export function isHostName(host: string): boolean {
  if (host.length > 253) return false;
  if (isIpOrCidr(host) && !host.includes('/')) return true;
  const labels = host.replace(/\.$/, '').split('.');
  // All-numeric labels (decimal or 0x hex, as inet_aton reads them) are a malformed IPv4 address, not a name.
  if (labels.every((l) => /^(\d+|0x[0-9a-f]*)$/i.test(l))) return false;
  return labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

const hostSchema = z
  .string()
  .trim()
  .min(1, 'expected a host name or IP address')
  .refine(isHostName, 'expected a host name (e.g. localhost) or an IP address (e.g. 127.0.0.1, ::1)');

export const settingsSchema = z.object({
  DATA_DIR: z.string().trim().min(1, 'expected a folder path'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  DEBUG_MODE: boolish.default(false),
  CACHE_ENABLED: boolish.default(true),
  CACHE_SYMBOLS: symbolList.default(['NVDA', 'TSLA']),
  CACHE_EXCHANGE: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^[A-Z0-9.]{2,16}$/, 'expected an exchange code such as NASDAQ, NYSE or ARCA')
    .default('NASDAQ'),
  CACHE_TTL_HOURS: numberish(
    z
      .number({ error: 'expected a number of hours' })
      .min(0, 'expected 0 or more hours')
      .max(87_600, 'expected at most 87600 hours (10 years)'),
  ).default(24),
  WORKFLOW_SCHEDULE: cronSchema.default('0 9 * * 1-5'),
  WORKFLOW_TIMEZONE: timeZoneSchema.default('America/New_York'),
  WORKFLOW_PAUSED: boolish.default(false),
  WORKFLOW_SKIP_HOLIDAYS: boolish.default(true),
  PIPELINE_TASK_RETRIES: numberish(
    z.number({ error: 'expected a whole number' }).int('expected a whole number').min(0).max(10),
  ).default(2),
  PIPELINE_OUTLIER_Z: numberish(
    z
      .number({ error: 'expected a number' })
      .min(1, 'expected a z-score of 1 or more')
      .max(1000, 'expected a z-score of at most 1000'),
  ).default(8),
  IB_HOST: hostSchema.default('127.0.0.1'),
  IB_PORT: port('IB_PORT').default(4002),
  IB_CLIENT_ID: numberish(
    z
      .number({ error: 'expected a whole number' })
      .int('expected a whole number')
      .min(0)
      .max(2_147_483_647, 'expected a 32-bit client id'),
  ).default(17),
  WEBHOOK_HOST: hostSchema.default('127.0.0.1'),
  WEBHOOK_PORT: port('WEBHOOK_PORT').default(8787),
  WEBHOOK_SECRET: z.string().default(''),
  WEBHOOK_ALLOWLIST: checkedList(
    (e) => e.toLowerCase() === 'tradingview' || isIpOrCidr(e),
    'an IP address or CIDR range (e.g. 52.89.214.238 or 10.0.0.0/8), or tradingview (its published addresses)',
  ).default([]),
  WEBHOOK_ALLOW_PRIVATE_URLS: boolish.default(false),
  WEBHOOK_BODY_LIMIT: numberish(
    z
      .number({ error: 'expected a number of bytes' })
      .int()
      .min(1024, 'expected at least 1024 bytes')
      .max(67108864, 'expected at most 64 MiB'),
  ).default(1048576),
  WEBHOOK_RATE_LIMIT: numberish(
    z
      .number({ error: 'expected requests per second' })
      .positive('expected more than 0 requests per second')
      .max(1_000_000, 'expected at most 1000000 requests per second'),
  ).default(1000),
  WEBHOOK_DEDUPE_WINDOW_SECONDS: numberish(
    z.number({ error: 'expected a number of seconds' }).min(0).max(2_592_000, 'expected at most 2592000 seconds (30 days)'),
  ).default(60),
  WEBHOOK_INBOX_RETENTION_DAYS: numberish(
    z.number({ error: 'expected a whole number of days' }).int().min(0).max(36_500, 'expected at most 36500 days'),
  ).default(0),
  WEBHOOK_PUBLIC_URL: z
    .string()
    .trim()
    .regex(/^(https?:\/\/\S+)?$/, 'expected an http(s) URL such as https://abc.ngrok.app, or empty')
    .default(''),
  UW_API_TOKEN: z.string().default(''),
  UW_CHANNELS: checkedList(
    (c) => UW_CHANNEL_PATTERN.test(c),
    'an Unusual Whales channel such as flow-alerts or option_trades:TSLA',
  ).default([]),
  UW_STREAM_URL: z
    .string()
    .trim()
    .regex(/^wss?:\/\/\S+$/, 'expected a ws:// or wss:// URL')
    .default('wss://api.unusualwhales.com/socket'),
  SERVE_PORT: port('SERVE_PORT').default(7420),
  IMPORT_MAX_BYTES: numberish(
    z
      .number({ error: 'expected a number of bytes' })
      .int()
      .min(1)
      .max(2 ** 40, 'expected at most 1 TiB (1099511627776 bytes)'),
  ).default(4 * 1024 ** 3),
  IMPORT_TIMEOUT_SECONDS: numberish(
    // Timers overflow past 2^31 ms (~24.8 days) and fire at once: a day is the useful limit.
    z.number({ error: 'expected a number of seconds' }).min(0.1).max(86_400, 'expected at most 86400 seconds (a day)'),
  ).default(60),
  IMPORT_DOWNLOAD_ATTEMPTS: numberish(z.number({ error: 'expected a whole number' }).int().min(1).max(10)).default(4),
  IMPORT_MAX_BAD_RATIO: numberish(z.number({ error: 'expected a ratio between 0 and 1' }).min(0).max(1)).default(0.05),
  IMPORT_CONCURRENCY: numberish(z.number({ error: 'expected a whole number' }).int().min(1).max(4)).default(1),
  IMPORT_EXPORT_PARQUET: boolish.default(true),
  BACKUP_RETENTION: numberish(
    z.number({ error: 'expected a whole number' }).int().min(1).max(1000, 'expected at most 1000 backups'),
  ).default(10),
  BACKUP_SCHEDULE: z.union([z.literal(''), cronSchema]).default('0 3 * * *'),
  INTEGRITY_SCHEDULE: z.union([z.literal(''), cronSchema]).default(''),
  DESKTOP_KEEP_IN_TRAY: boolish.default(false),
});

export type Settings = z.output<typeof settingsSchema>;
export type SettingKey = keyof Settings;
export const SETTING_KEYS = Object.keys(settingsSchema.shape) as SettingKey[];

export interface SettingDoc {
  group: 'general' | 'cache' | 'ibkr' | 'workflow' | 'webhooks' | 'server';
  description: string;
  /** Held in the environment or the OS keychain; never shown back in full. */
  secret?: boolean;
  /** Only meaningful at start-up (cannot move the data folder while it is open). */
  startupOnly?: boolean;
  /** Takes effect after a restart of the affected service. */
  restart?: boolean;
}

export const settingDocs: Record<SettingKey, SettingDoc> = {
  DATA_DIR: {
    group: 'general',
    description: 'Folder holding the warehouse, journal, artifacts, backups and logs',
    startupOnly: true,
  },
  LOG_LEVEL: { group: 'general', description: 'Least severe log level written (debug, info, warn, error)' },
  DEBUG_MODE: { group: 'general', description: 'Replay from the cache only: nothing touches the network, logs are verbose' },
  CACHE_ENABLED: { group: 'cache', description: 'Serve bars from the local cache; when off, every request goes to IBKR' },
  CACHE_SYMBOLS: { group: 'cache', description: 'Symbols kept warm by refresh and used by the pipeline by default' },
  CACHE_EXCHANGE: { group: 'cache', description: 'Primary exchange used to resolve stock contracts' },
  CACHE_TTL_HOURS: { group: 'cache', description: 'Hours after which the most recent cached bars are fetched again' },
  WORKFLOW_SCHEDULE: { group: 'workflow', description: 'Cron expression (5 fields) for scheduled pipeline runs' },
  WORKFLOW_TIMEZONE: { group: 'workflow', description: 'Time zone the schedule is read in' },
  WORKFLOW_PAUSED: { group: 'workflow', description: 'Scheduled runs are paused (manual runs still work)' },
  WORKFLOW_SKIP_HOLIDAYS: {
    group: 'workflow',
    description: 'Scheduled runs skip NYSE full-day holidays (market closed, no new bars); manual runs always run',
  },
  PIPELINE_TASK_RETRIES: { group: 'workflow', description: 'Retries per pipeline task after a failure (exponential backoff)' },
  PIPELINE_OUTLIER_Z: { group: 'workflow', description: 'Return z-score beyond which a bar is reported as an outlier' },
  IB_HOST: { group: 'ibkr', description: 'Host of TWS or IB Gateway', restart: true },
  IB_PORT: { group: 'ibkr', description: 'API port: 7497/7496 TWS paper/live, 4002/4001 Gateway paper/live', restart: true },
  IB_CLIENT_ID: { group: 'ibkr', description: 'API client id (another is tried if this one is taken)', restart: true },
  WEBHOOK_HOST: {
    group: 'webhooks',
    description: 'Address the webhook listener binds (keep 127.0.0.1 behind a tunnel)',
    restart: true,
  },
  WEBHOOK_PORT: { group: 'webhooks', description: 'Port of the webhook listener', restart: true },
  WEBHOOK_SECRET: { group: 'webhooks', description: 'Shared secret for webhook routes', secret: true },
  WEBHOOK_ALLOWLIST: {
    group: 'webhooks',
    description:
      "TradingView routes: allowed source IPs/CIDRs, comma-separated; 'tradingview' stands for TradingView's published addresses (empty: any)",
  },
  WEBHOOK_ALLOW_PRIVATE_URLS: {
    group: 'webhooks',
    description: '/gex_history_url may point at loopback/private/link-local hosts',
  },
  WEBHOOK_BODY_LIMIT: {
    group: 'webhooks',
    description: 'Largest webhook body accepted, in bytes, also once decompressed (413 above)',
    restart: true,
  },
  WEBHOOK_RATE_LIMIT: {
    group: 'webhooks',
    description: 'Requests per second per source and client (burst: twice this); 429 above',
  },
  WEBHOOK_DEDUPE_WINDOW_SECONDS: {
    group: 'webhooks',
    description: 'TradingView: an identical body within this window is a duplicate',
  },
  WEBHOOK_INBOX_RETENTION_DAYS: {
    group: 'webhooks',
    description:
      'Days a processed webhook event stays raw in the inbox after processing; 0 = forever (pending, failed and dead events are always kept)',
  },
  WEBHOOK_PUBLIC_URL: { group: 'webhooks', description: 'Public base URL of your tunnel, shown in the TradingView setup' },
  UW_API_TOKEN: { group: 'webhooks', description: 'Unusual Whales API token for the stream connector', secret: true },
  UW_STREAM_URL: { group: 'webhooks', description: 'Unusual Whales WebSocket URL (the token is added as ?token=)' },
  UW_CHANNELS: {
    group: 'webhooks',
    description: 'Unusual Whales channels to join, comma-separated (e.g. flow-alerts,gex_strike:SPY)',
  },
  SERVE_PORT: { group: 'server', description: 'Port of the control API and UI in serve mode', startupOnly: true },
  IMPORT_MAX_BYTES: { group: 'general', description: 'History imports: largest file accepted, in bytes (as downloaded)' },
  IMPORT_TIMEOUT_SECONDS: {
    group: 'general',
    description: 'History imports: seconds without data before a download attempt is abandoned',
  },
  IMPORT_DOWNLOAD_ATTEMPTS: {
    group: 'general',
    description: 'History imports: download tries on network errors and 5xx (with backoff)',
  },
  IMPORT_MAX_BAD_RATIO: {
    group: 'general',
    description: 'History imports: fail when more than this fraction of records is invalid (0.05 = 5%)',
  },
  IMPORT_CONCURRENCY: { group: 'general', description: 'History imports run at the same time (1 = one job at a time)' },
  IMPORT_EXPORT_PARQUET: {
    group: 'general',
    description: 'Export the touched partitions to <DATA_DIR>/parquet after every import',
  },
  BACKUP_RETENTION: { group: 'general', description: 'Backups kept in <DATA_DIR>/backups; older ones are deleted' },
  BACKUP_SCHEDULE: { group: 'general', description: 'Cron (5 fields, WORKFLOW_TIMEZONE) for scheduled backups; empty = off' },
  INTEGRITY_SCHEDULE: {
    group: 'general',
    description: 'Cron (5 fields, WORKFLOW_TIMEZONE) for scheduled integrity checks; empty = off',
  },
  DESKTOP_KEEP_IN_TRAY: {
    group: 'general',
    description: 'Desktop app: closing the window keeps Marketdesk running in the tray (webhooks keep arriving)',
  },
};

/** Turns zod issues into one line per bad key: the key, the value given and what is expected. */
export function describeSettingIssues(issues: readonly z.core.$ZodIssue[], raw: Record<string, unknown>): string[] {
  return issues.map((issue) => {
    const key = String(issue.path[0] ?? '(settings)');
    const value = Object.hasOwn(raw, key) ? raw[key] : undefined;
    return `${key}=${shownValue(key, value)}: ${issue.message}`;
  });
}

const SHOWN_MAX = 80;

/** A bad value as the message shows it: secrets masked, long or deeply nested values cut short. */
function shownValue(key: string, value: unknown): string {
  if (value === undefined) return '(missing)';
  if (Object.hasOwn(settingDocs, key) && settingDocs[key as SettingKey].secret) return '(hidden)';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    return `(a ${Array.isArray(value) ? 'list' : typeof value} too deeply nested to show)`;
  }
  return text.length > SHOWN_MAX ? `${text.slice(0, SHOWN_MAX)}… (${text.length} characters)` : text;
}
